"""Book-keeping of the work one body may cause: bytes produced, wall clock, and what was cut short.

Two kinds of stop, because they unwind differently:

- ``Unreadable(reason)`` ends one container (a zip member that is a bomb, a PDF that is
  encrypted). The dispatcher records it against that container and carries on with siblings.
- ``Exhausted`` ends the whole body (the byte budget or the deadline ran out). It is recorded
  once, where it happened, and unwinds to ``extract()``; everything emitted before it is kept.
"""

from __future__ import annotations

import time

from agent.extract.model import (
    ExtractionResult,
    FileInfo,
    Limits,
    Segment,
    TableLayout,
    Uninspectable,
)


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
        room = self.room
        if n <= room:
            self.used += n
            return n
        if self._size_spent and not final:
            raise Exhausted
        if not self._size_spent:
            self._size_spent = True
            self.record("size_limit", path, f"more than {self.limits.max_extracted_bytes} "
                        "bytes extracted from the body")
        room = max(room, 0)
        self.used += room
        return room

    def emit(self, data: bytes, path: str, field: str | None = None,
             table: TableLayout | None = None, charged: bool = False,
             final: bool = False) -> None:
        """Add a text segment; ``charged`` says its bytes were already counted by ``take``.

        ``final`` is for flushing what a container read before it stopped: it never raises.
        """
        if not data:
            return
        if not charged:
            n = self.take(len(data), path, final=final)
            if n < len(data):
                data = data[:n]
                if not data:
                    return
        self.result.segments.append(Segment(data, self.label(path), field, table))

    def add_file(self, path: str, name: str | None, type_: str, size: int) -> None:
        self.result.files.append(FileInfo(self.label(path), name, type_, size))

    def ratio_cap(self, compressed: int) -> int:
        """Most bytes ``compressed`` input may expand to before it counts as a bomb."""
        return max(self.limits.min_ratio_floor, int(self.limits.max_ratio * max(compressed, 1)))
