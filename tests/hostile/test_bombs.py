"""The hand-built hostile bodies are what they claim to be, checked with the real readers
(zlib, gzip, zipfile, pypdf, the standard library's SAX parser, the multipart parser) on
small instances of the same construction."""

from __future__ import annotations

import gzip
import io
import json
import xml.sax
import zipfile
import zlib

import brotli
import multipart
import pytest
import zstandard

from . import bombs as B


@pytest.mark.parametrize("n", [0, 1, 5, 1000, 16 * B.MiB - 1, 16 * B.MiB, 40 * B.MiB + 3])
def test_crc_of_repeats_matches_zlib(n):
    assert B.crc32_zeros(n) == zlib.crc32(bytes(n))
    unit = b"abc"
    assert B.crc32_repeat(zlib.crc32(unit), 3, n % 5000) == zlib.crc32(unit * (n % 5000))


@pytest.mark.parametrize("n, fill", [(1, b"\0"), (16 * B.MiB, b"\0"), (40 * B.MiB + 3, b"\0"),
                                     (33 * B.MiB + 7, b"a")])
def test_gzip_and_zlib_bombs_decode_to_what_they_say(n, fill):
    assert gzip.decompress(B.gzip_fill(n, fill)) == fill * n
    if fill == b"\0":
        assert zlib.decompress(B.zlib_zeros(n)) == bytes(n)


def test_gzip_of_10gb_is_small_and_well_formed():
    g = B.gzip_zeros(10 * B.GiB)
    assert len(g) < 11 * B.MiB
    d = zlib.decompressobj(31)
    assert d.decompress(g, 1 << 20) == bytes(1 << 20)       # a real stream of zeros


@pytest.mark.parametrize("make, fill", [(B.brotli_bomb, b"\0"), (B.brotli_bomb, b"a"),
                                        (B.zstd_bomb, b"\0"), (B.zstd_bomb, b"a")])
def test_brotli_and_zstd_bombs_decode(make, fill):
    body = make(20 * B.MiB, fill)
    out = brotli.decompress(body) if make is B.brotli_bomb else \
        zstandard.ZstdDecompressor().decompressobj().decompress(body)
    assert out == fill * (20 * B.MiB)
    assert len(body) < 200 * B.KiB


def test_zip_of_zeros_reads_back_with_a_valid_crc():
    z = zipfile.ZipFile(io.BytesIO(B.zip_of_zeros(20 * B.MiB + 5)))
    assert z.testzip() is None
    assert z.read("0.dll") == bytes(20 * B.MiB + 5)


def test_nested_zip_bomb_has_the_42_zip_shape():
    data = B.nested_zip_bomb(levels=2, fanout=3, leaf=1 * B.MiB)
    total, stack = 0, [data]
    while stack:
        zf = zipfile.ZipFile(io.BytesIO(stack.pop()))
        for info in zf.infolist():
            inner = zf.read(info)
            if inner[:4] == b"PK\x03\x04" and info.filename.endswith(".zip"):
                stack.append(inner)
            else:
                total += len(inner)
    assert total == 3 * 3 * B.MiB


def test_overlapping_zip_points_every_entry_at_one_kernel():
    z = zipfile.ZipFile(io.BytesIO(B.overlapping_zip_bomb(entries=5, kernel=1 * B.MiB)))
    infos = z.infolist()
    assert len(infos) == 5 and {i.header_offset for i in infos} == {0}
    assert {i.file_size for i in infos} == {1 * B.MiB}


def test_zip_with_lying_sizes():
    z = zipfile.ZipFile(io.BytesIO(B.zip_declaring_huge_sizes()))
    assert z.infolist()[0].file_size == z.infolist()[0].compress_size == 0xFFFFFFF0
    z = zipfile.ZipFile(io.BytesIO(B.zip_declaring_huge_size_only()))
    assert z.infolist()[0].file_size == 0xFFFFFFF0 and z.infolist()[0].compress_size < 100


def test_zip_of_many_members():
    assert len(zipfile.ZipFile(io.BytesIO(B.zip_of_many(1000))).infolist()) == 1000


def test_pdf_bombs_read_with_pypdf():
    import pypdf

    r = pypdf.PdfReader(io.BytesIO(B.pdf_flate_bomb(3 * B.MiB, pages=2)))
    assert len(r.pages) == 2
    assert r.pages[0]["/Contents"].get_object().get_data() == bytes(3 * B.MiB)
    r = pypdf.PdfReader(io.BytesIO(B.pdf_text_ops(50)))
    assert r.pages[0].extract_text().count(B.SSN) == 50


@pytest.mark.parametrize("how", ["startxref-garbage", "startxref-past-end", "no-xref",
                                 "shifted-offsets", "truncated-half", "xref-loop"])
def test_broken_pdfs_differ_from_the_original(how):
    assert B.pdf_broken_xref(how) != B.plain_pdf()


def test_laughs_really_expand_in_a_parser_that_allows_entities():
    texts: list[str] = []

    class Collect(xml.sax.ContentHandler):
        def characters(self, content):
            texts.append(content)

    xml.sax.parseString(B.laughs(levels=3), Collect())
    assert "".join(texts) == "lol" * 1000


@pytest.mark.parametrize("kind", sorted(B.MAIN_PART))
def test_office_documents_carry_the_hostile_part(kind):
    doc = B.office_with_xml(kind, B.laughs())
    z = zipfile.ZipFile(io.BytesIO(doc))
    assert z.read(B.MAIN_PART[kind]) == B.laughs()
    assert len(z.namelist()) == len(zipfile.ZipFile(io.BytesIO(B.office_doc(kind))).namelist())


def _parts(body: bytes, ctype: str) -> list:
    _, params = multipart.parse_options_header(ctype)
    p = multipart.PushMultipartParser(params["boundary"])
    out, cur = [], None
    for event in [*p.parse(body), *p.parse(b"")]:
        if isinstance(event, multipart.MultipartSegment):
            cur = [event, b""]
        elif event is None:
            out.append(cur)
        else:
            cur[1] += event
    return out


def test_multipart_builders():
    parts = _parts(*B.mp_ok())
    assert [s.name for s, _ in parts] == ["note", "file"] and parts[1][1] == f"SSN {B.SSN}".encode()
    body, ctype = B.mp_nested(3)
    for _ in range(3):
        (seg, body), = _parts(body, ctype)
        ctype = seg.header("Content-Type")
    assert body == f"SSN {B.SSN}".encode()
    assert len(_parts(*B.mp_many_parts(1000))) == 1000
    assert _parts(*B.mp_epilogue())[-1][1] == b"harmless"        # the epilogue is not a part


def test_deep_json_is_json_at_a_depth_the_parser_takes():
    assert json.loads(B.deep_json(500)) is not None
    assert json.loads(B.deep_json(500, "object")) is not None
    assert B.SSN.encode() in B.deep_json(100_000)
