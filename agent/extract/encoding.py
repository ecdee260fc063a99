"""Bounded decompression: HTTP Content-Encoding (gzip, deflate, br, zstd) and compressed files.

Every decoder is pulled in chunks of at most ``CHUNK`` output bytes, so a bomb costs no more
than the limit it trips: output beyond ``Budget.ratio_cap(len(input))`` is a ``ratio_limit``,
output beyond the body's byte budget a ``size_limit``. What was decoded before either stop, or
before corrupt or truncated input, is returned for inspection together with the problem.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import brotli
import zstandard

from agent.extract.budget import Budget, Unreadable
from agent.extract.provenance import clean

CHUNK = 1 << 20
_BROTLI_IN = 1 << 16
# Larger windows than this are refused: RFC 9659 lets HTTP decoders cap zstd at 8 MB, and
# files made with `zstd --long` rarely exceed 128 MB; the cap bounds memory per body.
ZSTD_MAX_WINDOW = 1 << 27
XZ_MEMLIMIT = 1 << 27


class _Truncated(Exception):
    """The compressed stream ended before its end marker."""


@dataclass(slots=True)
class Decoded:
    data: bytes
    problem: Unreadable | None = None   # to record once the partial data has been inspected
    truncated: bool = False             # data stops short of what the stream holds
    damaged: bool = False               # truncated or corrupt: the input may not be what it claims


def _gzip(data: bytes) -> Iterator[bytes]:
    yield from _zlib(data, 31, restart_magic=b"\x1f\x8b")


def _deflate(data: bytes) -> Iterator[bytes]:
    # "deflate" is meant to be zlib-wrapped (RFC 9110 §8.4.1.2) but some servers and clients
    # send raw deflate; a zlib header is two bytes whose big-endian value is divisible by 31.
    if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        yield from _zlib(data, 15)
    else:
        yield from _zlib(data, -15)


def _zlib(data: bytes, wbits: int, restart_magic: bytes | None = None) -> Iterator[bytes]:
    d = zlib.decompressobj(wbits)
    buf = data
    while True:
        out = d.decompress(buf, CHUNK)
        if out:
            yield out
        if d.eof:
            rest = d.unused_data
            # concatenated gzip members are one file (RFC 1952 §2.2); other trailing bytes are
            # ignored, as browsers do.
            if restart_magic and rest.startswith(restart_magic):
                d = zlib.decompressobj(wbits)
                buf = rest
                continue
            return
        buf = d.unconsumed_tail
        if not buf and not out:
            raise _Truncated


def _bz2(data: bytes) -> Iterator[bytes]:
    yield from _needs_input_style(data, bz2.BZ2Decompressor, b"BZh")


def _xz(data: bytes) -> Iterator[bytes]:
    yield from _needs_input_style(
        data, lambda: lzma.LZMADecompressor(memlimit=XZ_MEMLIMIT), b"\xfd7zXZ\x00")


def _needs_input_style(data: bytes, make: Callable, magic: bytes) -> Iterator[bytes]:
    d = make()
    buf = data
    while True:
        out = d.decompress(buf, CHUNK)
        buf = b""
        if out:
            yield out
        if d.eof:
            if d.unused_data.startswith(magic):
                buf = d.unused_data
                d = make()
                continue
            return
        if d.needs_input:
            raise _Truncated


def _brotli(data: bytes) -> Iterator[bytes]:
    d = brotli.Decompressor()
    try:
        d.process(b"", output_buffer_limit=CHUNK)
    except TypeError:
        # brotli < 1.2 has no output limit: feed small input pieces so that each call's
        # output stays modest (still unbounded in theory; brotli >= 1.2 is recommended).
        yield from _brotli_unlimited(data)
        return
    for i in range(0, len(data), _BROTLI_IN):
        if d.is_finished():
            return
        out = d.process(data[i:i + _BROTLI_IN], output_buffer_limit=CHUNK)
        if out:
            yield out
        while not d.can_accept_more_data():
            out = d.process(b"", output_buffer_limit=CHUNK)
            if out:
                yield out
            elif d.is_finished():
                break
    if not d.is_finished():
        raise _Truncated


def _brotli_unlimited(data: bytes) -> Iterator[bytes]:
    d = brotli.Decompressor()
    for i in range(0, len(data), 256):
        if d.is_finished():
            return
        out = d.process(data[i:i + 256])
        if out:
            yield out
    if not d.is_finished():
        raise _Truncated


def _zstd(data: bytes) -> Iterator[bytes]:
    reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(
        data, read_across_frames=True)
    while True:
        out = reader.read(CHUNK)
        if not out:
            break
        yield out
    # zstandard's reader stops quietly at the end of truncated input; walk the frame
    # structure (block headers carry their sizes) to tell a cut-off stream from a whole one.
    if not zstd_frames_complete(data):
        raise _Truncated


def zstd_frames_complete(data: bytes) -> bool:
    """True when ``data`` is a sequence of whole zstd (or skippable) frames (RFC 8878 §3.1)."""
    pos, n = 0, len(data)
    while pos < n:
        if n - pos < 8:
            return False
        magic = int.from_bytes(data[pos:pos + 4], "little")
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # skippable frame
            pos += 8 + int.from_bytes(data[pos + 4:pos + 8], "little")
            continue
        if magic != 0xFD2FB528:
            return False
        fhd = data[pos + 4]
        single = fhd >> 5 & 1
        fcs_size = (1 if single else 0, 2, 4, 8)[fhd >> 6]
        did_size = (0, 1, 2, 4)[fhd & 3]
        pos += 5 + (0 if single else 1) + did_size + fcs_size
        while True:
            if pos + 3 > n:
                return False
            header = int.from_bytes(data[pos:pos + 3], "little")
            last, btype, size = header & 1, header >> 1 & 3, header >> 3
            if btype == 3:
                return False
            pos += 3 + (1 if btype == 1 else size)
            if pos > n:
                return False
            if last:
                break
        if fhd >> 2 & 1:  # content checksum
            pos += 4
    return pos == n


DECODERS: dict[str, Callable[[bytes], Iterator[bytes]]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
    "bzip2": _bz2,
    "xz": _xz,
}

_CORRUPT = (zlib.error, brotli.error, zstandard.ZstdError, OSError, EOFError, lzma.LZMAError,
            ValueError)


def decompress(kind: str, data: bytes, budget: Budget, path: str) -> Decoded:
    """Decode one layer; never returns more than the ratio cap or the remaining byte budget."""
    cap = budget.ratio_cap(len(data))
    out: list[bytes] = []
    total = 0
    try:
        for chunk in DECODERS[kind](data):
            budget.tick(path)
            if total + len(chunk) > cap:
                keep = budget.take(cap - total, path)
                out.append(chunk[:keep])
                problem = Unreadable("ratio_limit", f"{kind} expands more than "
                                     f"{budget.limits.max_ratio:g}x past "
                                     f"{budget.limits.min_ratio_floor} bytes")
                return Decoded(b"".join(out), problem, truncated=True)
            n = budget.take(len(chunk), path)
            out.append(chunk if n == len(chunk) else chunk[:n])
            total += n
            if n < len(chunk):
                return Decoded(b"".join(out), truncated=True)
    except _Truncated:
        return Decoded(b"".join(out), Unreadable("encoding_error", f"{kind} stream is truncated"),
                       truncated=True, damaged=True)
    except _CORRUPT as e:
        detail = f"{kind} data is corrupt" + ("" if type(e).__name__ == "error"
                                              else f" ({type(e).__name__})")
        return Decoded(b"".join(out), Unreadable("encoding_error", detail), truncated=True,
                       damaged=True)
    return Decoded(b"".join(out))


def content_codings(header: str) -> list[str]:
    """Codings in the order they must be undone (the header lists them as applied)."""
    tokens = [t.strip().lower() for t in header.split(",")]
    return [t for t in reversed(tokens) if t and t != "identity"]


def decode_content(data: bytes, header: str, budget: Budget, path: str) -> tuple[Decoded, bool]:
    """Undo a Content-Encoding header. Returns the decoded body and whether it is charged.

    A layer that fails before producing anything leaves the body as it was (mislabelled bodies
    are common and are then still inspected) and records encoding_error; a layer that fails
    part-way passes on what it decoded.
    """
    codings = content_codings(header)
    result = Decoded(data)
    charged = False
    for i, coding in enumerate(codings):
        if coding not in DECODERS or coding in ("bzip2", "xz"):
            problem = Unreadable("encoding_error", f"unknown content-encoding {clean(coding, 30)}")
            return Decoded(result.data, result.problem or problem, result.truncated), charged
        layer = decompress(coding, result.data, budget, path)
        if not layer.data and layer.problem:
            return Decoded(result.data, result.problem or layer.problem, result.truncated,
                           result.damaged), charged
        # a problem in an inner layer makes the outer layers' input short: report the first
        result = Decoded(layer.data, result.problem or layer.problem,
                         result.truncated or layer.truncated, result.damaged or layer.damaged)
        charged = True
        if result.truncated and i + 1 < len(codings):
            # decode the rest leniently: their truncation is a consequence, not news
            for rest in codings[i + 1:]:
                if rest not in DECODERS:
                    break
                inner = decompress(rest, result.data, budget, path)
                if not inner.data:
                    break
                result = Decoded(inner.data, result.problem, True, result.damaged)
            return result, charged
    return result, charged
