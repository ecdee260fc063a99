"""Findings of table rows decided column by column, kept as columns.

A decided column holds, per regular row, the canonical value reported (or None) and what it is
reported as; offsets are not kept: ``rows()`` works them out again from the block's bytes, only
when ``Finding`` objects or rows are asked for. ``by_type()`` is what a summary reads.
"""

from __future__ import annotations

from itertools import chain, compress, repeat
from operator import add, is_not
from typing import Any

from agent.detect.result import Batch, Row, TypeBatch, group
from agent.detect.table_layout import Layout


class Column:
    """A column's decided cells in one block: per regular row, the canonical value reported
    (None: nothing reported, or the cell is not decided here), what it is reported as, and
    which cells were decided (None: all)."""

    __slots__ = ("c", "norms", "info", "fast")

    def __init__(self, c: int, norms: list[str | None], info: Any, fast: list[bool] | None):
        self.c = c
        self.norms = norms
        # (entity, score, verdict, extender) for every finding, or a list of them per row;
        # extender: the detector whose extend() may widen the start (phone numbers).
        self.info = info
        self.fast = fast

    def decided(self, r: int) -> bool:
        return self.fast is None or self.fast[r]

    def info_of(self, r: int) -> tuple:
        return self.info if isinstance(self.info, tuple) else self.info[r]


class BlockFindings:
    """The decided columns of one block, shared by its runs."""

    __slots__ = ("data", "k", "a", "b", "delim", "ncols", "reg", "cols", "runs", "_layout")

    def __init__(self, tab: Any, a: int, b: int, lay: Layout, cols: list[Column]):
        self.data, self.k, self.a, self.b = tab.data, tab.k, a, b
        self.delim, self.ncols, self.reg = tab.delim, tab.ncols, lay.reg
        self.cols = [c for c in cols if any(map(is_not, c.norms, repeat(None)))]
        self.runs = 0
        self._layout: Layout | None = None

    def layout(self, last: bool) -> Layout:
        """The block split again (offsets are not kept); kept for the block's next run until
        its ``last`` run asks: runs are turned into rows in order, and a block of a table with
        many general lines has many runs."""
        lay = self._layout or Layout(self.data[self.a:self.b], self.delim, self.ncols)
        self._layout = None if last else lay
        return lay


class TableRun:
    """Findings of consecutive regular rows of a table block decided column by column: as
    columns of canonical values; offsets are worked out (by splitting the block again) only
    when rows are asked for."""

    __slots__ = ("block", "r0", "r1", "index", "_n")

    def __init__(self, block: BlockFindings, r0: int, r1: int):
        self.block, self.r0, self.r1 = block, r0, r1
        self.index = block.runs
        block.runs += 1
        self._n = -1

    def __len__(self) -> int:
        if self._n < 0:
            r0, r1 = self.r0, self.r1
            self._n = sum(r1 - r0 - c.norms[r0:r1].count(None) for c in self.block.cols)
        return self._n

    def batch(self) -> Batch:
        r0, r1 = self.r0, self.r1
        cols = self.block.cols
        n = r1 - r0
        norms_in = [c.norms[r0:r1] for c in cols]
        if len(cols) == 1:
            norms_all = norms_in[0]
        else:
            norms_all = list(chain.from_iterable(zip(*norms_in, strict=True)))
        keep = list(map(is_not, norms_all, repeat(None)))
        norms = list(compress(norms_all, keep))
        if all(isinstance(c.info, tuple) for c in cols):
            types_row = tuple(c.info[0] for c in cols)
            verdicts_row = tuple(c.info[2] for c in cols)
            types = list(compress(chain.from_iterable(repeat(types_row, n)), keep))
            verdicts = list(compress(chain.from_iterable(repeat(verdicts_row, n)), keep))
        else:
            infos = [repeat(c.info, n) if isinstance(c.info, tuple) else c.info[r0:r1]
                     for c in cols]
            kept = list(compress(chain.from_iterable(zip(*infos, strict=True)), keep))
            types = [i[0] for i in kept]
            verdicts = [i[2] for i in kept]
        return types, verdicts, norms, [self.block.k] * len(norms)

    def by_type(self) -> list[TypeBatch]:
        cols = self.block.cols
        if not all(isinstance(c.info, tuple) for c in cols):
            return group(*self.batch())
        r0, r1 = self.r0, self.r1
        members: dict[str, list] = {}   # entity -> its columns' (first row, column, ...)
        for j, col in enumerate(cols):
            norms = col.norms[r0:r1]
            keep = list(map(is_not, norms, repeat(None)))
            if True in keep:
                members.setdefault(col.info[0], []).append((keep.index(True), j, col, norms,
                                                            keep))
        out = []
        # Types in order of first occurrence, row by row, column by column within a row.
        for entity, ms in sorted(members.items(), key=lambda e: min(m[:2] for m in e[1])):
            if len(ms) == 1:
                _, _, col, norms, keep = ms[0]
                kept = list(compress(norms, keep))
                verdicts = [col.info[2]] * len(kept)
            else:
                keep = list(chain.from_iterable(zip(*(m[4] for m in ms), strict=True)))
                kept = list(compress(chain.from_iterable(zip(*(m[3] for m in ms), strict=True)),
                                     keep))
                row = tuple(m[2].info[2] for m in ms)
                verdicts = list(compress(chain.from_iterable(repeat(row, r1 - r0)), keep))
            out.append((entity, verdicts, kept, [self.block.k] * len(kept)))
        return out

    def rows(self) -> list[Row]:
        blk = self.block
        lay = blk.layout(last=self.index == blk.runs - 1)
        ncols, flat, r0, r1 = blk.ncols, lay.flat, self.r0, self.r1
        starts = lay.starts()
        # Cell offsets column by column: the line's start, plus each cell before and its
        # delimiter.
        offsets = [blk.a + starts[lay.line_of_row(r)] for r in range(r0, r1)]
        by_col = {col.c: col for col in blk.cols}
        per_col = []
        for c in range(max(by_col) + 1):
            cells = flat[r0 * ncols + c:r1 * ncols:ncols]
            col = by_col.get(c)
            if col is not None:
                got: list[Row | None] = []
                for i, (norm, cell, s) in enumerate(zip(col.norms[r0:r1], cells, offsets,
                                                        strict=True)):
                    if norm is None:
                        got.append(None)
                        continue
                    entity, score, verdict, ext = col.info_of(r0 + i)
                    start = s if ext is None else ext.extend(blk.data, s, 0)
                    got.append((entity, blk.k, start, s + len(cell), score, verdict, norm))
                per_col.append(got)
            offsets = list(map(add, offsets, map((1).__add__, map(len, cells))))
        return [x for x in chain.from_iterable(zip(*per_col, strict=True)) if x is not None]
