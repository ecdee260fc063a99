"""Streamed bodies in process (agent.streaming.StreamInspector, as the proxy feeds it chunk by
chunk): a Content-Encoding bomb stops at the ratio cap with bounded memory, a value is
counted once whatever the chunk size, and nothing outside a multipart body's parts escapes."""

from __future__ import annotations

import gzip
import time
import tracemalloc

import brotli
import pytest
import zstandard

from agent.streaming import StreamInspector

from . import bombs as B

CHUNK = 64 * 1024


def feed(inproc, body: bytes, ctype: str | None, encoding: str | None = None,
         step: int = CHUNK) -> StreamInspector:
    si = StreamInspector(inproc.ruleset.scanner, ctype, encoding)
    for i in range(0, len(body), step):
        si.feed(body[i:i + step])
    si.finish()
    return si


@pytest.mark.parametrize("encoding, make", [
    ("gzip", lambda: B.gzip_text(1 * B.GiB)),
    ("br", lambda: B.brotli_bomb(256 * B.MiB, b"a")),
    ("zstd", lambda: B.zstd_bomb(1 * B.GiB, b"a")),
    ("deflate", lambda: B.zlib_zeros(1 * B.GiB)),
    ("gzip, br", lambda: brotli.compress(B.gzip_text(256 * B.MiB))),
])
def test_encoding_bomb_stops_at_the_ratio_cap(inproc, encoding, make):
    body = make()
    tracemalloc.start()
    t = time.monotonic()
    try:
        si = feed(inproc, body, "text/plain", encoding)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "ratio_limit" in si.result.uninspectable_reasons
    # cap: 200 x bytes received past a 1 MiB floor; a few decoder chunks in memory at most
    assert si.result.bytes_extracted <= max(1 << 20, 200 * len(body)) + (1 << 20)
    assert peak < 64 * B.MiB, f"peak {peak // B.MiB} MiB"
    assert time.monotonic() - t < 5


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress), ("br", brotli.compress),
    ("zstd", lambda d: zstandard.ZstdCompressor().compress(d)),
    ("gzip", lambda d: gzip.compress(d[:100]) + gzip.compress(d[100:])),   # two members
])
def test_ordinary_encoded_text_is_read_whole(inproc, encoding, encode):
    text = (b"Case notes. " + B.garbage(300_000, 3).hex().encode() + b" SSN " + B.SSN.encode()
            + b" on file.")
    si = feed(inproc, encode(text), "text/plain", encoding)
    assert si.result.uninspectable == []
    assert si.result.counts.get("SSN") == 1


@pytest.mark.parametrize("step", [1, 7, 512, 4096, 65536])
def test_a_value_is_counted_once_whatever_the_chunk_size(inproc, step):
    text = b"SSN " + B.SSN.encode() + b" filed. " + b"more notes " * 1000 + b"SSN 219-44-9876."
    si = feed(inproc, text, "text/plain", step=step)
    assert si.result.counts.get("SSN") == 2


@pytest.mark.parametrize("step", [1, 13, 4096])
@pytest.mark.parametrize("make, where", [(B.mp_boundary_inside_part, "multipart:preamble"),
                                         (B.mp_epilogue, "multipart:epilogue"),
                                         (B.mp_ok, "multipart:file=a.txt")])
def test_nothing_outside_the_parts_escapes(inproc, make, where, step):
    body, ctype = make()
    si = feed(inproc, body, ctype, step=step)
    ssn = si.result.detections.get("SSN")
    assert ssn is not None and ssn.count == 1 and ssn.where == [where]
