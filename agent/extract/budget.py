"""Book-keeping of the work one body may cause: bytes produced, wall clock, and what was cut short.

Two kinds of stop, because they unwind differently:

- ``Unreadable(reason)`` ends one container (a zip member that is a bomb, a PDF that is
  encrypted). The dispatcher records it against that container and carries on with siblings.
- ``Exhausted`` ends the whole body (the byte budget or the deadline ran out). It is recorded
  once, where it happened, and unwinds to ``extract()``; everything emitted before it is kept.

Memory: once the segment text held in memory would pass ``Limits.memory_text_bytes``, further
segment text goes to the body's spool file (``agent.extract.spool``) and is counted against
``Limits.max_spilled_bytes`` instead of ``max_extracted_bytes``; bytes a producer had charged
while building that text are given back, since they no longer stay in memory.
"""

from __future__ import annotations

import errno
import time

from agent.extract.model import (
    ExtractionResult,
    FileInfo,
    Limits,
    Segment,
    TableLayout,
    Uninspectable,
)
from agent.extract.spool import SpilledSegment, Spool


class Exhausted(Exception):
    """The body's byte budget or deadline is spent; already recorded in the result."""


class Unreadable(Exception):
    """One container cannot be read (further); the dispatcher records it against its path."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Budget:
    """Limits for one body plus the result being filled in.

    ``take(n)`` charges produced bytes (decompressed output, decoded or transcoded text, text
    pulled out of documents). Text that is the body itself, or a slice of it, is charged once
    when emitted, so a plain 50 MB body counts 50 MB, not 100.
    """

    def __init__(self, limits: Limits, deadline: float, result: ExtractionResult, root: str):
        self.limits = limits
        self.deadline = deadline
        self.result = result
        self.root = root
        self.used = 0
        self.held = 0        # segment text in memory (emitted, or in SegmentWriters' buffers)
        self.spilled = 0     # segment text past memory_text_bytes: in the spool, or resident
        self.resident: bytes | None = None   # the body as the caller holds it
        self._out_of_time = False
        self._size_spent = False

    def label(self, path: str) -> str:
        """Provenance for a path; the empty path is the body itself."""
        return path or self.root

    def record(self, reason: str, path: str, detail: str = "") -> None:
        self.result.uninspectable.append(Uninspectable(reason, self.label(path), detail))

    def tick(self, path: str) -> None:
        """Raise Exhausted once the deadline has passed (recording time_limit the first time)."""
        if self._out_of_time:
            raise Exhausted
        if time.monotonic() > self.deadline:
            self._out_of_time = True
            self.record("time_limit", path, f"extraction ran past {self.limits.max_seconds:g}s")
            raise Exhausted

    @property
    def room(self) -> int:
        return self.limits.max_extracted_bytes - self.used

    def take(self, n: int, path: str, *, final: bool = False) -> int:
        """Charge up to ``n`` bytes; return how many fit.

        Fewer than ``n`` means the byte budget ran out (recorded as size_limit the first
        time): the caller keeps that much and stops. Asking again once it is spent raises
        Exhausted, unless ``final`` (a last flush of partial text, which then gets 0).
        """
        room = self._fit(n, self.room, path, final,
                         f"more than {self.limits.max_extracted_bytes} bytes extracted from the body")
        self.used += room
        return room

    def _fit(self, n: int, room: int, path: str, final: bool, detail: str) -> int:
        """How many of ``n`` bytes fit ``room``. The first time they do not, size_limit is
        recorded (what fits is kept); asking again after that raises Exhausted unless
        ``final``."""
        if n <= room:
            return n
        if self._size_spent and not final:
            raise Exhausted
        self._spent(path, detail)
        return max(room, 0)

    def _spent(self, path: str, detail: str) -> None:
        """Record size_limit once per body, whichever byte budget ran out first."""
        if not self._size_spent:
            self._size_spent = True
            self.record("size_limit", path, detail)

    def emit(self, data: bytes, path: str, field: str | None = None,
             table: TableLayout | None = None, charged: bool = False,
             final: bool = False) -> None:
        """Add a text segment; ``charged`` says its bytes were already counted by ``take``.

        ``final`` is for flushing what a container read before it stopped: it never raises.
        """
        if not data:
            return
        if data is self.resident and self.spilling(len(data)):
            # The body itself (a plain text or CSV upload): its bytes are in memory anyway,
            # so a copy on disk would only cost time. It is counted like spilled text.
            if charged:
                self.used -= len(data)
            n = self._past_memory(len(data), path, final)
            if n:
                self.spilled += n
                self.result.segments.append(Segment(data if n == len(data) else data[:n],
                                                    self.label(path), field, table))
            return
        if self.spilling(len(data)):
            extents = self.spill(data, path, charged, final)
            if extents:
                self.result.segments.append(SpilledSegment(self.result.spool, extents,
                                                           self.label(path), field, table))
            return
        if not charged:
            n = self.take(len(data), path, final=final)
            if n < len(data):
                data = data[:n]
                if not data:
                    return
        self.held += len(data)
        self.result.segments.append(Segment(data, self.label(path), field, table))

    def spilling(self, n: int) -> bool:
        """Whether ``n`` more bytes of segment text go to the spool rather than memory."""
        lim = self.limits
        return lim.max_spilled_bytes > 0 and self.held + n > lim.memory_text_bytes

    def spill(self, data: bytes, path: str, charged: bool = False,
              final: bool = False) -> list[tuple[int, int]]:
        """Write segment text to the spool; its extents (empty if none of it fit).

        ``charged`` bytes were counted against max_extracted_bytes and are given back. Past
        max_spilled_bytes what fits is kept and size_limit recorded, as ``take`` does.
        """
        if charged:
            self.used -= len(data)
        n = self._past_memory(len(data), path, final)
        if n < len(data):
            data = data[:n]
        if not data:
            return []
        try:
            spool = self.result.spool
            if spool is None:
                spool = self.result.spool = Spool(self.limits.spill_dir)
            offset = spool.append(data)
        except OSError as e:
            # An unusable spill directory or a full disk: the text cannot be kept, so the
            # body is not fully inspected. Content-free detail: never the path.
            self._spent(path, "text could not be spilled to disk "
                        f"({errno.errorcode.get(e.errno or 0, type(e).__name__)})")
            raise Exhausted from None
        self.spilled += len(data)
        return [(offset, len(data))]

    def _past_memory(self, n: int, path: str, final: bool) -> int:
        """How many of ``n`` bytes of text past memory_text_bytes fit max_spilled_bytes
        (size_limit recorded the first time they do not, as ``take`` does)."""
        return self._fit(n, self.limits.max_spilled_bytes - self.spilled, path, final,
                         f"more than {self.limits.max_spilled_bytes} bytes of text past the "
                         "in-memory limit in the body")

    def writer(self, path: str, strip_leading: bool = True) -> SegmentWriter:
        return SegmentWriter(self, path, strip_leading)

    def add_file(self, path: str, name: str | None, type_: str, size: int) -> None:
        self.result.files.append(FileInfo(self.label(path), name, type_, size))

    def ratio_cap(self, compressed: int) -> int:
        """Most bytes ``compressed`` input may expand to before it counts as a bomb."""
        return max(self.limits.min_ratio_floor, int(self.limits.max_ratio * max(compressed, 1)))


class SegmentWriter:
    """One segment whose text arrives in pieces (a document part, a sheet).

    The text is held in memory while the body's text fits ``Limits.memory_text_bytes`` and
    moved to the spool once it does not, so a producer never builds a giant bytes object.
    ``close`` emits the segment with newlines stripped from its ends (only the trailing ones
    unless ``strip_leading``), as one ``emit`` of the whole text would have.
    """

    def __init__(self, budget: Budget, path: str, strip_leading: bool = True):
        self.budget = budget
        self.path = path
        self.strip_leading = strip_leading
        self.chunks: list[bytes] = []    # in memory, charged with ``take``
        self.size = 0
        self.extents: list[tuple[int, int]] | None = None   # once spilled
        self._tail = b""                 # newlines held back: they may end the segment
        self._started = False            # text other than leading newlines was spilled
        self.full = False

    def write(self, data: bytes) -> bool:
        """Add text (not yet charged); False once the budget ran out (size_limit recorded,
        what fit kept). Raises Exhausted when called again after that."""
        if not data:
            return not self.full
        b = self.budget
        if self.extents is None and not b.spilling(len(data)):
            n = b.take(len(data), self.path)
            if n < len(data):
                data = data[:n]
                self.full = True
            if data:
                self.chunks.append(data)
                self.size += len(data)
                b.held += len(data)
            return not self.full
        if self.extents is None:
            # the text so far leaves memory: give back its charge, count it on disk instead
            self.extents = []
            chunks, self.chunks = self.chunks, []
            b.used -= self.size
            b.held -= self.size
            self.size = 0
            for chunk in chunks:
                self._spill(chunk, final=False)
                if self.full:
                    return False
        self._spill(data, final=False)
        return not self.full

    def _spill(self, data: bytes, final: bool) -> None:
        data = self._tail + data if self._tail else data
        if not self._started and self.strip_leading:
            data = data.lstrip(b"\n")
        body = data.rstrip(b"\n")
        self._tail = data[len(body):]
        if not body:
            return
        self._started = True
        got = self.budget.spill(body, self.path, final=final)
        for offset, n in got:
            last = self.extents[-1] if self.extents else None
            if last is not None and last[0] + last[1] == offset:
                self.extents[-1] = (last[0], last[1] + n)   # contiguous in the file
            else:
                self.extents.append((offset, n))
        if sum(n for _, n in got) < len(body):
            self.full = True

    def close(self, field: str | None = None, table: TableLayout | None = None) -> None:
        """Emit the segment (also after a failure: partial text is still inspected)."""
        b = self.budget
        if self.extents is None:
            data = b"".join(self.chunks)
            self.chunks = []
            b.held -= self.size
            self.size = 0
            data = data.strip(b"\n") if self.strip_leading else data.rstrip(b"\n")
            b.emit(data, self.path, field, table, charged=True, final=True)
            return
        if self.extents:
            b.result.segments.append(SpilledSegment(b.result.spool, self.extents,
                                                    b.label(self.path), field, table))
        self.extents = []

    def discard(self) -> None:
        """Drop the text: what was held in memory is given back; what went to the spool stays
        counted (the bytes stay on disk until the body's spool is closed)."""
        self.budget.used -= self.size
        self.budget.held -= self.size
        self.chunks, self.size, self.extents = [], 0, []
