"""The scanner: one hyperscan pass over all segments with every detector's patterns.

Small segments are joined into chunks (newline-separated, up to 1 MB each) so a JSON body of
300,000 tiny strings costs a handful of hyperscan calls, not 300,000; match offsets are mapped
back to segments with bisect. Segments of 64 KB and more are scanned in place (copying them
costs more than the per-chunk work saved); a segment larger than a chunk is scanned in
overlapping windows. The match callback only records end, start and pattern id (packed in one
int): Python work (validation, context) runs afterwards and only on candidates. Findings never
cross segments; they are returned as compact rows (``agent.detect.result``).

Tables (CSV/TSV bodies, spreadsheet sheets) of 64 KB and more take the table fast path
(``agent.detect.tables``) instead, which returns the same findings.

Threads: the compiled database is shared and read-only; each thread gets its own hyperscan
scratch space (and the context index does the same), so one ``Scanner`` serves every worker.

Time: ``deadline`` is a ``time.monotonic()`` value. It is checked between chunks and every few
thousand candidates; when it passes, ``scan`` returns what it found so far with
``timed_out=True`` and the caller treats the body as not fully inspected.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate
from operator import attrgetter, itemgetter
from typing import Any

import hyperscan

from agent.detect.config import DetectorConfig, load_detector_config
from agent.detect.context import ContextIndex, Term
from agent.detect.detectors import Detector, Pattern, default_detectors
from agent.detect.detectors.credentials import CredentialsDetector
from agent.detect.hsutil import ThreadScratch
from agent.detect.result import Row, ScanResult
from agent.extract.model import Segment, TableLayout

CHUNK_BYTES = 1024 * 1024       # bytes per hyperscan call: bounds the match list (memory) and
                                 # the time between deadline checks
JOIN_BELOW = 64 * 1024           # smaller segments are joined into chunks, larger scanned alone
                                 # (measured: prose of 2-64 KB documents scans 6% faster joined
                                 # than one call per document from 16 KB on)
OVERLAP = 4096                   # a segment larger than a chunk is scanned in overlapping windows
MAX_ROW = 64 * 1024              # longest table line whose column is worked out
MAX_FIELD_VALUE = 256            # longest field value its field name speaks for
DEADLINE_EVERY = 2048            # candidates between deadline checks
SEP = b"\n"                      # between segments: a word boundary no pattern crosses
_DATA = attrgetter("data")
_FIELD = attrgetter("field")
_PLUS1 = (1).__add__
_SEGMENT_START = itemgetter(1, 2)


def _collect(pid: int, frm: int, to: int, flags: int, append: Any) -> None:
    # One int per match, not a tuple: ints are not tracked by the garbage collector (half a
    # million tuples per dense body cost a third of the time in GC passes) and sort faster.
    # Layout: end << 40 | (end - start) << 16 | pattern id; ordering by the int is by end.
    # Without start-of-match tracking hyperscan reports start 0: that field is then unused.
    append(to << 40 | ((to - frm) & 0xFFFFFF) << 16 | pid)


class ScanState:
    """Per-chunk state handed to detectors: the buffer, the current segment and its evidence.

    Offsets given to detectors are offsets in ``buf`` (the chunk); ``lo``/``hi`` bound the
    current segment in it. ``starts`` holds every segment's offset in the virtual concatenation
    of all segments, ``base`` is the chunk's offset in it."""

    __slots__ = ("buf", "lo", "hi", "seg", "field", "fixed", "out", "memo", "_ctx", "_starts",
                 "_segments",
                 "_base", "_first", "_last", "_field_terms", "_col_terms", "_delim",
                 "_delim_byte", "_scanner", "_pw_segments")

    def __init__(self, scanner: Scanner, buf: bytes, starts: list[int],
                 segments: Sequence[Segment], first: int, last: int, out: list[Row],
                 pw_segments: frozenset[int] = frozenset()):
        self.buf = buf
        self.lo = self.hi = -1
        self.seg = -1
        self.field: str | None = None
        self.fixed = False   # the segment has a field name or column headers
        self.out = out
        self.memo: dict[str, Any] = {}   # detectors' notes about this chunk (see private_key)
        self._ctx = scanner.context
        self._scanner = scanner
        self._starts = starts
        self._segments = segments
        self._base = starts[first]
        self._first = first
        self._last = last
        self._field_terms: tuple[Term, ...] = ()
        self._col_terms: list[tuple[Term, ...]] | None = None
        self._delim = b","
        self._delim_byte = 44
        self._pw_segments = pw_segments

    def locate(self, offset: int) -> None:
        """Make the segment holding buf[offset] current."""
        self.set_segment(bisect_right(self._starts, offset + self._base, self._first,
                                      self._last) - 1)

    def set_segment(self, k: int) -> None:
        seg = self._segments[k]
        self.seg = k
        self.lo = lo = self._starts[k] - self._base
        self.hi = lo + len(seg.data)
        f = seg.field
        self.field = f
        # A field name describes its value when the value is short ("ssn": "536225555"); in a
        # long free-text field ("comment") the words around each value decide instead.
        self._field_terms = self._ctx.names(f) if f and self.hi - lo <= MAX_FIELD_VALUE else ()
        table = seg.table
        self.fixed = bool(self._field_terms) or table is not None
        if table is None:
            self._col_terms = None
        else:
            self._col_terms = self._scanner.header_terms(table)
            self._delim = table.delimiter
            self._delim_byte = table.delimiter[0] if len(table.delimiter) == 1 else -1

    # ---------------------------------------------------------------- evidence

    def fixed_evidence(self, s: int) -> tuple[Term, ...] | None:
        """Terms in the field name or the column header of the value at s (None: neither)."""
        if self._field_terms:
            return self._field_terms
        ct = self._col_terms
        if ct is None:
            return None
        buf, lo = self.buf, self.lo
        first = s - MAX_ROW if s - MAX_ROW > lo else lo
        ls = buf.rfind(b"\n", first, s) + 1 or first
        if ls == first != lo:
            return None  # not a table row: a line this long has no usable column
        if self._delim_byte >= 0 and buf.find(b'"', ls, s) >= 0:
            # Quoted fields ("Smith, John"): delimiters inside quotes do not count; the parts
            # of the line at even positions between quotes are outside them.
            col = b"".join(buf[ls:s].split(b'"')[::2]).count(self._delim)
        else:
            col = buf.count(self._delim, ls, s)
        return ct[col] if col < len(ct) else None

    def window(self, s: int, e: int) -> list[Term]:
        return self._ctx.window(self.buf, s, e, self.lo, self.hi)

    def confirm(self, entity: str, s: int, e: int) -> str | None:
        """'header' or 'context' when the nearest relevant word names ``entity``; None when
        none does or a negative word comes first."""
        fixed = self.fixed_evidence(s)
        if fixed:
            for t in fixed:
                if entity in t.pos:
                    return "header"
                if entity in t.neg:
                    return None
        for t in self.window(s, e):
            if entity in t.pos:
                return "context"
            if entity in t.neg:
                return None
        return None

    # ---------------------------------------------------------------- output

    def emit(self, entity: str, s: int, e: int, score: float, verdict: str, norm: str) -> None:
        """Record a finding at buf[s:e] of the current segment. One value, one type: a finding
        overlapping earlier ones replaces them only if it beats each (higher score, or equal
        score and a longer span); matches arrive ordered by end, so overlaps are at the tail.

        Findings are plain tuples in ``Finding`` field order (see ``ScanResult``)."""
        seg = self.seg
        lo = self.lo
        out = self.out
        start, end = s - lo, e - lo
        if out:
            last = out[-1]
            while last[1] == seg and start < last[3] and last[2] < end:
                if score > last[4] or (score == last[4] and end - start > last[3] - last[2]):
                    out.pop()
                    if not out:
                        break
                    last = out[-1]
                else:
                    return
        if self._pw_segments and seg in self._pw_segments and entity != "PASSWORD":
            return  # the whole segment is a password value
        out.append((entity, seg, start, end, score, verdict, norm))


class Scanner:
    """Compiled detectors. ``Scanner()`` uses rules/detectors.yaml as shipped."""

    def __init__(self, config: DetectorConfig | None = None,
                 detectors: Sequence[Detector] | None = None, fast_tables: bool = True):
        """``fast_tables=False`` sends tables through the general path too (the reference the
        table path is tested and benchmarked against)."""
        self.fast_tables = fast_tables
        self._tables: Any = None      # agent.detect.tables.TablePath, built on first use
        self.config = config if config is not None else load_detector_config()
        self.context = ContextIndex(self.config)
        self.detectors = (list(detectors) if detectors is not None
                          else default_detectors(self.config))
        self._credentials = next((d for d in self.detectors if isinstance(d, CredentialsDetector)),
                                 None)
        self._handlers: list[tuple[Any, int, Pattern]] = []
        exprs: list[bytes] = []
        flags: list[int] = []
        for det in self.detectors:
            for p in det.patterns():
                self._handlers.append((det.on_match, p.offset, p))
                exprs.append(p.regex)
                flags.append(p.flags)
        if len(exprs) > 0xFFFF:
            raise ValueError(f"{len(exprs)} patterns: at most 65535 (dictionary terms included)")
        self.database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            self.database.compile(expressions=exprs, ids=list(range(len(exprs))),
                                  elements=len(exprs), flags=flags)
        except hyperscan.error as e:
            raise ValueError(f"cannot compile detector patterns: {e}") from None
        self._scratches = ThreadScratch(self.database)
        self._lock = threading.Lock()
        self._headers: dict[tuple[str, ...], list[tuple[Term, ...]]] = {}

    @property
    def patterns(self) -> list[Pattern]:
        return [p for _, _, p in self._handlers]

    def _scratch(self) -> hyperscan.Scratch:
        return self._scratches.get()

    def header_terms(self, table: TableLayout) -> list[tuple[Term, ...]]:
        got = self._headers.get(table.header)
        if got is None:
            got = [self.context.names(h) for h in table.header]
            if len(self._headers) > 1024:
                self._headers.clear()
            self._headers[table.header] = got
        return got

    def raw_scan(self, data: bytes) -> int:
        """Match count of one hyperscan pass with a trivial callback (benchmark baseline)."""
        n = 0

        def count(pid: int, frm: int, to: int, flags: int, ctx: Any) -> None:
            nonlocal n
            n += 1

        self.database.scan(data, match_event_handler=count, scratch=self._scratch())
        return n

    def scan(self, segments: Sequence[Segment], deadline: float | None = None) -> ScanResult:
        result = ScanResult()
        n = len(segments)
        if not n:
            return result
        datas = list(map(_DATA, segments))
        # Offsets in the virtual concatenation: segment k starts at starts[k], one SEP after each.
        starts = [0]
        starts.extend(accumulate(map(_PLUS1, map(len, datas))))
        pw = self._password_segments(segments)
        pwcol = self._password_column_segments(segments)
        # Segments this big are scanned where they are; joining copies bytes, and copying
        # costs more than a hyperscan call from a few KB on.
        big = [k for k, size in enumerate(map(len, datas)) if size >= JOIN_BELOW]
        tables = self._table_segments(segments, big, [*pw, *pwcol])
        scratch = self._scratch()
        parts = result.parts
        findings: list[Row] = []
        i = 0
        while i < n:
            if deadline is not None and time.monotonic() >= deadline:
                result.timed_out = True
                break
            nb = bisect_left(big, i)
            next_big = big[nb] if nb < len(big) else n
            if next_big == i:
                j = i + 1
            else:
                j = min(bisect_left(starts, starts[i] + CHUNK_BYTES, i + 1, n), next_big)
            done: bool | None = None
            if i in tables:
                if findings:
                    parts.append(findings)
                    findings = []
                # None: something in this table needs the general path after all.
                done = self._tables.scan(segments, starts, i, deadline, parts)
            if done is None:
                done = self._scan_general(datas, starts, segments, i, j, pw, deadline,
                                          findings, scratch, pwcol)
            result.bytes_scanned += starts[j] - starts[i]
            if not done:
                result.timed_out = True
                break
            i = j
        if findings:
            parts.append(findings)
        return result

    def _scan_general(self, datas: list[bytes], starts: list[int], segments: Sequence[Segment],
                      i: int, j: int, pw: list[int], deadline: float | None,
                      findings: list[Row], scratch: hyperscan.Scratch,
                      pwcol: dict[int, tuple[int, ...]] | None = None) -> bool:
        """Segments i..j-1 (joined) or segment i alone (in windows when it is large)."""
        if j == i + 1 and len(datas[i]) > CHUNK_BYTES + OVERLAP:
            mark = len(findings)
            done = self._scan_windows(datas[i], starts, segments, i, deadline, findings,
                                      scratch)
            if done and pwcol and i in pwcol:
                extra: list[Row] = []
                st = ScanState(self, datas[i], starts, segments, i, i + 1, extra)
                self._password_cells(st, i, pwcol[i])
                if extra:
                    findings[mark:] = sorted(findings[mark:] + extra, key=_SEGMENT_START)
            return done
        buf = datas[i] if j == i + 1 else SEP.join(datas[i:j])
        matches: list[int] = []
        self.database.scan(buf, match_event_handler=_collect, context=matches.append,
                           scratch=scratch)
        chunk_pw = [k for k in pw if i <= k < j] if pw else None
        chunk_cols = {k: c for k, c in pwcol.items() if i <= k < j} if pwcol else None
        return not (matches or chunk_pw or chunk_cols) or self._process(
            buf, starts, segments, i, j, matches, chunk_pw, deadline, findings,
            pwcol=chunk_cols)

    def _table_segments(self, segments: Sequence[Segment], big: list[int],
                        pw: list[int]) -> frozenset[int]:
        """Segments the table fast path takes in this scan (``agent.detect.tables``)."""
        if not self.fast_tables or not big:
            return frozenset()
        if self._tables is None:
            # Imported here: the table path builds ScanStates, so it imports this module.
            from agent.detect.tables import TablePath

            with self._lock:
                if self._tables is None:
                    self._tables = TablePath(self)
        return self._tables.segments(segments, big, pw)

    def _scan_windows(self, data: bytes, starts: list[int], segments: Sequence[Segment], k: int,
                      deadline: float | None, findings: list[Row],
                      scratch: hyperscan.Scratch) -> bool:
        """One large segment in CHUNK_BYTES windows (no copy: memoryview slices), each widened
        by OVERLAP on both sides so values across a window edge are seen whole; a match counts
        in the window where it starts. False when the deadline passed."""
        size = len(data)
        view = memoryview(data)
        a = 0
        while a < size:
            if a and deadline is not None and time.monotonic() >= deadline:
                return False
            b = min(size, a + CHUNK_BYTES)
            ws, we = max(0, a - OVERLAP), min(size, b + OVERLAP)
            matches: list[int] = []
            self.database.scan(view[ws:we], match_event_handler=_collect,
                               context=matches.append, scratch=scratch)
            if matches and not self._process(data, starts, segments, k, k + 1, matches, None,
                                             deadline, findings, (ws, a, b, we, size)):
                return False
            a = b
        return True

    def _password_segments(self, segments: Sequence[Segment]) -> list[int]:
        """Indices of segments whose field name is a password field (form field 'password')."""
        cred = self._credentials
        fields = list(map(_FIELD, segments))
        if cred is None or fields.count(None) == len(fields):
            return []
        is_pw = cred.field_is_password
        return [k for k, f in enumerate(fields) if f and is_pw(f)]

    def _password_column_segments(self, segments: Sequence[Segment]) -> dict[int, tuple[int, ...]]:
        """Table segments with password columns -> those columns (``credentials``)."""
        cred = self._credentials
        if cred is None:
            return {}
        out = {}
        for k, seg in enumerate(segments):
            t = seg.table
            if t is not None and t.header and (cols := cred.password_columns(t.header)):
                out[k] = cols
        return out

    def _password_cells(self, st: ScanState, k: int, columns: tuple[int, ...]) -> None:
        table = st._segments[k].table
        st.set_segment(k)
        self._credentials.on_password_columns(st, columns, table.delimiter, table.header)

    def _process(self, buf: bytes, starts: list[int], segments: Sequence[Segment], first: int,
                 last: int, matches: list[int], pw: list[int] | None,
                 deadline: float | None, findings: list[Row],
                 window: tuple[int, int, int, int, int] | None = None,
                 pwcol: dict[int, tuple[int, ...]] | None = None) -> bool:
        """Run detectors on one chunk's matches; False when the deadline passed.

        ``window`` = (scanned from, accept from, accept to, scanned to, segment size) when the
        matches come from a window of one large segment: offsets are shifted back into it,
        matches starting outside [accept from, accept to) belong to a neighbouring window,
        and a match ending at a window edge inside the segment may have made up its \\b."""
        out: list[Row] = []
        st = ScanState(self, buf, starts, segments, first, last, out,
                       frozenset(pw) if pw else frozenset())
        handlers = self._handlers
        matches.sort()
        completed = True
        countdown = DEADLINE_EVERY
        lo = hi = -1
        shift, acc_lo, acc_hi, cut = 0, 0, 1 << 62, -1
        if window is not None:
            shift, acc_lo, acc_hi, scanned_to, size = window
            cut = scanned_to if scanned_to < size else -1
        for key in matches:
            to = key >> 40
            on_match, back, pat = handlers[key & 0xFFFF]
            s = to - (back or (key >> 16) & 0xFFFFFF)
            if shift or cut >= 0:
                s += shift
                to += shift
                if s < acc_lo or s >= acc_hi or to == cut:
                    continue
            if s >= hi or s < lo:
                st.locate(s)
                lo, hi = st.lo, st.hi
                if s >= hi:
                    continue  # starts on a separator
            on_match(st, pat, s, to)
            countdown -= 1
            if not countdown:
                countdown = DEADLINE_EVERY
                if deadline is not None and time.monotonic() >= deadline:
                    completed = False
                    break
        if (pw or pwcol) and self._credentials is not None:
            pw_out: list[Row] = []
            st.out = pw_out
            for k in pw or ():
                st.set_segment(k)
                self._credentials.on_password_field(st)
            for k, columns in (pwcol or {}).items():
                self._password_cells(st, k, columns)
            if pw_out:
                out.extend(pw_out)
                out.sort(key=_SEGMENT_START)
        findings.extend(out)
        return completed
