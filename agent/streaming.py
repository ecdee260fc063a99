"""Incremental inspection of a body that is forwarded while it arrives (bodies too large to
hold, or of unknown length).

Pure: chunks in, running detections out. Content-Encoding is decoded incrementally; multipart
bodies are split into parts with the `multipart` package's push parser; each text part is
scanned chunk by chunk with an overlap, so a value that spans two chunks is still found (and a
value already counted in the overlap is not counted twice). A part that is a container
(zip, Office, PDF, archive ...) cannot be read before it is complete: it is recorded as
`uninspectable(size_limit)` the moment its first bytes show what it is, and the rules decide.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from urllib.parse import unquote_to_bytes

import multipart as mp

from agent.extract.encoding import ZSTD_MAX_WINDOW
from agent.extract.model import FileInfo, Limits, Segment, Uninspectable
from agent.extract.sniff import is_binary, magic
from agent.inspect import DetectionTally, InspectionResult
from agent.masking import Hasher

OVERLAP = 4096            # bytes of the previous chunk rescanned with the next one
CONTEXT_SLACK = 64        # findings this close to a window's end may gain context later
MAX_PARTS = 10_000
SNIFF_BYTES = 512         # bytes of a part held back to see what it is
OUT_CHUNK = 1 << 20       # most bytes one decoder call may produce
ZSTD_IN = 256             # zstd input fed per call (bounds one call's output to ~8 MiB)


class RatioExceeded(Exception):
    """Decoded output passed the ratio cap; ``data`` is what was decoded up to the cap."""

    def __init__(self, data: bytes):
        super().__init__("ratio")
        self.data = data


class _Decoder:
    """Incremental Content-Encoding decoder (gzip, deflate, br, zstd, identity) with bounded
    output: every stage yields at most OUT_CHUNK bytes at a time, and the decoded total is held
    to the ratio cap of buffered extraction (``Limits.max_ratio`` times the bytes received, once
    past ``Limits.min_ratio_floor``). Without the bound one small chunk of a bomb (405 bytes of
    brotli) became 256 MiB in a single call on the event loop."""

    def __init__(self, encoding: str | None, limits: Limits):
        self.codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
        self.limits = limits
        self.bytes_in = 0
        self.bytes_out = 0
        self.stages: list[Callable[[Iterator[bytes]], Iterator[bytes]]] = []
        for c in reversed(self.codings):       # the last coding applied is undone first
            if c in ("identity", ""):
                continue
            if c in ("gzip", "x-gzip"):
                self.stages.append(_Zlib(16 + zlib.MAX_WBITS, restart=True))
            elif c == "deflate":
                self.stages.append(_Zlib(zlib.MAX_WBITS, raw_fallback=True))
            elif c == "br":
                import brotli

                self.stages.append(_Brotli(brotli.Decompressor()))
            elif c == "zstd":
                import zstandard

                self.stages.append(_Zstd(zstandard.ZstdDecompressor(
                    max_window_size=ZSTD_MAX_WINDOW).decompressobj()))
            else:
                raise ValueError(f"unsupported content-encoding {c!r}")

    def feed(self, data: bytes) -> bytes:
        """Decoded bytes of the next chunk; RatioExceeded (carrying what fits) past the cap."""
        self.bytes_in += len(data)
        if not self.stages:
            return data
        cap = max(self.limits.min_ratio_floor, int(self.limits.max_ratio * self.bytes_in))
        pieces: Iterator[bytes] = iter((data,))
        for stage in self.stages:
            pieces = stage(pieces)
        out: list[bytes] = []
        for piece in pieces:
            room = cap - self.bytes_out
            if len(piece) > room:
                out.append(piece[:room])
                self.bytes_out = cap
                raise RatioExceeded(b"".join(out))
            out.append(piece)
            self.bytes_out += len(piece)
        return b"".join(out)


class _Zlib:
    """gzip (with concatenated members, RFC 1952 §2.2) and deflate (zlib-wrapped by the RFC,
    raw in practice: try one, then the other)."""

    def __init__(self, wbits: int, restart: bool = False, raw_fallback: bool = False):
        self.wbits, self.restart, self.raw_fallback = wbits, restart, raw_fallback
        self.d = zlib.decompressobj(wbits)
        self.started = False

    def __call__(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for buf in pieces:
            while buf:
                try:
                    out = self.d.decompress(buf, OUT_CHUNK)
                except zlib.error:
                    if self.started or not self.raw_fallback:
                        raise
                    self.d, self.raw_fallback = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue
                self.started = True
                if out:
                    yield out
                if self.d.eof:
                    rest = self.d.unused_data
                    if self.restart and rest.startswith(b"\x1f\x8b"):
                        self.d = zlib.decompressobj(self.wbits)
                        buf = rest
                        continue
                    return                   # trailing bytes after the stream are ignored
                buf = self.d.unconsumed_tail


class _Brotli:
    def __init__(self, d):
        self.d = d

    def __call__(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        d = self.d
        for buf in pieces:
            if d.is_finished():
                return
            out = d.process(buf, output_buffer_limit=OUT_CHUNK)
            if out:
                yield out
            while not d.can_accept_more_data():
                out = d.process(b"", output_buffer_limit=OUT_CHUNK)
                if not out:
                    break
                yield out


class _Zstd:
    """zstandard's decompressobj returns all a frame holds; fed ZSTD_IN bytes at a time, one
    call yields at most ~32 KiB per input byte (an RLE block is 4 bytes for 128 KiB)."""

    def __init__(self, d):
        self.d = d

    def __call__(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for buf in pieces:
            for i in range(0, len(buf), ZSTD_IN):
                out = self.d.decompress(buf[i:i + ZSTD_IN])
                if out:
                    yield out


class _TextStream:
    """One text part scanned window by window."""

    def __init__(self, owner: StreamInspector, where: str, field: str | None, urlencoded: bool):
        self.owner, self.where, self.field, self.urlencoded = owner, where, field, urlencoded
        self.tail = b""
        self.offset = 0                # absolute offset of the tail's first byte
        self.recent: set[tuple[int, str]] = set()
        self.pending = b""             # an incomplete %XX escape held for the next chunk

    def feed(self, data: bytes) -> None:
        if self.urlencoded:
            data = self.pending + data
            cut = data.rfind(b"%", max(0, len(data) - 2))
            self.pending, data = (data[cut:], data[:cut]) if cut >= 0 else (b"", data)
            data = unquote_to_bytes(data.replace(b"+", b" "))
        if not data:
            return
        window = self.tail + data
        seg = Segment(window, self.where, self.field)
        result = self.owner.scanner.scan([seg], deadline=self.owner.deadline)
        if result.timed_out:
            self.owner.fail("time_limit", self.where, "stream scan deadline")
        fresh, recent = [], set()
        limit = len(window) - OVERLAP - CONTEXT_SLACK
        for f in result.findings:
            key = (self.offset + f.start, f.type)
            if key in self.recent:
                if f.end > limit:            # still in the overlap: the next window sees it again
                    recent.add(key)
                continue
            fresh.append(f)
            if f.end > limit:
                recent.add(key)
        self.recent = recent
        if fresh:
            self.owner.changed |= self.owner.tally.add(fresh, [seg])
        keep = window[-OVERLAP:]
        self.offset += len(window) - len(keep)
        self.tail = keep


class _Outside:
    """A streamed multipart body's bytes outside its parts: the preamble before the first
    delimiter and the epilogue after the closing one. The push parser skips both (as RFC 2046
    asks of receivers), but they travel with the body; each is scanned as a text stream of its
    own, like agent/extract/forms.py does for buffered bodies."""

    def __init__(self, owner: StreamInspector, boundary: str):
        self.delim = b"--" + boundary.encode("latin-1", "replace")
        self.close = b"\r\n" + self.delim + b"--"
        self.state = "pre"                   # pre -> parts -> epilogue
        self.at_start = True
        self.held = b""
        self.preamble = _TextStream(owner, "multipart:preamble", None, False)
        self.epilogue = _TextStream(owner, "multipart:epilogue", None, False)

    def feed(self, data: bytes) -> None:
        buf, self.held = self.held + data, b""
        if self.state == "pre":
            if self.at_start and len(buf) < len(self.delim):
                self.held = buf
                return
            if self.at_start and buf.startswith(self.delim):
                idx, buf = 0, b"\r\n" + buf    # so a closing delimiter at once is still found
            else:
                idx = buf.find(b"\r\n" + self.delim)
            self.at_start = False
            if idx < 0:
                keep = len(self.delim) + 1
                self.preamble.feed(buf[:-keep])
                self.held = buf[-keep:]
                return
            self.preamble.feed(buf[:idx])
            self.state, buf = "parts", buf[idx:]
        if self.state == "parts":
            idx = buf.find(self.close)
            if idx < 0:
                self.held = buf[-(len(self.close) - 1):]
                return
            self.state, buf = "epilogue", buf[idx + len(self.close):]
        self.epilogue.feed(buf)

    def finish(self) -> None:
        if self.state == "pre" and self.held:
            self.preamble.feed(self.held)


class StreamInspector:
    """Feed body chunks; read ``result`` (an InspectionResult) and ``changed`` after each."""

    def __init__(self, scanner, content_type: str | None, content_encoding: str | None,
                 hasher: Hasher | None = None, max_seconds: float = 3600.0,
                 limits: Limits | None = None):
        self.scanner = scanner
        self.tally = DetectionTally(hasher)
        self.result = InspectionResult(detections=self.tally.detections)
        self.deadline = time.monotonic() + max_seconds
        self.changed = False
        self._parts = 0
        self._part: _TextStream | None = None
        self._part_info: dict | None = None
        self._sniffed = False
        self._head = b""
        try:
            self.decoder = _Decoder(content_encoding, limits or Limits())
        except (ValueError, ImportError) as e:
            self.decoder = None
            self.fail("encoding_error", "body", str(e)[:80])
        ctype = (content_type or "").lower()
        self.multipart = None
        self._outside: _Outside | None = None
        if ctype.startswith("multipart/"):
            boundary = mp.parse_options_header(content_type)[1].get("boundary")
            if boundary:
                self.multipart = mp.PushMultipartParser(boundary, max_header_count=16,
                                                        max_segment_count=MAX_PARTS)
                self._outside = _Outside(self, boundary)
            else:
                self.fail("parse_error", "body", "multipart without boundary")
        self._urlencoded = ctype.startswith("application/x-www-form-urlencoded")

    def fail(self, reason: str, where: str, detail: str) -> None:
        if not any(u.reason == reason and u.where == where for u in self.result.uninspectable):
            self.result.uninspectable.append(Uninspectable(reason, where, detail))
            self.changed = True

    def feed(self, chunk: bytes) -> None:
        """Inspect the next chunk of the body as sent (before Content-Encoding is undone)."""
        self.result.bytes_in += len(chunk)
        if self.decoder is None or self.result.uninspectable and self._dead():
            return
        try:
            data = self.decoder.feed(chunk)
        except RatioExceeded as e:
            # a bomb: what fits under the cap is still scanned, the rest is not decoded
            data = e.data
            self.fail("ratio_limit", "body", f"content-encoding expands more than "
                      f"{self.decoder.limits.max_ratio:g}x")
            self.decoder = None
        except Exception as e:  # noqa: BLE001 - corrupt stream: uninspectable from here on
            self.decoder = None
            self.fail("encoding_error", "body", type(e).__name__)
            return
        self.result.bytes_extracted += len(data)
        if self.multipart is not None:
            if self._outside is not None:
                self._outside.feed(data)
            self._feed_multipart(data)
        else:
            self._feed_part(data, "body", None, None)

    def _dead(self) -> bool:
        return any(u.reason in ("encoding_error", "parse_error") and u.where == "body"
                   for u in self.result.uninspectable)

    def _feed_multipart(self, data: bytes) -> None:
        try:
            for event in self.multipart.parse(data):
                if isinstance(event, mp.MultipartSegment):
                    self._parts += 1
                    name = event.filename
                    where = f"multipart:file={name[:100]}" if name else f"multipart:field={(event.name or '')[:100]}"
                    self._part_info = {"where": where, "name": name, "field": event.name}
                    self._part, self._sniffed, self._head = None, False, b""
                elif event is None:
                    if self._head and self._part_info is not None:   # a part shorter than SNIFF_BYTES
                        info = self._part_info
                        self._feed_part(b"", info["where"], info["name"], info["field"], final=True)
                    self._part_info, self._part = None, None
                elif self._part_info is not None:
                    info = self._part_info
                    self._feed_part(event, info["where"], info["name"], info["field"])
        except mp.MultipartError as e:
            self.multipart = None
            self.fail("parse_error", "body", type(e).__name__)

    def _feed_part(self, data: bytes, where: str, name: str | None, field: str | None,
                   final: bool = False) -> None:
        if self._part is None:
            if self._sniffed:
                return                      # a container part: nothing more to read here
            self._head += data
            if len(self._head) < SNIFF_BYTES and not final:
                return
            data, self._head = self._head, b""
            self._sniffed = True
            kind = magic(data[:4096])
            if kind is not None or is_binary(data[:4096]):
                kind = kind or "binary"
                self.result.files.append(FileInfo(where, name, kind, 0))
                self.fail("size_limit", where, f"{kind} streamed: too large to hold for extraction")
                return
            if name:
                self.result.files.append(FileInfo(where, name, "text", 0))
                self.changed = True
            self._part = _TextStream(self, where, field, self._urlencoded and self.multipart is None)
        self._part.feed(data)

    def finish(self) -> None:
        if self._outside is not None:
            self._outside.finish()
        if self.multipart is None and self._head:
            self._feed_part(b"", "body", None, None, final=True)
        if self.multipart is not None:
            try:
                self.multipart.close()
            except mp.MultipartError:
                self.fail("parse_error", "body", "truncated multipart")
        if self._part is not None and self._part.pending:
            self._part.urlencoded = False
            self._part.feed(self._part.pending)
