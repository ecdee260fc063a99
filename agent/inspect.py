"""Inspection: body bytes + headers -> what confidential data it carries (extract, then detect).

The one function the proxy, `dlp-agent scan` and rule tests call. It never raises: any failure
becomes an ``uninspectable`` reason the policy acts on (fail closed for uploads by rule), and a
result is "clean" only when every byte was read and scanned.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import filterfalse, islice

from agent.detect.model import Finding
from agent.detect.result import ScanResult, group
from agent.extract import extract
from agent.extract.model import ExtractionResult, FileInfo, Limits, Segment, Uninspectable
from agent.extract.spool import SpilledSegment, read_all
from agent.masking import Hasher, mask

log = logging.getLogger(__name__)

MAX_SAMPLES = 3     # masked samples kept per type: enough to show an analyst the shape
MAX_HASHES = 50     # keyed hashes kept per type for correlation across incidents
MAX_WHERE = 5       # provenance strings kept per type


@dataclass(slots=True)
class Detection:
    """Summary of one entity type in one body: counts and masked evidence only."""

    type: str
    count: int = 0
    distinct: int = 0
    samples: list[str] = field(default_factory=list)   # masked
    hashes: list[str] = field(default_factory=list)    # keyed HMACs of distinct values
    where: list[str] = field(default_factory=list)     # provenance, content-free
    verdicts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"type": self.type, "count": self.count, "distinct": self.distinct,
                "samples": list(self.samples), "where": list(self.where),
                "verdicts": dict(self.verdicts), "hashes": list(self.hashes)}


@dataclass(slots=True)
class InspectionResult:
    detections: dict[str, Detection] = field(default_factory=dict)
    files: list[FileInfo] = field(default_factory=list)
    uninspectable: list[Uninspectable] = field(default_factory=list)
    email_domains: frozenset[str] = frozenset()
    bytes_in: int = 0
    bytes_extracted: int = 0
    extract_seconds: float = 0.0
    scan_seconds: float = 0.0
    index_seconds: float = 0.0    # EDM/IDM matching, when the Inspector has matchers
    spilled_bytes: int = 0        # extracted text written to the spool file (Limits.spill_dir)

    @property
    def counts(self) -> dict[str, int]:
        return {t: d.count for t, d in self.detections.items()}

    @property
    def distinct(self) -> dict[str, int]:
        return {t: d.distinct for t, d in self.detections.items()}

    @property
    def uninspectable_reasons(self) -> frozenset[str]:
        return frozenset(u.reason for u in self.uninspectable)

    @property
    def file_types(self) -> frozenset[str]:
        return frozenset(f.type for f in self.files)

    @property
    def complete(self) -> bool:
        return not self.uninspectable


def summarize_index_hits(hits: Iterable) -> dict[str, Detection]:
    """EDM/IDM hits (agent.fingerprint.IndexHit) by type: count = matched rows / documents.

    Samples name the row (``row 1234: name+dob``) or the document and the share of it found
    (``doc d-3fa9c1e2b4d0 42%``): identifiers, never indexed values.
    """
    out: dict[str, Detection] = {}
    refs: dict[str, set[str]] = {}
    for h in hits:
        d = out.get(h.type)
        if d is None:
            d = out[h.type] = Detection(h.type)
            refs[h.type] = set()
        if h.ref in refs[h.type]:
            continue
        refs[h.type].add(h.ref)
        d.count += 1
        d.verdicts["exact"] = d.verdicts.get("exact", 0) + 1
        if len(d.samples) < MAX_SAMPLES:
            if h.fraction is not None:
                title = f" ({h.title})" if h.title else ""
                d.samples.append(f"{h.ref}{title} {h.fraction:.0%}")
            else:
                d.samples.append(f"{h.ref}: {'+'.join(h.fields)}")
        if len(d.where) < MAX_WHERE and h.where not in d.where:
            d.where.append(h.where)
    for t, d in out.items():
        d.distinct = len(refs[t])
    return out


class DetectionTally:
    """Accumulates findings into per-type Detections; usable over many scan calls (streaming)."""

    MAX_DISTINCT = 200_000   # canonical values remembered for distinct counts (memory bound)

    def __init__(self, hasher: Hasher | None = None):
        self.hasher = hasher
        self.detections: dict[str, Detection] = {}
        self._seen: dict[str, set[str]] = {}

    def add(self, findings: Iterable[Finding], segments: list[Segment]) -> bool:
        """Count findings; True if any was added."""
        added = False
        for f in findings:
            added = True
            d = self.detections.get(f.type)
            if d is None:
                d = self.detections[f.type] = Detection(f.type)
                self._seen[f.type] = set()
            d.count += 1
            d.verdicts[f.verdict] = d.verdicts.get(f.verdict, 0) + 1
            values = self._seen[f.type]
            if f.norm not in values and len(values) < self.MAX_DISTINCT:
                values.add(f.norm)
                d.distinct = len(values)
                if len(d.samples) < MAX_SAMPLES:
                    d.samples.append(mask(f.type, f.norm))
                if self.hasher is not None and len(d.hashes) < MAX_HASHES:
                    d.hashes.append(self.hasher.digest(f.type, f.norm))
            where = segments[f.segment].where
            if len(d.where) < MAX_WHERE and where not in d.where:
                d.where.append(where)
        return added

    def add_scan(self, scan: ScanResult, segments: list[Segment]) -> bool:
        """``add`` for a whole scan, from its findings grouped by type: a table of half a
        million findings is counted without a Finding object or a Python step per finding."""
        added = False
        for batch in scan.by_type():
            added |= self._add_type(*batch, segments)
        return added

    def add_columns(self, types: list[str], verdicts: list[str], norms: list[str],
                    segs: list[int], segments: list[Segment]) -> bool:
        """``add`` for findings given as columns, in order; the same Detections result."""
        added = False
        for batch in group(types, verdicts, norms, segs):
            added |= self._add_type(*batch, segments)
        return added

    def _add_type(self, t: str, verdicts: list[str], norms: list[str], segs: list[int],
                  segments: list[Segment]) -> bool:
        """Findings of type t, in order; what ``add`` does for each of them."""
        if not norms:
            return False
        d = self.detections.get(t)
        if d is None:
            d = self.detections[t] = Detection(t)
            self._seen[t] = set()
        d.count += len(norms)
        if verdicts.count(verdicts[0]) == len(verdicts):
            d.verdicts[verdicts[0]] = d.verdicts.get(verdicts[0], 0) + len(verdicts)
        else:
            for verdict, k in Counter(verdicts).items():
                d.verdicts[verdict] = d.verdicts.get(verdict, 0) + k
        values = self._seen[t]
        room = max(self.MAX_DISTINCT - len(values), 0)
        new = list(islice(filterfalse(values.__contains__, dict.fromkeys(norms)), room))
        if new:
            values.update(new)
            d.distinct = len(values)
            d.samples.extend(mask(t, x) for x in new[:max(MAX_SAMPLES - len(d.samples), 0)])
            if self.hasher is not None:
                d.hashes.extend(self.hasher.digest(t, x)
                                for x in new[:max(MAX_HASHES - len(d.hashes), 0)])
        for k in dict.fromkeys(segs):
            if len(d.where) >= MAX_WHERE:
                break
            where = segments[k].where
            if where not in d.where:
                d.where.append(where)
        return True


PIECE_BYTES = 4 * 1024 * 1024     # bodies above twice this are scanned piece by piece
PIECE_OVERLAP = 64 * 1024         # context and values up to half of it span a piece edge


def _pieces(segments: list[Segment]):
    """(segments, lo, hi): runs of whole segments up to PIECE_BYTES (hi 0: report all), and
    large segments cut into overlapping pieces at line starts; a piece reports only findings
    that start in [lo, hi) of its data, so each value is counted once, by the piece that saw
    it with at least PIECE_OVERLAP/2 bytes of context on each side.

    Segments spilled to disk are read a piece at a time (small ones whole, into a run), so the
    scanner never sees a spool-backed segment and memory holds one piece, not the body."""
    run: list[Segment] = []
    size = 0
    for seg in segments:
        n = seg.size
        spilled = isinstance(seg, SpilledSegment)
        if n <= PIECE_BYTES:
            if size + n > PIECE_BYTES and run:
                yield _in_memory(run), 0, 0
                run, size = [], 0
            run.append(seg)
            size += n
            continue
        if run:
            yield _in_memory(run), 0, 0
            run, size = [], 0
        read = seg.read if spilled else _slicer(seg.data)
        cuts = [0]
        while cuts[-1] + PIECE_BYTES < n:
            c = cuts[-1] + PIECE_BYTES
            nl = read(c, c + 4096).find(b"\n")
            cuts.append(c + nl + 1 if nl >= 0 else c)
        cuts.append(n)
        half = PIECE_OVERLAP // 2
        for a, b in zip(cuts, cuts[1:], strict=False):
            start = max(0, a - PIECE_OVERLAP)
            end = min(n, b + PIECE_OVERLAP)
            if start:
                nl = read(start, a).find(b"\n")
                if 0 <= nl < a - half - start:
                    start += nl + 1
            piece = Segment(read(start, end), seg.where, seg.field, seg.table)
            yield [piece], a - start, b - start
    if run:
        yield _in_memory(run), 0, 0


def _in_memory(run: list[Segment]) -> list[Segment]:
    """The run with its spilled segments read back (the scanner reads ``data`` often)."""
    spilled = [s for s in run if isinstance(s, SpilledSegment)]
    if not spilled:
        return run
    data = iter(read_all(spilled))
    return [Segment(next(data), s.where, s.field, s.table) if isinstance(s, SpilledSegment)
            else s for s in run]


def _slicer(data: bytes):
    return lambda a, b: data[a:b]


def _email_domains(scan: ScanResult) -> frozenset[str]:
    domains: set[str] = set()
    for t, _, norms, _ in scan.by_type():
        if t == "EMAIL":
            domains.update(e.rpartition("@")[2].lower() for e in set(norms))
    return frozenset(domains)


def summarize(findings: Iterable[Finding], segments: list[Segment],
              hasher: Hasher | None = None) -> dict[str, Detection]:
    """Group findings by type: counts, distinct values, masked samples, keyed hashes."""
    tally = DetectionTally(hasher)
    tally.add(findings, segments)
    return tally.detections


class Inspector:
    """Binds a scanner, limits, (optionally) the correlation key and EDM/IDM matchers.

    ``matchers`` (agent.fingerprint.load_indexes) run after extraction on the same segments;
    their hits become ``EDM:<dataset>`` / ``IDM:<collection>`` detections. Thread-safe.
    """

    def __init__(self, scanner, limits: Limits | None = None, hasher: Hasher | None = None,
                 matchers: Sequence = ()):
        self.scanner = scanner
        self.limits = limits or Limits()
        self.hasher = hasher
        self.matchers = list(matchers)

    def inspect(self, body: bytes, content_type: str | None = None,
                content_encoding: str | None = None, filename: str | None = None,
                where: str = "body", deadline: float | None = None) -> InspectionResult:
        start = time.monotonic()
        if deadline is None:
            deadline = start + self.limits.max_seconds
        result = InspectionResult(bytes_in=len(body))
        ex: ExtractionResult | None = None
        try:
            ex = extract(body, content_type=content_type, content_encoding=content_encoding,
                         filename=filename, limits=self.limits, where=where, deadline=deadline)
            t1 = time.monotonic()
            result.extract_seconds = t1 - start
            result.files = list(ex.files)
            result.uninspectable = list(ex.uninspectable)
            result.bytes_extracted = ex.bytes_extracted
            tally = DetectionTally(self.hasher)
            if ex.spool is None and sum(seg.size for seg in ex.segments) <= 2 * PIECE_BYTES:
                scan = self.scanner.scan(ex.segments, deadline=deadline)
                timed_out = scan.timed_out
                tally.add_scan(scan, ex.segments)
                result.email_domains = _email_domains(scan)
            else:
                timed_out, result.email_domains = self._scan_pieces(ex.segments, deadline, tally)
            result.scan_seconds = time.monotonic() - t1
            if timed_out:
                result.uninspectable.append(Uninspectable("time_limit", where, "scan deadline"))
            result.detections = tally.detections
            if self.matchers:
                self._match_indexes(ex.segments, deadline, where, result)
        except Exception as e:  # noqa: BLE001 - the boundary: a bug must fail closed, not crash
            # Content-free: the exception class only; messages can quote body bytes.
            log.error("inspection failed with %s (body of %d bytes)", type(e).__name__, len(body))
            result.uninspectable.append(Uninspectable("internal_error", where, type(e).__name__))
        finally:
            if ex is not None:
                if ex.spool is not None:
                    result.spilled_bytes = ex.spool.size
                ex.close()    # the spilled text goes with the file: nothing stays on disk
        return result

    def _scan_pieces(self, segments: list[Segment], deadline: float,
                     tally: DetectionTally) -> tuple[bool, frozenset[str]]:
        """Scan a large body piece by piece, counting each piece before the next: memory holds
        one piece's findings, not the whole body's (a body of nothing but SSNs once kept
        ~36 bytes per body byte until its time budget ran out)."""
        domains: set[str] = set()
        for piece, lo, hi in _pieces(segments):
            scan = self.scanner.scan(piece, deadline=deadline)
            # a list either way: rows() is a generator, truthy even when it yields nothing
            rows = [r for r in scan.rows() if lo <= r[2] < hi] if hi else list(scan.rows())
            if rows:
                types, segs, _, _, _, verdicts, norms = map(list, zip(*rows, strict=True))
                tally.add_columns(types, verdicts, norms, segs, piece)
                domains.update(n.rpartition("@")[2].lower() for t, n in zip(types, norms, strict=True)
                               if t == "EMAIL")
            if scan.timed_out:
                return True, frozenset(domains)
        return False, frozenset(domains)

    def _match_indexes(self, segments: list[Segment], deadline: float, where: str,
                       result: InspectionResult) -> None:
        from agent.fingerprint import DeadlineExceeded, windows

        t = time.monotonic()
        hits = []
        name = "EDM/IDM"
        try:
            for window in windows(segments):     # bounded memory for spilled giant texts
                shared: dict = {}   # per window: matchers with one key tokenise it once
                for m in self.matchers:
                    name = m.name
                    hits.extend(m.match(window, deadline, shared))
        except DeadlineExceeded:
            result.uninspectable.append(Uninspectable("time_limit", where,
                                                      f"{name} match deadline"))
        result.detections.update(summarize_index_hits(hits))
        result.index_seconds = time.monotonic() - t
