"""The table fast path: delimited rows whose column header decides what a value is.

A person-records CSV is the densest input the scanner sees: every row holds an SSN, a phone
number and an e-mail address. The general path pays a Python callback, a handler call, a
context decision and an object per value (about 5 µs: 7 MB/s). Yet in such a table most values
need no per-value decision at all: a cell that is exactly one number shape, under a header
that names candidate types, is decided by the header; a cell that is exactly one plain e-mail
address is one (e-mail ignores context). So whole columns are decided at once:

1. The segment is cut into blocks of whole lines. A line with exactly one delimiter per header
   column (delimiters inside quotes do not count, as in ``ScanState.fixed_evidence``) and
   shorter than ``MAX_ROW`` is a *regular row*; one ``split`` turns a block's regular rows into
   cells (``table_layout.Layout``), and each column is joined into one buffer
   ("cell\\ncell\\n...").
2. Number columns (header with terms): every cell's shape (``_SHAPE``) is looked up once per
   distinct shape: does exactly one shape pattern match the cell whole, and does the header
   decide (``NumberRouter.cell_plan``)? Then the plan's detector validates the whole column:
   one hyperscan pass of its invalid-value patterns (``NumberDetector.invalid_patterns``) or
   ``validate_many``.
3. E-mail cells: one hyperscan pass flags lines that are not a plain address (a fixed list of
   structural faults, ``_EMAIL_FAULTS``) or that contain a number shape; the others are
   decided by their domain, checked once per distinct domain (``EmailDetector.domain_ok``).
4. Everything else is scanned: the undecided cells, column by column, with the two dense
   pattern sets (number shapes and the e-mail trigger, which cannot match across a delimiter,
   quote or line end); irregular lines whole; and the whole segment once with every other
   pattern (secrets, markings, ICD-10 ...), which rarely match.
5. A line where any of those matches ends, or that a finding from one of them overlaps, is a
   *general line*: all its matches, including the ones the decided cells would have produced,
   go through the detectors' handlers in order, exactly as in the general path.

Decided findings stay columnar (``table_run.TableRun``): counts, distinct values and samples
come from lists; offsets and ``Finding`` objects are computed only when asked for. The general
path (``Scanner(fast_tables=False)``) is the reference: tests/detect/test_detect_tables.py and
bench/bench_scan.py compare the two.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import TYPE_CHECKING, Any

import hyperscan

from agent.detect import entities as E
from agent.detect.detectors.base import CHECKSUM_BONUS, SCORE_FORMAT, SCORE_HEADER, Pattern
from agent.detect.detectors.email import EmailDetector
from agent.detect.detectors.number import _SHAPE, NumberRouter
from agent.detect.hsutil import ThreadScratch
from agent.detect.result import Row
from agent.detect.scanner import DEADLINE_EVERY, OVERLAP, ScanState
from agent.detect.table_layout import Layout
from agent.detect.table_run import BlockFindings, Column, TableRun

if TYPE_CHECKING:
    from agent.detect.context import Term
    from agent.detect.detectors.base import NumberDetector
    from agent.detect.scanner import Scanner
    from agent.extract.model import Segment

FAST_DELIMITERS = frozenset(b",\t;|")  # never inside a number shape or an e-mail address
MIN_TABLE = 64 * 1024       # smaller tables: the general path is as quick (and only segments
                            # of scanner.JOIN_BELOW bytes or more are scanned alone)
BLOCK_BYTES = 1024 * 1024   # lines per block: bounds memory and the time between deadline checks
GENERAL_SHARE = 4           # a block with more than 1/4 of its lines general is scanned the
                            # general way (the fast path's own work would be wasted on it)
RETRY_EVERY = 8             # after such a block, the next ones go the general way directly,
                            # but every 8th tries the fast path again
_NOT_DIGITS_NL = bytes(c for c in range(256) if not (48 <= c <= 57 or c == 10))
_MISSING = object()
_END = itemgetter(2)

# Lines ("\n" + cell + "\n") that are not one plain address. A cell with none of these faults is
# local@domain with a local part of 1-64 address characters, not starting with '.' or "'" and not
# ending with "'" (so the e-mail trigger fires exactly once, at its '@', and on_match's local
# part is the whole of it), and a domain starting with a letter or digit.
_EMAIL_FAULTS = (
    rb"\n[^@\n]*\n",              # no '@' (an empty cell too)
    rb"@[^\n]*@",                 # a second '@'
    rb"\n[.'@]",                  # local part empty, or starting with '.' or "'"
    rb"'@",                       # local part ending with "'"
    rb"\n[^@\n]{65}",             # local part longer than 64
    rb"[^A-Za-z0-9._%+\-'@\n]",   # a byte no address has (space, quote, non-ASCII ...)
    rb"@[^\n]*[_%+']",            # a local-part character in the domain
    rb"@[^A-Za-z0-9]",            # domain not starting with a letter or digit
)


@dataclass(frozen=True, slots=True)
class _Decision:
    """What the router does with a cell that is exactly one number shape, under a header."""

    pid: int            # the one shape pattern that matches the cell whole
    raw: bool           # validated as written (letter-led shapes), else as digits only
    plan: tuple         # _Candidates in order, the first valid one is reported; () = nothing
    outcome: tuple      # cells with equal outcomes are validated and reported alike


class _Db:
    """A hyperscan database with one scratch space per thread."""

    def __init__(self, exprs: Sequence[bytes], ids: Sequence[int], flags: Sequence[int]):
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.db.compile(expressions=list(exprs), ids=list(ids), elements=len(exprs),
                        flags=list(flags))
        self._scratches = ThreadScratch(self.db)

    @classmethod
    def of(cls, patterns: Sequence[Pattern], pids: Sequence[int]) -> _Db | None:
        if not pids:
            return None
        return cls([patterns[i].regex for i in pids], pids, [patterns[i].flags for i in pids])

    def _scratch(self) -> hyperscan.Scratch:
        return self._scratches.get()

    def matches(self, data: bytes | memoryview) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        self.db.scan(data, match_event_handler=_record, context=out, scratch=self._scratch())
        out.sort(key=_END)
        return out


def _record(pid: int, frm: int, to: int, flags: int, out: list) -> None:
    out.append((pid, frm, to))


def _lines_hit(framed: bytes, found: list[tuple[int, int, int]]) -> set[int]:
    """Lines of ``framed`` ("\n" + line + "\n" + ... + "\n", numbered from 0) in which the
    matches (sorted by end) end; a match may end with the line's closing newline."""
    out = set()
    line, seen = -1, 0
    for _, _, to in found:
        line += framed.count(b"\n", seen, to - 1)
        seen = to - 1
        out.add(line)
    return out


def _line_end(data: bytes, x: int) -> int:
    """Offset after the line holding data[x] (the segment end for the last line)."""
    if x >= len(data):
        return len(data)
    return data.find(b"\n", x) + 1 or len(data)


class TablePath:
    """The fast path's compiled state for one Scanner; shared by threads."""

    def __init__(self, scanner: Scanner):
        self.scanner = scanner
        handlers = scanner._handlers
        patterns = [p for _, _, p in handlers]
        owners = [h.__self__ for h, _, _ in handlers]
        self.router = next((d for d in scanner.detectors if type(d) is NumberRouter), None)
        self.email = next((d for d in scanner.detectors if type(d) is EmailDetector), None)
        shape_pids = [i for i, o in enumerate(owners) if o is self.router]
        email_pids = [i for i, o in enumerate(owners) if o is self.email]
        self.enabled = bool(shape_pids) and len(email_pids) == 1
        self.patterns = patterns
        self.back = [back for _, back, _ in handlers]
        if not self.enabled:
            return
        self.email_pid = email_pids[0]
        dense = set(shape_pids) | set(email_pids)
        self._other = _Db.of(patterns, [i for i in range(len(patterns)) if i not in dense])
        self._dense = _Db.of(patterns, sorted(dense))
        self._shapes = _Db.of(patterns, shape_pids)
        # Whether a buffer holds any number shape at all: one report per pattern at most.
        self._any_shape = _Db([patterns[i].regex for i in shape_pids], shape_pids,
                              [(patterns[i].flags & ~hyperscan.HS_FLAG_SOM_LEFTMOST)
                               | hyperscan.HS_FLAG_SINGLEMATCH for i in shape_pids])
        self._faults = _Db(_EMAIL_FAULTS, range(len(_EMAIL_FAULTS)), [0] * len(_EMAIL_FAULTS))
        self._invalid: dict[tuple[int, int], _Db | None] = {}
        self._decisions: dict[tuple, _Decision | None] = {}
        self._domains: dict[bytes, bool] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ which segments

    def segments(self, segments: Sequence[Segment], big: list[int],
                 pw: list[int]) -> frozenset[int]:
        if not self.enabled:
            return frozenset()
        return frozenset(k for k in big if self._eligible(segments[k]) and k not in pw)

    @staticmethod
    def _eligible(seg: Segment) -> bool:
        t = seg.table
        return (t is not None and len(t.delimiter) == 1 and t.delimiter[0] in FAST_DELIMITERS
                and bool(t.header) and len(seg.data) >= MIN_TABLE)

    # ------------------------------------------------------------------ scan

    def scan(self, segments: Sequence[Segment], starts: list[int], k: int,
             deadline: float | None, parts: list) -> bool | None:
        """Findings of table segment k, appended to ``parts``. False when the deadline passed
        (what was found so far is kept); None, with nothing appended, when a finding spans
        what the fast path treats apart and the segment must take the general path."""
        tab = _Table(self, segments, starts, k)
        data = tab.data
        out: list = []
        a, size = 0, len(data)
        blocks = 0
        while a < size:
            if a and deadline is not None and time.monotonic() >= deadline:
                parts.extend(out)
                return False
            b = _line_end(data, a + BLOCK_BYTES)
            blocks += 1
            while True:
                other = self._other_keys(data, a, b)
                # Tables whose rows mostly need the handlers stay on the general way, trying
                # the fast one again now and then.
                if tab.general and blocks % RETRY_EVERY:
                    got = self._general_block(tab, a, b, other, deadline)
                else:
                    got = self._block(tab, a, b, other, deadline)
                if not isinstance(got, int):
                    break
                if got < 0:
                    return None
                b = _line_end(data, got - 1)  # a finding runs past the block: take its lines
            block_parts, done = got
            out.extend(block_parts)
            if not done:
                parts.extend(out)
                return False
            a = b
        parts.extend(out)
        return True

    def _general_block(self, tab: _Table, a: int, b: int, other: list[int],
                       deadline: float | None) -> tuple[list, bool] | int:
        """The block as the general path sees it: every match, the dense patterns' too,
        through the handlers once (for blocks where most lines would go there anyway)."""
        tab.general = True
        keys = self._window_keys(self._dense, tab.data, a, b) + other
        keys.sort()
        rows, done = self._replay(tab, keys, deadline)
        if rows:
            if min(r[2] for r in rows) < a:
                return -1
            end = max(r[3] for r in rows)
            if end > b:
                return end
        return ([rows] if rows else []), done

    def _other_keys(self, data: bytes, a: int, b: int) -> list[int]:
        """Keys of the rare patterns' matches ending in data[a:b]."""
        return self._window_keys(self._other, data, a, b)

    def _window_keys(self, db: _Db | None, data: bytes, a: int, b: int) -> list[int]:
        """Keys of db's matches ending in data[a:b], as a scan of the whole segment reports
        them: the block is scanned widened by OVERLAP on both sides, as the general path
        scans a large segment in windows."""
        if db is None:
            return []
        ws = max(0, a - OVERLAP)
        view = memoryview(data)[ws:min(len(data), b + OVERLAP)]
        return [self._key(pid, ws + frm, ws + to) for pid, frm, to in db.matches(view)
                if a < ws + to <= b]

    def _block(self, tab: _Table, a: int, b: int, other: list[int],
               deadline: float | None) -> tuple[list, bool] | int:
        lay = Layout(tab.data[a:b], tab.delim, tab.ncols)
        ncols = tab.ncols
        joined = [b"\n".join(lay.flat[c::ncols]) for c in range(ncols)]
        # Columns that can hold decided cells: numbers under a header with terms, addresses.
        maybe = [c for c in range(ncols)
                 if (tab.terms[c] and self._any_shape.matches(joined[c]))  # type: ignore
                 or joined[c].find(b"@") >= 0]
        plain = sorted(set(range(ncols)) - set(maybe))
        # The undecided columns first: when they put most lines in the handlers' hands, the
        # block goes the general way before any column work.
        limit = lay.nlines() // GENERAL_SHARE if GENERAL_SHARE else -1
        general = self._rest(tab, lay, plain, joined, {}, a, limit)
        if general is None:
            return self._general_block(tab, a, b, other, deadline)
        general += other + self._irregular(lay, a)
        line_starts = [a + x for x in lay.starts()] if general else []
        if general and self._mostly_general(general, line_starts, lay):
            return self._general_block(tab, a, b, other, deadline)
        cols = self._columns(tab, lay, maybe, joined)
        general += self._rest(tab, lay, maybe, joined, cols, a) or []
        tab.general = False
        block = BlockFindings(tab, a, b, lay, [c for c in cols.values() if c is not None])
        if not general:
            return ([TableRun(block, 0, lay.nrows)] if block.cols else []), True
        general.sort()
        line_starts = line_starts or [a + x for x in lay.starts()]
        if self._mostly_general(general, line_starts, lay):
            return self._general_block(tab, a, b, other, deadline)
        # Lines whose findings come from the handlers: where a general match ends, and what
        # a finding from one overlaps (a private key block spans lines).
        glines = {bisect_right(line_starts, (key >> 40) - 1) - 1 for key in general}
        spans = self._spans(tab, general, deadline)
        if spans is None:
            return [], False
        for s, e in spans:
            if s < a:
                return -1
            if e > b:
                return e
            glines.update(range(bisect_right(line_starts, s) - 1,
                                bisect_right(line_starts, e - 1)))
        glines.discard(lay.nlines())
        keys = general + self._predicted(tab, lay, cols, glines, line_starts)
        keys.sort()
        rows, done = self._replay(tab, keys, deadline)
        return self._parts(block, lay, sorted(glines), line_starts, rows), done

    # ------------------------------------------------------------------ decided columns

    @staticmethod
    def _mostly_general(keys: list[int], line_starts: list[int], lay: Layout) -> bool:
        lines = {bisect_right(line_starts, (key >> 40) - 1) - 1 for key in keys}
        return len(lines) * GENERAL_SHARE > lay.nlines()

    def _columns(self, tab: _Table, lay: Layout, which: list[int],
                 joined: list[bytes]) -> dict[int, Column | None]:
        """Per column in ``which``: its decided cells in this block (None: none)."""
        ncols, flat = tab.ncols, lay.flat
        out: dict[int, Column | None] = {}
        for c in which:
            cells = flat[c::ncols]
            col = None
            if tab.terms[c] and cells:
                col = self._numbers(c, tab.terms[c], cells, joined[c])
            if (col is None or col.fast is not None) and joined[c].find(b"@") >= 0:
                col = _merge(col, self._emails(c, cells, joined[c]))
            out[c] = col
        return out

    def _decision(self, terms: tuple[Term, ...], shape: bytes) -> _Decision | None:
        key = (terms, shape)
        got = self._decisions.get(key, _MISSING)
        if got is _MISSING:
            got = self._decide(terms, shape)
            if len(self._decisions) > 4096:  # shapes come from the outside
                self._decisions.clear()
            self._decisions[key] = got
        return got  # type: ignore[return-value]

    def _decide(self, terms: tuple[Term, ...], shape: bytes) -> _Decision | None:
        """A cell of this shape is decided when exactly one shape pattern matches it whole
        (then on_match takes it as it is: a delimiter, line end or segment edge next to it is
        no separator, so no group is added, no '1' prefix taken, and it is not part of a
        longer number) and the header decides."""
        if not shape or b"\n" in shape:
            return None
        hits = self._shapes.matches(b"\n" + shape + b"\n")  # type: ignore[union-attr]
        if len(hits) != 1:
            return None
        pid, frm, to = hits[0]
        back = self.back[pid]
        if (to - back if back else frm) != 1 or to != len(shape) + 1:
            return None
        plan = self.router.cell_plan(shape, terms)  # type: ignore[union-attr]
        if plan is None:
            return None
        raw = self.patterns[pid].data == "a"
        outcome = (raw, tuple((c.det, c.entity, c.checksum, c.extend) for c in plan))
        return _Decision(pid, raw, plan, outcome)

    def _numbers(self, c: int, terms: tuple[Term, ...], cells: list[bytes],
                 joined: bytes) -> Column | None:
        n = len(cells)
        shaped = joined.translate(_SHAPE)
        decisions = {s: self._decision(terms, s) for s in _distinct(shaped, n)}
        outcomes = {d.outcome: d for d in decisions.values() if d is not None}
        if not outcomes:
            return None
        if len(outcomes) == 1 and None not in decisions.values():
            d = next(iter(outcomes.values()))
            values = joined if d.raw else joined.translate(None, _NOT_DIGITS_NL)
            return self._column(c, d.plan, values, n, None)
        # Mixed: the header row, empty or odd cells, several plans. One group per outcome.
        per_cell = list(map(decisions.__getitem__, shaped.split(b"\n")))
        fast = list(map(is_not, per_cell, repeat(None)))
        if len(outcomes) == 1:
            d = next(iter(outcomes.values()))
            values = b"\n".join(compress(cells, fast))
            if not d.raw:
                values = values.translate(None, _NOT_DIGITS_NL)
            group = self._column(c, d.plan, values, fast.count(True), None)
            it = iter(group.norms)
            spread = [next(it) if f else None for f in fast]
            info = group.info
            if isinstance(info, list):
                it = iter(info)
                info = [next(it) if f else None for f in fast]
            return Column(c, spread, info, fast)
        norms: list[str | None] = [None] * n
        info: list[tuple | None] = [None] * n
        for d in outcomes.values():
            idx = [i for i, x in enumerate(per_cell) if x is not None and x.outcome == d.outcome]
            values = b"\n".join(cells[i] for i in idx)
            if not d.raw:
                values = values.translate(None, _NOT_DIGITS_NL)
            group = self._column(c, d.plan, values, len(idx), None)
            for j, i in enumerate(idx):
                norms[i] = group.norms[j]
                info[i] = group.info_of(j) if norms[i] is not None else None
        return Column(c, norms, info, fast)

    def _column(self, c: int, plan: tuple, values: bytes, n: int,
                fast: list[bool] | None) -> Column:
        """Validate n '\\n'-separated values by the plan: the first candidate that accepts a
        value reports it (verdict 'header')."""
        if not plan:
            return Column(c, [None] * n, None, fast)
        first = plan[0]
        norms = self._validate(first.det, values, n)
        if len(plan) == 1 or None not in norms:
            return Column(c, norms, _header_info(first), fast)
        info: list[tuple | None] = [_header_info(first) if x is not None else None
                                    for x in norms]
        vals = values.split(b"\n")
        for i in [i for i, x in enumerate(norms) if x is None]:
            for cand in plan[1:]:
                norm = cand.det.validate(vals[i])
                if norm is not None:
                    norms[i], info[i] = norm, _header_info(cand)
                    break
        return Column(c, norms, info, fast)

    def _validate(self, det: NumberDetector, values: bytes, n: int) -> list[str | None]:
        """det.validate over n '\\n'-separated values: one hyperscan pass when all have the
        same length and the detector describes its invalid values, else value by value."""
        width = values.find(b"\n") if n > 1 else len(values)
        if width > 0 and values[width::width + 1] == b"\n" * (n - 1) \
                and len(values) == n * (width + 1) - 1:
            db = self._invalid_db(det, width)
            if db is not None:
                norms: list[str | None] = values.decode("ascii").split("\n")  # type: ignore
                framed = b"\n" + values + b"\n"
                for _, _, to in db.matches(framed):
                    norms[(to - width - 2) // (width + 1)] = None
                return norms
        return det.validate_many(values.split(b"\n"))

    def _invalid_db(self, det: NumberDetector, width: int) -> _Db | None:
        key = (id(det), width)
        if key not in self._invalid:
            exprs = det.invalid_patterns(width)
            db = None
            if exprs:
                framed = [rb"\n(?:" + e + rb")\n" for e in exprs]
                db = _Db(framed, range(len(framed)), [0] * len(framed))
            with self._lock:
                self._invalid[key] = db
        return self._invalid[key]

    def _emails(self, c: int, cells: list[bytes], joined: bytes) -> Column | None:
        """Cells that are one plain address: the trigger fires once, at its '@', and
        on_match's verdict depends on the domain alone."""
        n = len(cells)
        framed = b"\n" + joined + b"\n"
        bad = _lines_hit(framed, self._faults.matches(framed))
        if len(bad) == n:
            return None
        # A number shape inside an address (jo.1234567@x.org) is another match: not decided.
        bad |= _lines_hit(framed, self._shapes.matches(framed))  # type: ignore[union-attr]
        if len(bad) == n:
            return None
        info = (E.EMAIL, SCORE_FORMAT, "format", None)
        good = None
        if bad:  # the header row, empty cells, a few odd ones: leave them to the general path
            good = [i for i in range(n) if i not in bad]
            joined = b"\n".join([cells[i] for i in good])
        # Only address bytes remain (see _EMAIL_FAULTS): plain ASCII.
        norms: list[str | None] = joined.lower().decode("ascii").split("\n")  # type: ignore
        # One '@' per line (see _EMAIL_FAULTS): local parts and domains alternate.
        domains = joined.replace(b"\n", b"@").split(b"@")[1::2]
        ok = {d: self._domain_ok(d) for d in set(domains)}
        if not all(ok.values()):
            for i, d in enumerate(domains):
                if not ok[d]:
                    norms[i] = None
        if good is None:
            return Column(c, norms, info, None)
        full: list[str | None] = [None] * n
        fast = [False] * n
        for j, i in enumerate(good):
            full[i] = norms[j]
            fast[i] = True
        return Column(c, full, info, fast)

    def _domain_ok(self, domain: bytes) -> bool:
        got = self._domains.get(domain)
        if got is None:
            got = self.email.domain_ok(domain)  # type: ignore[union-attr]
            if len(self._domains) > 65536:
                self._domains.clear()
            self._domains[domain] = got
        return got

    # ------------------------------------------------------------------ the rest

    def _rest(self, tab: _Table, lay: Layout, which: list[int], joined: list[bytes],
              cols: dict[int, Column | None], a: int, limit: int = -1) -> list[int] | None:
        """Keys of the dense patterns' matches in the undecided cells of these columns, as a
        scan of the whole segment would produce them; None as soon as there are more than
        ``limit`` (when limit >= 0): most lines would go to the handlers."""
        keys: list[int] = []
        dense = self._dense
        ncols = tab.ncols
        count = 0
        for c in which:
            col = cols.get(c)
            if col is not None and col.fast is None:
                continue
            if col is None:
                buf = joined[c]
            else:
                buf = b"\n".join(b"" if f else x for x, f in zip(lay.flat[c::ncols], col.fast,
                                                                          strict=True))
            found = dense.matches(buf)  # type: ignore[union-attr]
            count += len(found)
            if 0 <= limit < count:
                return None
            row, seen = 0, 0
            for pid, frm, to in found:
                row += buf.count(b"\n", seen, to)
                seen = to
                at = a + lay.cell_start(row, c, ncols) - (buf.rfind(b"\n", 0, to) + 1)
                keys.append(self._key(pid, at + frm, at + to))
        return keys

    def _irregular(self, lay: Layout, a: int) -> list[int]:
        """Keys of the dense patterns' matches in the block's irregular lines."""
        irregular = lay.irregular()
        if not irregular:
            return []
        keys: list[int] = []
        buf = b"\n".join(lay.lines[i] for i in irregular)
        row, seen = 0, 0
        starts = lay.starts()
        for pid, frm, to in self._dense.matches(buf):  # type: ignore[union-attr]
            row += buf.count(b"\n", seen, to)
            seen = to
            at = a + starts[irregular[row]] - (buf.rfind(b"\n", 0, to) + 1)
            keys.append(self._key(pid, at + frm, at + to))
        return keys

    def _key(self, pid: int, frm: int, to: int) -> int:
        """The scanner's sort key of a match at data[frm:to] (``scanner._collect``): without
        start-of-match tracking hyperscan reports start 0, so the length field is ``to``."""
        length = to if self.back[pid] else to - frm
        return to << 40 | (length & 0xFFFFFF) << 16 | pid

    def _predicted(self, tab: _Table, lay: Layout, cols: dict[int, Column | None],
                   glines: set[int], line_starts: list[int]) -> list[int]:
        """Keys of the matches the decided cells of these lines produce (known from their
        shape: one shape pattern over the whole cell, or the e-mail trigger at its '@')."""
        keys = []
        ncols, flat = tab.ncols, lay.flat
        for li in glines:
            r = lay.row_of_line(li)
            if r is None:
                continue
            at = line_starts[li]
            for c in range(ncols):
                cell = flat[r * ncols + c]
                col = cols.get(c)
                if col is not None and col.decided(r):
                    if b"@" in cell:
                        x = at + cell.index(b"@")
                        keys.append(self._key(self.email_pid, x - 1, x + 2))
                    else:
                        d = self._decision(tab.terms[c], cell.translate(_SHAPE))
                        assert d is not None
                        keys.append(self._key(d.pid, at, at + len(cell)))
                at += len(cell) + 1
        return keys

    # ------------------------------------------------------------------ handlers

    def _spans(self, tab: _Table, keys: list[int],
               deadline: float | None) -> list[tuple[int, int]] | None:
        """What the handlers would report for these matches (spans, before one value/one type
        resolution): the lines those findings touch go through the handlers. None when the
        deadline passed."""
        spans: list = []
        st = _SpanRecorder(self.scanner, tab.data, tab.starts, tab.segments, tab.k, tab.k + 1,
                           spans)
        st.set_segment(tab.k)
        return spans if self._run(st, keys, deadline) else None

    def _replay(self, tab: _Table, keys: list[int], deadline: float | None) -> tuple[list, bool]:
        out: list[Row] = []
        st = ScanState(self.scanner, tab.data, tab.starts, tab.segments, tab.k, tab.k + 1, out)
        st.set_segment(tab.k)
        return out, self._run(st, keys, deadline)

    def _run(self, st: ScanState, keys: list[int], deadline: float | None) -> bool:
        handlers = self.scanner._handlers
        countdown = DEADLINE_EVERY
        for key in keys:
            to = key >> 40
            on_match, back, pat = handlers[key & 0xFFFF]
            on_match(st, pat, to - (back or (key >> 16) & 0xFFFFFF), to)
            countdown -= 1
            if not countdown:
                countdown = DEADLINE_EVERY
                if deadline is not None and time.monotonic() >= deadline:
                    return False
        return True

    def _parts(self, block: BlockFindings, lay: Layout, glines: list[int],
               line_starts: list[int], rows: list[Row]) -> list:
        """The block's findings in order: runs of decided rows between groups of general
        lines, whose findings are the handlers' rows."""
        parts: list = []
        li = 0      # first line not yet covered
        ri = 0      # first handler row not yet placed
        g = 0
        nlines = lay.nlines()
        while li < nlines:
            if g < len(glines):
                g0 = glines[g]
                g1 = g0
                while g + 1 < len(glines) and glines[g + 1] == g1 + 1:
                    g += 1
                    g1 = glines[g]
                g += 1
            else:
                g0 = g1 = nlines
            if li < g0 and block.cols:
                r0 = _first_row(lay, li)
                r1 = _first_row(lay, g0)
                if r0 < r1:
                    parts.append(TableRun(block, r0, r1))
            if g0 < nlines:
                end = line_starts[g1 + 1]
                rj = ri
                while rj < len(rows) and rows[rj][2] < end:
                    rj += 1
                if rj > ri:
                    parts.append(rows[ri:rj])
                ri = rj
            li = g1 + 1
        if ri < len(rows):
            parts.append(rows[ri:])
        return parts


def _distinct(joined: bytes, n: int) -> list[bytes]:
    """The distinct values of joined ("v\nv\n...", n values): guessed from the first values
    and verified by counting whole-value occurrences (C-level); split when the guess misses."""
    guess = dict.fromkeys(joined[:4096].split(b"\n")[:64])
    if len(joined) > 4096:
        guess.pop(joined[:4096].rpartition(b"\n")[2], None)  # maybe cut short
    if guess and b"" not in guess:
        framed = b"\n" + joined.replace(b"\n", b"\n\n") + b"\n"
        if sum(framed.count(b"\n" + v + b"\n") for v in guess) == n:
            return list(guess)
    return list(dict.fromkeys(joined.split(b"\n")))


def _first_row(lay: Layout, li: int) -> int:
    """Index of the first regular row at or after line li."""
    return li if lay.reg is None else bisect_left(lay.reg, li)


def _header_info(cand: Any) -> tuple:
    return (cand.entity, SCORE_HEADER + CHECKSUM_BONUS if cand.checksum else SCORE_HEADER,
            "header", cand.det if cand.extend else None)


def _merge(a: Column | None, b: Column | None) -> Column | None:
    """Number and e-mail decisions of one column (they never decide the same cell)."""
    if a is None or b is None:
        return a or b
    n = len(a.norms)
    fa = a.fast or [True] * n
    fb = b.fast or [True] * n
    norms = [x if f else y for x, y, f in zip(a.norms, b.norms, fa, strict=True)]
    info = [(a.info_of(i) if fa[i] else b.info_of(i)) if norms[i] is not None else None
            for i in range(n)]
    fast = [x or y for x, y in zip(fa, fb, strict=True)]
    return Column(a.c, norms, info, fast)


class _SpanRecorder(ScanState):
    __slots__ = ()

    def emit(self, entity: str, s: int, e: int, score: float, verdict: str, norm: str) -> None:
        self.out.append((s - self.lo, e - self.lo))


class _Table:
    """One table segment being scanned."""

    __slots__ = ("data", "k", "delim", "ncols", "terms", "segments", "starts", "general")

    def __init__(self, path: TablePath, segments: Sequence[Segment], starts: list[int],
                 k: int):
        seg = segments[k]
        table = seg.table
        assert table is not None
        self.data = seg.data
        self.k = k
        self.delim = table.delimiter
        self.ncols = len(table.header)
        self.terms = path.scanner.header_terms(table)
        self.segments = segments
        self.starts = starts
        self.general = False   # the last block went the general way


