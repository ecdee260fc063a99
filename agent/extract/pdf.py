"""PDF text via pypdf, page by page (``page:3``), plus form-field values, document properties
and attached files.

A PDF that needs a password is ``encrypted``; one encrypted with an empty user password
(permissions only, which is common) opens like any other. The deadline is checked between
pages and between a page's text operators (a single page of 300k `Tj` operators took pypdf
a minute), and pypdf's own decompression limits are lowered to the body's byte budget (its
default lets one FlateDecode stream expand to 75 MB).
"""

from __future__ import annotations

import io

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from agent.extract.blob import Blob, Walker
from agent.extract.budget import Unreadable
from agent.extract.provenance import clean, join

# What pypdf raises on malformed input besides its own errors.
_MALFORMED = (PyPdfError, ValueError, KeyError, IndexError, TypeError, AttributeError,
              RecursionError, ZeroDivisionError, OverflowError, AssertionError)


def _text(s: object) -> bytes:
    return str(s).encode("utf-8", "surrogatepass")


def pdf(blob: Blob, walker: Walker, kind: str) -> None:
    cap = max(1024 * 1024, min(75_000_000, walker.budget.limits.max_extracted_bytes // 4))
    # apply_configuration is a context variable: per thread, safe beside other inspections.
    with pypdf.apply_configuration(
            zlib_maximum_output_length=cap, brotli_maximum_output_length=cap,
            lzw_maximum_output_length=cap, run_length_maximum_output_length=cap,
            jbig2_maximum_output_length=cap, array_based_stream_maximum_output_length=cap,
            maximum_declared_stream_length=cap):
        _pdf(blob, walker)


def _pdf(blob: Blob, walker: Walker) -> None:
    budget = walker.budget
    try:
        reader = pypdf.PdfReader(io.BytesIO(blob.data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted", "password-protected PDF")
        pages = reader.pages
        count = len(pages)
    except Unreadable:
        raise
    except DependencyError:
        raise Unreadable("unsupported", "PDF encryption needs a missing library") from None
    except FileNotDecryptedError:
        raise Unreadable("encrypted", "password-protected PDF") from None
    except _MALFORMED as e:
        raise Unreadable("parse_error", f"unreadable PDF ({type(e).__name__})") from None
    limit = budget.limits.max_parts
    if count > limit:
        budget.record("part_limit", blob.path, f"PDF has {count} pages, more than {limit}")
        count = limit
    for i in range(count):
        where = join(blob.path, f"page:{i + 1}")
        budget.tick(where)
        try:
            text = pages[i].extract_text(visitor_operand_before=lambda *_a, w=where: budget.tick(w))
        except _MALFORMED as e:
            budget.record("parse_error", where, f"page text unreadable ({type(e).__name__})")
            continue
        budget.emit(_text(text), where)
    _fields(reader, blob, walker)
    _properties(reader, blob, walker)
    _attachments(reader, blob, walker)


def _fields(reader: pypdf.PdfReader, blob: Blob, walker: Walker) -> None:
    try:
        fields = reader.get_fields() or {}
    except _MALFORMED:
        return
    for name, f in list(fields.items())[:walker.budget.limits.max_parts]:
        value = f.get("/V") if hasattr(f, "get") else None
        if value is None or value == "":
            continue
        where = join(blob.path, f"form:{clean(name)}")
        walker.budget.emit(_text(value), where, clean(name))


def _properties(reader: pypdf.PdfReader, blob: Blob, walker: Walker) -> None:
    try:
        meta = reader.metadata or {}
        values = [str(v) for v in meta.values() if isinstance(v, str) and v.strip()]
    except _MALFORMED:
        return
    if values:
        walker.budget.emit(_text("\n".join(values)), join(blob.path, "part:properties"))


def _attachments(reader: pypdf.PdfReader, blob: Blob, walker: Walker) -> None:
    try:
        attachments = reader.attachments
        names = list(attachments.keys())
    except _MALFORMED:
        return
    for name in names[:walker.budget.limits.max_parts]:
        where = join(blob.path, f"attachment:{clean(name)}")
        try:
            contents = attachments[name]
        except _MALFORMED as e:
            walker.budget.record("parse_error", where,
                                 f"attachment unreadable ({type(e).__name__})")
            continue
        for data in contents:
            n = walker.budget.take(len(data), where)
            walker.open(Blob(data[:n], where, blob.depth + 1, name=name, charged=True,
                             truncated=n < len(data), is_file=True))
