"""Segment text of one body kept on disk once the text held in memory passes a threshold.

The spool is an anonymous file: opened with O_TMPFILE (or created and unlinked at once where
the filesystem cannot do that), mode 0600, so it never has a name another process could open
and a crash leaves nothing readable behind. It holds the most sensitive text the agent sees:
its path and contents are never logged, and it is closed when the body's inspection ends
(``ExtractionResult.close``), or at the latest when it is garbage-collected.

Reads use ``pread`` rather than a memory map: mapped pages of a file count towards the
process's resident memory, which is what spilling is meant to bound.
"""

from __future__ import annotations

import errno
import os
import tempfile

from agent.extract.model import Segment, TableLayout

# O_TMPFILE is refused with these where the kernel or the filesystem lacks it.
_NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL})


def _anonymous_file(directory: str) -> int:
    flags = os.O_RDWR | os.O_CLOEXEC
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        try:
            return os.open(directory, flags | tmpfile, 0o600)
        except OSError as e:
            if e.errno not in _NO_TMPFILE:
                raise
    fd, name = tempfile.mkstemp(prefix=".dlp-spill-", dir=directory)  # mode 0600
    try:
        os.unlink(name)
    except OSError:
        os.close(fd)
        raise
    return fd


_GATHER = 1 << 20


class Spool:
    """An append-only anonymous file of one body's spilled segment text."""

    def __init__(self, directory: str | None = None):
        fd = _anonymous_file(directory or tempfile.gettempdir())
        # FileIO closes the descriptor when collected, should a caller forget close()
        self._file = open(fd, "r+b", buffering=0)  # noqa: SIM115 - lives as long as the result
        self.size = 0
        # small appends (a JSON body's many strings) are gathered into one write
        self._pending = bytearray()

    def fileno(self) -> int:
        return self._file.fileno()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def append(self, data: bytes) -> int:
        """Write ``data`` at the end; its offset."""
        offset = self.size
        self.size += len(data)
        if len(data) < _GATHER:
            self._pending += data
            if len(self._pending) >= _GATHER:
                self._flush()
            return offset
        self._flush()
        self._write(data)
        return offset

    def _flush(self) -> None:
        if self._pending:
            self._write(self._pending)
            self._pending = bytearray()

    def _write(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            n = self._file.write(view)
            view = view[n:]

    def read(self, offset: int, n: int) -> bytes:
        if self._pending:
            self._flush()
        fd = self._file.fileno()
        out = os.pread(fd, n, offset)
        if len(out) == n:
            return out
        parts = [out]
        got = len(out)
        while got < n:
            more = os.pread(fd, n - got, offset + got)
            if not more:
                raise OSError(errno.EIO, "spool file shorter than written")
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    def close(self) -> None:
        self._pending = bytearray()
        self._file.close()

    def __repr__(self) -> str:
        return f"Spool(size={self.size}, closed={self.closed})"


class SpilledSegment(Segment):
    """A segment whose text lives in the body's spool: ``(offset, length)`` extents in order.

    ``data`` reads the whole text back (a new bytes object on every access), so every consumer
    of ``Segment.data`` works unchanged; code that must not hold it whole reads ranges with
    ``read`` (the piecewise scanner does). ``size`` is its length without reading it.
    """

    __slots__ = ("_spool", "_extents", "_size")

    def __init__(self, spool: Spool, extents: list[tuple[int, int]], where: str,
                 field: str | None = None, table: TableLayout | None = None):
        self._spool = spool
        self._extents = tuple(extents)
        self._size = sum(n for _, n in self._extents)
        self.where = where
        self.field = field
        self.table = table

    @property
    def data(self) -> bytes:  # type: ignore[override]
        return self.read(0, self._size)

    @property
    def size(self) -> int:
        return self._size

    def read(self, start: int, end: int) -> bytes:
        """``data[start:end]`` read from the spool (bounds clipped like a slice)."""
        start, end = max(start, 0), min(end, self._size)
        if start >= end:
            return b""
        parts = []
        pos = 0
        for offset, n in self._extents:
            lo, hi = max(start, pos), min(end, pos + n)
            if lo < hi:
                parts.append(self._spool.read(offset + lo - pos, hi - lo))
            pos += n
            if pos >= end:
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def __repr__(self) -> str:   # never the text
        return f"SpilledSegment(where={self.where!r}, field={self.field!r}, size={self._size})"


def read_all(segments: list[SpilledSegment]) -> list[bytes]:
    """The segments' data, read with one ``pread`` when they lie close together in one spool
    (a run of a JSON body's small strings), else one by one."""
    if len(segments) > 1 and all(len(s._extents) == 1 and s._spool is segments[0]._spool
                                 for s in segments):
        spans = [s._extents[0] for s in segments]
        lo = min(o for o, _ in spans)
        hi = max(o + n for o, n in spans)
        if hi - lo <= 2 * sum(n for _, n in spans) + 65536:
            block = segments[0]._spool.read(lo, hi - lo)
            return [block[o - lo:o - lo + n] for o, n in spans]
    return [s.data for s in segments]
