"""HTML form bodies: application/x-www-form-urlencoded and multipart/form-data.

Every field is inspected, named in provenance (``form:comment``, ``multipart:field=comment``,
``multipart:file=Q3.xlsx``), and its name is passed on as context for detectors. File parts
are recognised by their bytes like any other file.
"""

from __future__ import annotations

import binascii
import quopri
from urllib.parse import unquote_to_bytes

import multipart

from agent.extract import sniff
from agent.extract.binary import printable_runs
from agent.extract.blob import Blob, Walker
from agent.extract.budget import Unreadable
from agent.extract.provenance import clean, join

MAX_PART_HEADER = 16 * 1024
MAX_PART_HEADERS = 32


def _unquote(s: bytes) -> bytes:
    if b"%" not in s and b"+" not in s:
        return s
    return unquote_to_bytes(s.replace(b"+", b" "))


def urlencoded(blob: Blob, walker: Walker) -> None:
    budget = walker.budget
    limit = budget.limits.max_parts
    n = 0
    for piece in blob.data.split(b"&"):
        if not piece.strip():
            continue
        n += 1
        if n > limit:
            raise Unreadable("part_limit", f"more than {limit} form fields")
        if not n & 1023:
            budget.tick(blob.path)
        raw_name, eq, raw_value = piece.partition(b"=")
        name = _unquote(raw_name)
        if not eq:
            # a bare token (no "="): its text is the content, e.g. JSON sent with a form type
            name, value = b"", name
        else:
            value = _unquote(raw_value)
        fname = clean(name) if name else None
        where = join(blob.path, f"form:{fname or '(unnamed)'}")
        if len(name) > 200:
            walker.value(name, where, None, blob.depth)
        walker.value(value, where, fname, blob.depth)


def content_type_params(value: str | None) -> tuple[str | None, dict[str, str]]:
    """``("multipart/form-data", {"boundary": ...})`` from a Content-Type header value."""
    if not value:
        return None, {}
    try:
        mime, params = multipart.parse_options_header(value)
    except (ValueError, IndexError):
        return value.split(";", 1)[0].strip().lower() or None, {}
    return (mime.strip().lower() or None), {k.lower(): v for k, v in params.items()}


def multipart_body(blob: Blob, walker: Walker) -> None:
    budget = walker.budget
    if blob.depth > budget.limits.max_depth:
        # a part that is itself multipart recurses here without passing the dispatcher's
        # depth check: 5,000 levels ended in RecursionError; its text is still scanned
        _fallback(blob, walker)
        raise Unreadable("depth_limit", f"multipart nested {blob.depth} deep, more than "
                         f"{budget.limits.max_depth}")
    if not blob.boundary:
        _fallback(blob, walker)
        raise Unreadable("parse_error", "multipart body without a boundary")
    limit = budget.limits.max_parts
    try:
        parser = multipart.PushMultipartParser(
            blob.boundary, max_header_size=MAX_PART_HEADER, max_header_count=MAX_PART_HEADERS)
    except multipart.MultipartError:
        _fallback(blob, walker)
        raise Unreadable("parse_error", "invalid multipart boundary") from None
    parts = 0
    segment: multipart.MultipartSegment | None = None
    chunks: list[bytes] = []
    try:
        for event in _events(parser, blob.data):
            if isinstance(event, multipart.MultipartSegment):
                parts += 1
                if parts > limit:
                    raise Unreadable("part_limit", f"more than {limit} multipart parts")
                budget.tick(blob.path)
                segment, chunks = event, []
            elif event is None:
                if segment is not None:
                    _part(segment, b"".join(chunks), blob, walker, truncated=False)
                segment, chunks = None, []
            else:
                chunks.append(event)
    except multipart.MultipartError as e:
        if segment is not None:  # keep what arrived of the part that was cut short
            _part(segment, b"".join(chunks), blob, walker, truncated=True)
        elif parts == 0:
            _fallback(blob, walker)
        if parts:
            _outside_parts(blob, walker)
        raise Unreadable("parse_error", f"malformed multipart body ({type(e).__name__})") \
            from None
    if parts == 0:
        _fallback(blob, walker)
        raise Unreadable("parse_error", "multipart body has no parts")
    _outside_parts(blob, walker)


def _outside_parts(blob: Blob, walker: Walker) -> None:
    """Scan the preamble (before the first delimiter) and the epilogue (after the closing
    one). RFC 2046 has receivers ignore both and the parser skips them, but they travel with
    the body to whoever reads it raw: an SSN there must not pass as a clean body."""
    data = blob.data
    delim = b"--" + (blob.boundary or "").encode("latin-1", "replace")
    first = 0 if data.startswith(delim) else data.find(b"\r\n" + delim)
    if first < 0:
        return
    close = data.find(b"\r\n" + delim + b"--", first)
    pieces = [(data[:first], "multipart:preamble")]
    if close >= 0:
        pieces.append((data[close + len(delim) + 4:], "multipart:epilogue"))
    for piece, label in pieces:
        if piece.strip():
            text = printable_runs(piece) if sniff.is_binary(piece) else piece
            walker.budget.emit(text, join(blob.path, label), final=True)


def _events(parser: multipart.PushMultipartParser, data: bytes):
    yield from parser.parse(data)
    yield from parser.parse(b"")  # end of input: raises if the closing boundary is missing


def _transfer_decoded(seg: multipart.MultipartSegment, data: bytes) -> bytes:
    """A part's bytes without its Content-Transfer-Encoding (RFC 2045): "078-05=\r\n-1120" in
    quoted-printable is an SSN, and a base64 part is a file. Decoding never grows the data;
    a part that does not decode is inspected as it came."""
    cte = (seg.header("Content-Transfer-Encoding") or "").strip().lower()
    try:
        if cte == "quoted-printable":
            return quopri.decodestring(data)
        if cte == "base64":
            # strict: text merely labelled base64 must not turn into noise and hide itself
            return binascii.a2b_base64(b"".join(data.split()), strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    return data


def _part(seg: multipart.MultipartSegment, data: bytes, parent: Blob, walker: Walker,
          truncated: bool) -> None:
    data = _transfer_decoded(seg, data)
    mime, params = content_type_params(seg.header("Content-Type"))
    name = clean(seg.name) if seg.name else None
    depth = parent.depth + 1
    if seg.filename is not None or (mime or "").startswith("multipart/") or \
            sniff.magic(data) is not None:
        label = f"file={clean(seg.filename) or '(unnamed)'}" if seg.filename is not None \
            else f"field={name or '(unnamed)'}"
        walker.open(Blob(data, join(parent.path, f"multipart:{label}"), depth,
                         name=seg.filename, mime=mime, charset=params.get("charset"),
                         boundary=params.get("boundary"), field=name, truncated=truncated,
                         is_file=seg.filename is not None or sniff.magic(data) is not None))
        return
    where = join(parent.path, f"multipart:field={name or '(unnamed)'}")
    walker.value(data, where, name, parent.depth, charset=params.get("charset"))


def _fallback(blob: Blob, walker: Walker) -> None:
    """An unparseable form body is still scanned as text (its printable runs if binary)."""
    data = blob.data
    if sniff.is_binary(data):
        data = printable_runs(data)
    walker.budget.emit(data, blob.path, charged=blob.charged and data is blob.data,
                       final=True)
