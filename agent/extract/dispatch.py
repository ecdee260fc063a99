"""The walk over a body: decide what each blob is and hand it to the module that reads it.

``Job.open`` is the per-container boundary: whatever goes wrong inside one container is
recorded against its provenance (``Unreadable`` with its reason, any other exception as
``internal_error`` with the exception class only, never content) and the walk goes on with
its siblings. Only ``Exhausted`` (byte budget or deadline spent) passes through.

Handlers are registered here by name, in plain dicts: nothing is discovered.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable

from agent.extract import (
    archives,
    binary,
    embedded,
    forms,
    jsonbody,
    odf,
    ooxml,
    pdf,
    rtf,
    sniff,
    tables,
    xlsx,
    xmltext,
)
from agent.extract.blob import Blob
from agent.extract.budget import Budget, Exhausted, Unreadable
from agent.extract.charset import to_ascii_compatible
from agent.extract.provenance import join

Handler = Callable[[Blob, "Job", str], None]
ZipHandler = Callable[[Blob, "Job", str, zipfile.ZipFile], None]

FILE_HANDLERS: dict[str, Handler] = {
    "pdf": pdf.pdf,
    "rtf": rtf.rtf,
    "tar": archives.tar_archive,
    "gzip": archives.compressed_file,
    "bzip2": archives.compressed_file,
    "xz": archives.compressed_file,
    "zstd": archives.compressed_file,
    "doc": binary.legacy_office,
    "xls": binary.legacy_office,
    "ppt": binary.legacy_office,
    "msg": binary.legacy_office,
    "ole": binary.legacy_office,
    "encrypted-office": binary.encrypted_office,
    "sqlite": binary.sqlite,
    "binary": binary.strings,
    "exe": binary.strings,
    "elf": binary.strings,
    "xlsb": binary.unsupported,
    "7z": binary.unsupported,
    "rar": binary.unsupported,
    "mp4": binary.unsupported,
    **{t: binary.unsupported for t in sniff.IMAGE_TYPES},
}

ZIP_HANDLERS: dict[str, ZipHandler] = {
    "zip": archives.zip_archive,
    "docx": ooxml.docx,
    "xlsx": xlsx.xlsx,
    "pptx": ooxml.pptx,
    "odt": odf.odf,
    "ods": odf.odf,
    "odp": odf.odf,
}

# Declared media types that say how to read text (binary files are known by their bytes).
_DECLARED_TEXT = {
    "application/json": "json", "text/json": "json",
    "application/x-ndjson": "json", "application/ndjson": "json", "application/jsonl": "json",
    "application/x-jsonlines": "json", "application/json-seq": "json",
    "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv", "application/csv": "csv", "text/tab-separated-values": "tsv",
    "text/html": "html", "application/xhtml+xml": "xml",
    "application/rtf": "rtf", "text/rtf": "rtf",
}

_FORM = "application/x-www-form-urlencoded"


def declared_text_kind(mime: str | None) -> str | None:
    if not mime:
        return None
    kind = _DECLARED_TEXT.get(mime)
    if kind:
        return kind
    if mime.endswith("+json"):
        return "json"
    if mime.endswith("+xml"):
        return "xml"
    return None


class Job:
    """One body's walk: the budget, and the dispatch of nested blobs."""

    def __init__(self, budget: Budget):
        self.budget = budget

    def open(self, blob: Blob) -> None:
        budget = self.budget
        budget.tick(blob.path)
        try:
            self._open(blob)
        except Exhausted:
            raise
        except Unreadable as u:
            # in a blob cut short upstream a parse error is the cut, already recorded there
            if not (blob.truncated and u.reason == "parse_error"):
                budget.record(u.reason, blob.path, u.detail)
        except Exception as e:  # noqa: BLE001 - the fail-closed boundary, see module doc
            budget.record("internal_error", blob.path, type(e).__name__)

    def _open(self, blob: Blob) -> None:
        data = blob.data
        if not data:
            if blob.is_file:
                self.budget.add_file(blob.path, blob.name, "empty", 0)
            return
        kind = sniff.magic(data)
        mime = blob.mime
        if kind is None and mime is not None:
            head = data[:64].lstrip()[:1]
            if mime == _FORM and head not in (b"{", b"[", b"<"):
                forms.urlencoded(blob, self)
                return
            if mime.startswith("multipart/"):
                forms.multipart_body(blob, self)
                return
        if kind is None:
            self._text(blob)
            return
        try:
            zf = None
            if kind == "zip":
                zf = archives.open_zip(data)  # Unreadable(parse_error) when broken
                kind = sniff.zip_kind(zf)
            if blob.is_file:
                self.budget.add_file(blob.path, blob.name, kind, len(data))
            if blob.depth > self.budget.limits.max_depth:
                raise Unreadable("depth_limit", f"{kind} nested {blob.depth} deep, more than "
                                 f"{self.budget.limits.max_depth}")
            if zf is not None:
                ZIP_HANDLERS[kind](blob, self, kind, zf)
            else:
                FILE_HANDLERS[kind](blob, self, kind)
        except Unreadable as u:
            if u.reason == "parse_error" and not blob.truncated:
                # text behind a fake signature ("%PDF-" or "PK\3\4" glued onto a CSV) must
                # not escape inspection: a container that does not parse keeps its strings
                self.budget.emit(binary.printable_runs(data), blob.path, blob.field,
                                 final=True)
            raise

    def _text(self, blob: Blob) -> None:
        """Text formats: charset first (UTF-16 is transcoded), then JSON / XML / CSV / text."""
        budget = self.budget
        text, transcoded = to_ascii_compatible(blob.data, blob.charset)
        charged = blob.charged
        truncated = blob.truncated
        if transcoded:
            n = budget.take(len(text), blob.path)
            text, charged, truncated = text[:n], True, truncated or n < len(text)
        if sniff.is_binary(text):
            kind = "binary"
        else:
            declared = declared_text_kind(blob.mime)
            sniffed = sniff.text_kind(text)
            kind = declared or sniffed
            if kind in ("csv", "tsv") and sniffed not in ("csv", "tsv"):
                kind = "text"  # declared a table but the rows do not agree
        if blob.is_file:
            budget.add_file(blob.path, blob.name, kind, len(blob.data))
        if blob.depth > budget.limits.max_depth and kind in ("json", "xml", "rtf"):
            # too deep to parse further, but its text is right here: scan it as it is
            budget.emit(text, blob.path, blob.field, charged=charged, final=True)
            raise Unreadable("depth_limit", f"{kind} nested {blob.depth} deep, more than "
                             f"{budget.limits.max_depth}")
        t = Blob(text, blob.path, blob.depth, name=blob.name, mime=blob.mime, field=blob.field,
                 charged=charged, truncated=truncated)
        if kind == "json":
            jsonbody.extract_json(t, self, declared=declared_text_kind(blob.mime) == "json")
        elif kind == "xml":
            problem = xmltext.xml_text(text, budget, blob.path, blob.field, charged)
            # only XML that said it was XML is a parse error; "<3 you" is just text
            if problem is not None and declared_text_kind(blob.mime) == "xml":
                raise problem
        elif kind in ("csv", "tsv"):
            tables.emit_table(text, sniff.table_delimiter(text) or b",", budget, blob.path,
                              charged, blob.field)
        elif kind == "rtf":
            rtf.rtf(t, self, kind)
        elif kind == "binary":
            binary.strings(t, self, kind)
        else:
            budget.emit(text, blob.path, blob.field, charged=charged)

    def value(self, data: bytes, path: str, field: str | None, depth: int,
              charset: str | None = None) -> None:
        """A form field or JSON string: usually plain text, sometimes JSON or a base64 file."""
        budget = self.budget
        if charset is not None or b"\0" in data[:64]:
            data, _ = to_ascii_compatible(data, charset)
        stripped = data.strip()
        first = stripped[:1]
        if first in (b"{", b"[") and stripped[-1:] in (b"}", b"]") and len(stripped) > 1:
            # JSON inside a string (double-encoded APIs): walk it rather than scan it raw
            self.open(Blob(data, path, depth + 1, field=field))
            return
        budget.emit(data, path, field)
        if embedded.looks_encoded(stripped):
            payload = embedded.decode(stripped)
            if payload is not None:
                raw, mime = payload
                where = join(path, "base64")
                n = budget.take(len(raw), where)
                self.open(Blob(raw[:n], where, depth + 1, mime=mime, field=field, charged=True,
                               truncated=n < len(raw), is_file=True))
