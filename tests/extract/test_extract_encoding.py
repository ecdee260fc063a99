"""Content-Encoding: every coding, stacked codings, and bounded decoding of bombs and junk."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard
from extract_docs import SSN, found, reasons

from agent.extract import Limits, extract
from agent.extract.encoding import content_codings, zstd_frames_complete

TEXT = f"Employee record: SSN {SSN}, please keep private.\n".encode() * 20


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize("header, encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),                                    # zlib-wrapped, per RFC
    ("deflate", _raw_deflate),                                     # raw, as some servers send
    ("br", brotli.compress),
    ("zstd", lambda d: zstandard.ZstdCompressor().compress(d)),
    ("identity", lambda d: d),
    ("GZIP", gzip.compress),                                       # tokens are case-insensitive
])
def test_each_coding(header, encode):
    r = extract(encode(TEXT), "text/plain", header)
    assert r.segments[0].data == TEXT
    assert r.complete


def test_stacked_codings_are_undone_in_reverse():
    # "gzip, br" means gzip was applied first, then br
    body = brotli.compress(gzip.compress(TEXT))
    r = extract(body, "text/plain", "gzip, br")
    assert r.segments[0].data == TEXT
    body = zstandard.ZstdCompressor().compress(brotli.compress(gzip.compress(TEXT)))
    r = extract(body, "text/plain", "gzip, br, zstd")
    assert r.segments[0].data == TEXT
    assert content_codings("gzip, identity, br") == ["br", "gzip"]


def test_concatenated_gzip_members_are_one_body():
    r = extract(gzip.compress(b"part one ") + gzip.compress(SSN.encode()), None, "gzip")
    assert r.segments[0].data == f"part one {SSN}".encode()


def test_truncated_gzip_keeps_what_was_decoded():
    body = gzip.compress(TEXT * 50)
    r = extract(body[: len(body) // 2], "text/plain", "gzip")
    assert reasons(r) == [("encoding_error", "body")]
    assert "truncated" in r.uninspectable[0].detail
    assert found(r, SSN) == ["body"]  # the decoded first half is still inspected


def test_truncated_zstd_is_detected():
    body = zstandard.ZstdCompressor().compress(TEXT * 500)
    assert zstd_frames_complete(body)
    assert not zstd_frames_complete(body[:-7])
    r = extract(body[:-7], "text/plain", "zstd")
    assert reasons(r) == [("encoding_error", "body")]


def test_truncated_brotli_is_detected():
    body = brotli.compress(TEXT * 500)
    r = extract(body[:-3], "text/plain", "br")
    assert reasons(r) == [("encoding_error", "body")]


@pytest.mark.parametrize("header", ["compress", "x-snappy", "bogus-encoding"])
def test_unknown_coding_is_encoding_error_and_body_still_read(header):
    r = extract(TEXT, "text/plain", header)
    assert reasons(r) == [("encoding_error", "body")]
    assert found(r, SSN) == ["body"]


def test_mislabelled_body_is_still_read():
    # claims gzip, is plain: recorded, and the text is not lost
    r = extract(TEXT, "text/plain", "gzip")
    assert reasons(r) == [("encoding_error", "body")]
    assert r.segments[0].data == TEXT


@pytest.mark.parametrize("header, encode", [
    ("gzip", gzip.compress),
    ("br", brotli.compress),
    ("zstd", lambda d: zstandard.ZstdCompressor().compress(d)),
    ("deflate", zlib.compress),
])
def test_bomb_stops_at_ratio(header, encode):
    limits = Limits(max_ratio=50, min_ratio_floor=64 * 1024)
    bomb = encode(SSN.encode() + b"\0" * (50 * 1024 * 1024))
    r = extract(bomb, None, header, limits=limits)
    assert reasons(r) == [("ratio_limit", "body")]
    cap = max(limits.min_ratio_floor, int(limits.max_ratio * len(bomb)))
    assert r.bytes_extracted <= cap
    assert found(r, SSN)  # what came before the cut-off is inspected


def test_expansion_below_floor_is_allowed():
    # 1 MB of text compresses ~1000x, but stays under min_ratio_floor: not a bomb
    body = gzip.compress(b"a" * (1024 * 1024 - 1))
    r = extract(body, "text/plain", "gzip")
    assert r.complete


def test_size_limit_while_decoding():
    limits = Limits(max_extracted_bytes=100_000, max_ratio=10_000)
    r = extract(gzip.compress(TEXT * 1000), "text/plain", "gzip", limits=limits)
    assert reasons(r) == [("size_limit", "body")]
    assert r.bytes_extracted == 100_000
    assert found(r, SSN)
