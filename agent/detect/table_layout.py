"""A block of table lines split into rows and cells, as the general path counts columns.

The general path (``ScanState.fixed_evidence``) gives a value the header of its column: the
number of delimiters between the start of its line and the value, not counting delimiters
inside double quotes (by quote parity within the line), for lines shorter than ``MAX_ROW``.
``Layout`` splits a block of lines the same way, once, for the table fast path.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate, repeat

from agent.detect.scanner import MAX_ROW

QUOTED = b"\x00"   # stands in for a delimiter inside quotes while splitting (same length)


class Layout:
    """A block's lines and its regular rows split into cells (row-major).

    Quoted delimiters are masked first (same length). Then, when every line is short enough
    to have its column worked out, one ``replace`` + ``split`` with the newline kept as a row
    marker yields the cells, and one join of the first cells proves every line has exactly one
    delimiter per column; otherwise lines are split and counted one by one."""

    __slots__ = ("masked", "nl", "reg", "flat", "nrows", "_lines", "_starts")

    def __init__(self, block: bytes, delim: bytes, ncols: int):
        # Lines end with CR LF when every newline of the block does (spreadsheet exports): the
        # CR, like a delimiter, is nothing a value can continue through, so cells exclude it.
        n = block.count(b"\n")
        self.nl = nl = b"\r\n" if n and block.count(b"\r\n") == n else b"\n"
        body = block[:-len(nl)] if block.endswith(nl) else block
        self.masked = masked = mask_quotes(body, delim)
        nlines = masked.count(nl) + 1
        self._lines: list[bytes] | None = None
        self._starts: list[int] | None = None
        self.reg: list[int] | None = None
        if short_lines(masked):
            flat = masked.replace(nl, delim + b"\n").split(delim)
            firsts = flat[ncols::ncols]
            # Each line break now starts a cell; nlines - 1 of them in as many first cells
            # means every line starts a row of exactly ncols cells.
            if len(flat) == ncols * nlines and b"".join(firsts).count(b"\n") == nlines - 1:
                if nlines > 1:
                    flat[ncols::ncols] = b"".join(firsts)[1:].split(b"\n")
                self.flat, self.nrows = flat, nlines
                return
        lines = self.lines
        want = ncols - 1
        counts = list(map(bytes.count, lines, repeat(delim)))
        self.reg = [i for i, (n, ln) in enumerate(zip(counts, lines, strict=True))
                    if n == want and len(ln) < MAX_ROW]
        rows = [lines[i] for i in self.reg]
        self.nrows = len(rows)
        self.flat = delim.join(rows).split(delim) if rows else []

    @property
    def lines(self) -> list[bytes]:
        if self._lines is None:
            self._lines = self.masked.split(self.nl)
        return self._lines

    def nlines(self) -> int:
        return len(self.lines)

    def starts(self) -> list[int]:
        """Block offsets of each line's first byte, and of the block end (+1)."""
        if self._starts is None:
            step = len(self.nl).__add__
            self._starts = list(accumulate(map(step, map(len, self.lines)), initial=0))
        return self._starts

    def line_of_row(self, r: int) -> int:
        return r if self.reg is None else self.reg[r]

    def row_of_line(self, li: int) -> int | None:
        if self.reg is None:
            return li
        r = bisect_left(self.reg, li)
        return r if r < len(self.reg) and self.reg[r] == li else None

    def irregular(self) -> list[int]:
        if self.reg is None:
            return []
        reg = set(self.reg)
        return [i for i in range(len(self.lines)) if i not in reg]

    def cell_start(self, r: int, c: int, ncols: int) -> int:
        """Block offset of the cell in regular row r, column c."""
        first = r * ncols
        return self.starts()[self.line_of_row(r)] + sum(map(len, self.flat[first:first + c])) + c


def short_lines(buf: bytes) -> bool:
    """True when no line of buf reaches MAX_ROW bytes (whose columns the general path does not
    work out): every aligned window of half that size holds a newline. False may be wrong,
    then lines are measured one by one."""
    step = MAX_ROW // 2
    return all(buf.find(b"\n", x, x + step) >= 0 for x in range(0, len(buf) - step + 1, step))


def mask_quotes(buf: bytes, delim: bytes) -> bytes:
    """buf with delimiters inside double quotes replaced by a stand-in byte (by quote parity
    within each line, as ``ScanState.fixed_evidence`` counts columns); lengths are kept."""
    q = buf.find(b'"')
    if q < 0:
        return buf
    out: bytearray | None = None
    while q >= 0:
        ls = buf.rfind(b"\n", 0, q) + 1
        le = buf.find(b"\n", q)
        if le < 0:
            le = len(buf)
        parts = buf[ls:le].split(b'"')
        inner = parts[1::2]
        if any(p.find(delim) >= 0 for p in inner):
            parts[1::2] = [p.replace(delim, QUOTED) for p in inner]
            if out is None:
                out = bytearray(buf)
            out[ls:le] = b'"'.join(parts)
        q = buf.find(b'"', le)
    return buf if out is None else bytes(out)
