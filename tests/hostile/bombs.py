"""Hostile bodies, built at test time.

Documents come from their own libraries (python-docx, openpyxl, python-pptx, odfpy, fpdf2,
pypdf, zipfile) and are then damaged; only what no library will write is put together by hand
(a deflate stream of 10 GB of zeros made of one repeated block, a zip whose directory entries
overlap), and tests/hostile/test_bombs.py checks those with the real readers.

Every function is pure and deterministic (seeded), so a failing case can be rebuilt exactly.
"""

from __future__ import annotations

import io
import json
import random
import struct
import sys
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extract"))
from extract_docs import (  # noqa: E402
    docx_bytes,
    multipart_body,
    odt_bytes,
    pdf_bytes,
    pptx_bytes,
    xlsx_bytes,
)

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

# A valid SSN (area 219, group 44, serial 1234: none of them reserved) that the shipped
# detectors report; the e2e suite uses the same one. 078-05-1120 (extract_docs.SSN) is
# deliberately refused by the SSN validator, so it cannot prove detection.
SSN = "219-44-1234"


# ----------------------------------------------------------------- compression bombs
_DEFLATE_BLOCK = 16 * MiB


@lru_cache(maxsize=4)
def _repeat_block(fill: bytes) -> tuple[bytes, int]:
    """Raw deflate of _DEFLATE_BLOCK bytes of ``fill`` ending in a full flush (byte-aligned, no
    history, so the same bytes can follow themselves any number of times), and their CRC-32."""
    plain = fill * (_DEFLATE_BLOCK // len(fill))
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = co.compress(plain) + co.flush(zlib.Z_FULL_FLUSH)
    again = co.compress(plain) + co.flush(zlib.Z_FULL_FLUSH)
    assert block == again, "zlib did not reset after a full flush"
    return block, zlib.crc32(plain)


def deflate_fill(n: int, fill: bytes = b"\0") -> tuple[bytes, int]:
    """Raw deflate (RFC 1951) of ``n`` bytes of ``fill`` repeated, and its CRC-32, in
    O(n / 1000) time and space. ``len(fill)`` must divide 16 MiB."""
    block, block_crc = _repeat_block(fill)
    whole, rest = divmod(n, _DEFLATE_BLOCK)
    tail_plain = (fill * (rest // len(fill) + 1))[:rest]
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = co.compress(tail_plain) + co.flush(zlib.Z_FINISH)
    crc = crc32_repeat(block_crc, _DEFLATE_BLOCK, whole)
    crc = crc32_combine(crc, zlib.crc32(tail_plain), rest) if whole else zlib.crc32(tail_plain)
    return block * whole + tail, crc


def deflate_zeros(n: int) -> bytes:
    return deflate_fill(n)[0]


def _gf2_times(mat: list[int], vec: int) -> int:
    out = 0
    i = 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib's crc32_combine (crc32.c), which Python does not expose: the CRC of A+B from the
    CRCs of A and B and the length of B, without reading B."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << (n - 1) for n in range(1, 32)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32_repeat(unit_crc: int, unit_len: int, count: int) -> int:
    """CRC-32 of ``count`` copies of a unit (by doubling: 10 GB in microseconds)."""
    crc, have, piece, piece_len = 0, False, unit_crc, unit_len
    while count:
        if count & 1:
            crc = crc32_combine(crc, piece, piece_len) if have else piece
            have = True
        piece = crc32_combine(piece, piece, piece_len)
        piece_len *= 2
        count >>= 1
    return crc


def crc32_zeros(n: int) -> int:
    return crc32_repeat(zlib.crc32(b"\0"), 1, n)


def gzip_fill(n: int, fill: bytes = b"\0") -> bytes:
    """A valid gzip member (RFC 1952) of ``n`` bytes of ``fill``: 10 GB is about 10 MB."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    data, crc = deflate_fill(n, fill)
    return header + data + struct.pack("<II", crc, n & 0xFFFFFFFF)


def gzip_zeros(n: int) -> bytes:
    return gzip_fill(n)


def gzip_text(n: int) -> bytes:
    """gzip of ``n`` bytes of the letter a: text, so a streamed scanner must read it."""
    return gzip_fill(n, b"a")


def zlib_zeros(n: int) -> bytes:
    """A valid zlib stream (RFC 1950) of ``n`` zero bytes (PDF FlateDecode, HTTP deflate)."""
    adler = (1 + ((n % 65521) << 16)) & 0xFFFFFFFF   # a stays 1, b grows by 1 per byte
    return b"\x78\xda" + deflate_zeros(n) + struct.pack(">I", adler)


def brotli_bomb(n: int, fill: bytes = b"\0") -> bytes:
    """Brotli (RFC 7932) of ``n`` bytes of ``fill``; 1 GB of zeros compresses to ~1.6 KB."""
    import brotli

    c = brotli.Compressor(quality=5)
    return _compress_fill(n, fill, c.process, c.finish)


def zstd_bomb(n: int, fill: bytes = b"\0") -> bytes:
    import zstandard

    c = zstandard.ZstdCompressor(level=3).compressobj()
    return _compress_fill(n, fill, c.compress, c.flush)


def _compress_fill(n: int, fill: bytes, process, finish) -> bytes:
    """``n`` bytes of ``fill`` through a streaming compressor, 16 MiB at a time."""
    piece = fill * (16 * MiB // len(fill))
    out, left = [], n
    while left:
        take = min(left, len(piece))
        out.append(process(piece[:take]))
        left -= take
    out.append(finish())
    return b"".join(out)


# ----------------------------------------------------------------- zip bombs
def _dos_time() -> tuple[int, int]:
    return (0 << 11) | (0 << 5), ((2020 - 1980) << 9) | (1 << 5) | 1


def zip_with_deflated(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of members given as (name, raw deflate data, crc32, uncompressed size).

    zipfile cannot store data that is already compressed; a 4 GB member of zeros would take
    zipfile 20 s to compress. Sizes must stay below 4 GiB (no zip64 here).
    """
    t, d = _dos_time()
    local, central = [], []
    offset = 0
    for name, data, crc, usize in members:
        fname = name.encode()
        head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, t, d, crc, len(data),
                           usize, len(fname), 0) + fname
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, t, d, crc,
                                   len(data), usize, len(fname), 0, 0, 0, 0, 0, offset) + fname)
        local.append(head + data)
        offset += len(head) + len(data)
    cd = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd),
                      offset, 0)
    return b"".join(local) + cd + end


def zip_of_zeros(n: int, name: str = "0.dll") -> bytes:
    """One member of ``n`` zero bytes (the leaf of 42.zip is 4.3 GB of zeros)."""
    data, crc = deflate_fill(n)
    return zip_with_deflated([(name, data, crc, n)])


def nested_zip_bomb(levels: int = 4, fanout: int = 16, leaf: int = 4 * GiB - MiB) -> bytes:
    """42.zip-style: ``fanout`` copies of the level below in each zip, ``levels`` deep, with a
    ``leaf`` of zeros at the bottom (4 levels x 16 x 4 GiB = 256 TiB unpacked). The upper
    levels are written by zipfile: deflated zips of repetitive deflate data shrink again."""
    inner = zip_of_zeros(leaf)
    for level in range(levels):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for i in range(fanout):
                zf.writestr(f"lib{level}{i:x}.zip", inner)
        inner = out.getvalue()
    return inner


def overlapping_zip_bomb(entries: int = 10_000, kernel: int = 1 * GiB) -> bytes:
    """Every central directory entry points at the same local file (full overlap): one kernel of
    zeros read ``entries`` times (the construction of Fifield's "better zip bomb")."""
    data, crc = deflate_fill(kernel)
    t, d = _dos_time()
    head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, t, d, crc, len(data), kernel, 1,
                       0) + b"k"
    central = []
    for i in range(entries):
        fname = f"{i}.txt".encode()
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, t, d, crc,
                                   len(data), kernel, len(fname), 0, 0, 0, 0, 0, 0) + fname)
    cd = b"".join(central)
    body = head + data
    n = min(entries, 0xFFFF)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), len(body), 0)
    return body + cd + end


def zip_declaring_huge_sizes(text: bytes = f"SSN {SSN}".encode()) -> bytes:
    """A real zip (zipfile) whose central directory then claims ~4 GB uncompressed and
    compressed sizes for a tiny member: readers that trust sizes allocate or seek wildly."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", text)
    z = out.getvalue()
    pos = z.index(b"PK\x01\x02")
    return z[:pos + 20] + struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0) + z[pos + 28:]


def zip_declaring_huge_size_only(text: bytes = f"SSN {SSN}".encode()) -> bytes:
    """Only the uncompressed size is a lie (~4 GB): the member's data is still readable."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", text)
    z = out.getvalue()
    pos = z.index(b"PK\x01\x02")
    return z[:pos + 24] + struct.pack("<I", 0xFFFFFFF0) + z[pos + 28:]


@lru_cache(maxsize=2)
def zip_of_many(n: int = 100_000, data: bytes = b"x") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"m/{i}.txt", data)
    return out.getvalue()


# ----------------------------------------------------------------- XML in office packages
def laughs(root: str = "lolz", levels: int = 9) -> bytes:
    ents = b"".join(b'<!ENTITY lol%d "%s">' % (i + 1, (b"&lol%d;" % i if i else b"&lol;") * 10)
                    for i in range(levels))
    return (b'<?xml version="1.0"?><!DOCTYPE ' + root.encode() + b' [<!ENTITY lol "lol">'
            + ents + b"]><" + root.encode() + b">&lol%d;</" % levels + root.encode() + b">")


def quadratic_blowup(size: int = 100_000, refs: int = 100_000) -> bytes:
    """One large entity referenced many times: no nesting, so "depth" limits miss it."""
    return (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + b"a" * size + b'">]><d>'
            + b"&a;" * refs + b"</d>")


def external_entity(url: str, root: str = "d") -> bytes:
    """A general external entity used in content (XXE)."""
    r = root.encode()
    return (b'<?xml version="1.0"?><!DOCTYPE ' + r + b' [<!ENTITY x SYSTEM "' + url.encode()
            + b'">]><' + r + b">&x;</" + r + b">")


def external_parameter_entity(url: str) -> bytes:
    """An external parameter entity pulled into the DTD (out-of-band XXE)."""
    return (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "' + url.encode()
            + b'"> %p;]><d>x</d>')


def external_dtd(url: str) -> bytes:
    return b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "' + url.encode() + b'"><d>x</d>'


def xinclude(url: str) -> bytes:
    return (b'<?xml version="1.0"?><d xmlns:xi="http://www.w3.org/2001/XInclude">'
            b'<xi:include href="' + url.encode() + b'" parse="text"/></d>')


def deep_xml(depth: int = 1_000_000, text: bytes = f"SSN {SSN}".encode()) -> bytes:
    return b"<a>" * depth + text + b"</a>" * depth


# The part holding each format's main text, which the hostile XML replaces.
MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/worksheets/sheet1.xml",
             "pptx": "ppt/slides/slide1.xml", "odt": "content.xml"}


@lru_cache(maxsize=8)
def office_doc(kind: str, text: str = f"Quarterly memo. SSN {SSN}") -> bytes:
    """A real document made by the format's own library, holding ``text``."""
    if kind == "docx":
        return docx_bytes(text, header="County header")
    if kind == "xlsx":
        return xlsx_bytes({"S": [["note"], [text]]})
    if kind == "pptx":
        return pptx_bytes([(text, "speaker notes")])
    if kind == "odt":
        return odt_bytes(text)
    raise ValueError(kind)


def replace_member(package: bytes, name: str, data: bytes) -> bytes:
    """Rewrite one member of a zip package with zipfile, keeping the others (and their order)."""
    src = zipfile.ZipFile(io.BytesIO(package))
    if name not in src.namelist():
        raise KeyError(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data if info.filename == name else src.read(info))
    return out.getvalue()


def office_with_xml(kind: str, xml: bytes) -> bytes:
    return replace_member(office_doc(kind), MAIN_PART[kind], xml)


# ----------------------------------------------------------------- PDF
@lru_cache(maxsize=2)
def plain_pdf(text: str = f"Case file. SSN {SSN}") -> bytes:
    return pdf_bytes([text, "second page"])


def pdf_broken_xref(how: str) -> bytes:
    """fpdf2's PDF with its cross-reference data damaged in one of several ways."""
    pdf = plain_pdf()
    sx = pdf.rindex(b"startxref")
    xref = pdf.rindex(b"xref", 0, sx)
    if how == "startxref-garbage":      # startxref points into the middle of a stream
        return pdf[:sx] + b"startxref\n17\n%%EOF\n"
    if how == "startxref-past-end":
        return pdf[:sx] + b"startxref\n99999999\n%%EOF\n"
    if how == "no-xref":                # table and trailer cut away
        return pdf[:xref] + b"%%EOF\n"
    if how == "shifted-offsets":        # every offset in the table off by 7 bytes
        table_end = pdf.index(b"trailer", xref)
        rows = pdf[xref:table_end].split(b"\n")
        fixed = [(b"%010d" % (int(r[:10]) + 7) + r[10:]) if len(r) >= 18 and r[10:11] == b" "
                 else r for r in rows]
        return pdf[:xref] + b"\n".join(fixed) + pdf[table_end:]
    if how == "truncated-half":
        return pdf[:len(pdf) // 2]
    if how == "xref-loop":              # /Prev pointing at itself
        return pdf[:sx].replace(b"trailer\n<<", b"trailer\n<</Prev %d " % xref, 1) + pdf[sx:]
    raise ValueError(how)


def pdf_with_contents(streams: list[bytes]) -> bytes:
    """A PDF written by pypdf with one page per given content stream (each already
    FlateDecode-compressed), and a font resource, so readers cannot skip the stream as a page
    that shows no text."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, NumberObject, StreamObject

    w = PdfWriter()
    font = w._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for data in streams:
        page = w.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        s = StreamObject()
        s._data = data
        s[NameObject("/Filter")] = NameObject("/FlateDecode")
        s[NameObject("/Length")] = NumberObject(len(data))
        page[NameObject("/Contents")] = w._add_object(s)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def pdf_flate_bomb(n: int = 1 * GiB, pages: int = 1) -> bytes:
    """Page content streams that are FlateDecode of ``n`` zeros: ~1 MB on the wire per GB."""
    return pdf_with_contents([zlib_zeros(n)] * pages)


def pdf_text_ops(n_ops: int = 300_000) -> bytes:
    """One page whose content stream is ``n_ops`` tiny text-showing operators, each with an
    SSN (300k operators are ~20 KB on the wire). Text extraction of one page cannot be
    interrupted between operators, so this measures how far past its budget a page can run."""
    ops = b"BT /F1 1 Tf " + b"(%s) Tj 0 -1 Td " % SSN.encode() * n_ops + b"ET"
    return pdf_with_contents([zlib.compress(ops, 9)])


# ----------------------------------------------------------------- text, JSON and forms
def deep_json(depth: int = 100_000, kind: str = "list") -> bytes:
    if kind == "list":
        return b"[" * depth + json.dumps(f"SSN {SSN}").encode() + b"]" * depth
    return b'{"a":' * depth + json.dumps(f"SSN {SSN}").encode() + b"}" * depth


def many_form_fields(n: int = 1_000_000) -> bytes:
    return b"&".join(b"f%d=v" % i for i in range(n))


def ssn_flood(size: int, sep: bytes = b" ", value: str = SSN) -> bytes:
    """Every few bytes an SSN-shaped candidate: the scanner's worst case for validation work."""
    unit = value.encode() + sep
    return unit * (size // len(unit))


def garbage(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def invalid_utf8(text: str = f"name: Pat Doe, SSN {SSN}") -> bytes:
    """Overlong forms, lone continuation bytes, encoded surrogates and 0xFF around the text."""
    junk = b"\xc0\xaf\x80\xbf\xed\xa0\x80\xed\xbf\xbf\xf8\x88\x80\x80\x80\xff\xfe"
    return junk + b" " + text.encode() + b" " + junk


def json_lone_surrogates() -> bytes:
    return (b'{"note": "\\ud800\\udfff\\udbff x \\udc00", "ssn": "' + SSN.encode()
            + b'", "k\\ud800": "\\ud83d"}')


def utf16_odd(text: str = f"name: Pat Doe, SSN {SSN}") -> bytes:
    """UTF-16LE with a BOM and an odd number of bytes (the last code unit cut in half)."""
    return b"\xff\xfe" + text.encode("utf-16-le") + b"A"


# ----------------------------------------------------------------- multipart
BOUNDARY = "----hostileBoundary7MA4YWxk"


def mp_ok(text: str = f"SSN {SSN}") -> tuple[bytes, str]:
    return multipart_body([("note", None, b"hello", None),
                           ("file", "a.txt", text.encode(), "text/plain")], BOUNDARY)


def mp_without_boundary_param() -> tuple[bytes, str]:
    body, _ = mp_ok()
    return body, "multipart/form-data"


def mp_wrong_boundary() -> tuple[bytes, str]:
    """The header names one boundary, the body uses another."""
    body, _ = mp_ok()
    return body, "multipart/form-data; boundary=somethingElseEntirely"


def mp_boundary_inside_part() -> tuple[bytes, str]:
    """A delimiter line in the middle of a part's data (not preceded by CRLF) and a part
    that starts before the first delimiter (preamble holding data)."""
    b = BOUNDARY.encode()
    body = (b"preamble text SSN " + SSN.encode() + b"\r\n--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="a"\r\n\r\nvalue--' + b + b"stillvalue\r\n"
            b"--" + b + b"--\r\n")
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def mp_lf_only() -> tuple[bytes, str]:
    """Headers and delimiters with bare LF, no CR."""
    body, ctype = mp_ok()
    return body.replace(b"\r\n", b"\n"), ctype


def mp_headers_no_blank_line() -> tuple[bytes, str]:
    b = BOUNDARY.encode()
    body = (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"a\"\r\n"
            + SSN.encode() + b"\r\n--" + b + b"--\r\n")
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def mp_truncated() -> tuple[bytes, str]:
    body, ctype = mp_ok(f"SSN {SSN} " + "more text " * 100)
    return body[: len(body) - 400], ctype


def mp_no_parts() -> tuple[bytes, str]:
    return f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def mp_huge_part_header() -> tuple[bytes, str]:
    b = BOUNDARY.encode()
    body = (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"" + b"n" * 100_000
            + b"\"\r\n\r\n" + SSN.encode() + b"\r\n--" + b + b"--\r\n")
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def mp_nested(depth: int) -> tuple[bytes, str]:
    """multipart inside multipart ``depth`` times, an SSN in the innermost part."""
    body, ctype = f"SSN {SSN}".encode(), "text/plain"
    for i in range(depth):
        bnd = f"nest{i}x"
        body = (f'--{bnd}\r\nContent-Disposition: form-data; name="n{i}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n").encode() + body + f"\r\n--{bnd}--\r\n".encode()
        ctype = f"multipart/form-data; boundary={bnd}"
    return body, ctype


def mp_epilogue() -> tuple[bytes, str]:
    """Data after the closing delimiter (the epilogue, which RFC 2046 says to ignore)."""
    body, ctype = mp_ok("harmless")
    return body + f"epilogue: SSN {SSN}\r\n".encode(), ctype


def mp_many_parts(n: int = 100_000) -> tuple[bytes, str]:
    b = BOUNDARY.encode()
    part = b"--" + b + b'\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'
    return part * n + b"--" + b + b"--\r\n", f"multipart/form-data; boundary={BOUNDARY}"


def mp_long_boundary() -> tuple[bytes, str]:
    bnd = "b" * 5000
    body, _ = multipart_body([("f", None, f"SSN {SSN}".encode(), None)], bnd)
    return body, f"multipart/form-data; boundary={bnd}"


def mp_transfer_encoded(cte: str) -> tuple[bytes, str]:
    """A part whose Content-Transfer-Encoding hides the SSN from a reader of the raw bytes:
    a quoted-printable soft line break inside it, or a base64-encoded docx."""
    import base64

    if cte == "quoted-printable":
        data, ctype = f"SSN {SSN[:6]}=\r\n{SSN[6:]} on file".encode(), "text/plain"
    else:
        data, ctype = base64.encodebytes(docx_bytes(f"contract SSN {SSN}")), "application/octet-stream"
    b = BOUNDARY.encode()
    body = (b"--" + b + b'\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n'
            + f"Content-Type: {ctype}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode()
            + data + b"\r\n--" + b + b"--\r\n")
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def json_value_in_keys(n: int = 1) -> bytes:
    """An SSN carried as an object key, after ``n - 1`` harmless distinct keys."""
    doc = {f"id-{i:07d}": i for i in range(n - 1)}
    doc[f"SSN {SSN}"] = "x"
    return json.dumps({"rows": doc}).encode()
