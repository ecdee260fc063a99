"""What a scan returns: findings kept compact until someone asks for ``Finding`` objects.

A dense table yields half a million findings. As ``Finding`` objects they cost more than the
whole detection stage (the cyclic garbage collector walks every tracked object again and again
while the list grows); as plain tuples of strings and numbers, which the collector stops
tracking, or as columns, they cost little. So the scanner produces *parts*, in order:

* a list of rows: tuples in ``Finding`` field order (type, segment, start, end, score, verdict,
  norm), from the general path;
* a columnar part (``agent.detect.tables.TableRun``): rows of a table decided column by column,
  whose offsets are worked out only when rows are asked for.

``ScanResult.findings`` builds the ``Finding`` list on first access (the public contract);
``by_type()`` and ``batches()`` give counting consumers (``agent.inspect.DetectionTally``) the
same findings as columns without building any object per finding.

Privacy: rows and columns hold canonical values (``norm``: digits of an SSN, a password) and,
unlike ``Finding``, print them: never log ``parts``, rows or batches. ``ScanResult``'s own repr
shows counts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import compress, repeat
from operator import eq, itemgetter
from typing import Protocol

from agent.detect.model import Finding

# (type, segment, start, end, score, verdict, norm): a Finding as a tuple.
Row = tuple[str, int, int, int, float, str, str]
# One part's findings as columns: types, verdicts, norms, segment indices (same length).
Batch = tuple[list[str], list[str], list[str], list[int]]
# Findings of one type from one part, in order: type, verdicts, norms, segment indices.
TypeBatch = tuple[str, list[str], list[str], list[int]]

_BATCH = itemgetter(0, 5, 6, 1)


class ColumnarPart(Protocol):
    def __len__(self) -> int: ...

    def rows(self) -> list[Row]: ...

    def batch(self) -> Batch: ...

    def by_type(self) -> list[TypeBatch]: ...


Part = list[Row] | ColumnarPart


class ScanResult:
    """Findings ordered by segment, then (mostly) by offset; ``bytes_scanned`` counts segment
    bytes (+1 separator each) read before the scan ended; ``timed_out``: the deadline passed and
    the findings are partial."""

    __slots__ = ("parts", "timed_out", "bytes_scanned", "_findings")

    def __init__(self, findings: Iterable[Finding] | None = None, timed_out: bool = False,
                 bytes_scanned: int = 0):
        self.parts: list[Part] = []
        self.timed_out = timed_out
        self.bytes_scanned = bytes_scanned
        self._findings: list[Finding] | None = None
        if findings is not None:
            self._findings = list(findings)
            self.parts.append([(f.type, f.segment, f.start, f.end, f.score, f.verdict, f.norm)
                               for f in self._findings])

    @property
    def findings(self) -> list[Finding]:
        if self._findings is None:
            self._findings = [Finding(*r) for r in self.rows()]
        return self._findings

    @property
    def count(self) -> int:
        """Number of findings, without building them."""
        return sum(map(len, self.parts))

    def rows(self) -> Iterator[Row]:
        """Every finding as a tuple, in order."""
        for part in self.parts:
            yield from (part if isinstance(part, list) else part.rows())

    def batches(self) -> Iterator[Batch]:
        """The findings as columns (types, verdicts, norms, segments), part by part, in order."""
        for part in self.parts:
            if not part:
                continue
            if isinstance(part, list):
                types, verdicts, norms, segs = (list(c) for c in zip(*map(_BATCH, part),
                                                                         strict=True))
                yield types, verdicts, norms, segs
            else:
                yield part.batch()

    def by_type(self) -> Iterator[TypeBatch]:
        """The findings grouped by type within each part, in order (see ``group``): what a
        per-type summary needs, without a Python step per finding."""
        for part in self.parts:
            if not part:
                continue
            if isinstance(part, list):
                yield from group(*(list(c) for c in zip(*map(_BATCH, part), strict=True)))
            else:
                yield from part.by_type()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScanResult):
            return NotImplemented
        return (self.timed_out == other.timed_out and self.bytes_scanned == other.bytes_scanned
                and list(self.rows()) == list(other.rows()))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        # Counts only: findings carry raw values (norm) that must not reach a log line.
        return (f"ScanResult(findings={self.count}, timed_out={self.timed_out}, "
                f"bytes_scanned={self.bytes_scanned})")


def group(types: list[str], verdicts: list[str], norms: list[str],
          segs: list[int]) -> list[TypeBatch]:
    """Split columns by type: one batch per type, types in order of first occurrence, each
    type's findings in their order."""
    if not types:
        return []
    if types.count(types[0]) == len(types):
        return [(types[0], verdicts, norms, segs)]
    out = []
    for t in dict.fromkeys(types):
        sel = list(map(eq, types, repeat(t)))
        out.append((t, list(compress(verdicts, sel)), list(compress(norms, sel)),
                    list(compress(segs, sel))))
    return out
