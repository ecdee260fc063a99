"""DetectionTally.add_scan (columns, what agent.inspect uses) gives exactly what add() gives for
the same findings one by one: counts, verdict order, distinct values and their cap, masked
samples, keyed hashes, provenance."""

from __future__ import annotations

import random

import pytest
from detect_samples import dashed, valid_ssn
from table_samples import table

from agent.detect import scanner as scanner_module
from agent.detect import tables
from agent.detect.result import ScanResult
from agent.extract.model import Segment, TableLayout
from agent.inspect import DetectionTally, Inspector
from agent.masking import Hasher


def _segments(seed: int) -> list[Segment]:
    r = random.Random(seed)
    segs = []
    for i in range(6):
        if i % 2:
            data, header = table(r, ",", rows=150)
            segs.append(Segment(data, f"multipart:file={i}.csv",
                                table=TableLayout(b",", header)))
        else:
            text = " ".join(r.choice([f"SSN {dashed(valid_ssn(r))}", "mail jo@gmail.com",
                                      "card 4111 1111 1111 1111", "(914) 995-2000", "ok"])
                            for _ in range(40))
            segs.append(Segment(text.encode(), "multipart:file=same.txt"))
    return segs


def _as_dicts(tally: DetectionTally) -> list[dict]:
    return [d.to_dict() for d in tally.detections.values()]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cap", [200_000, 5])
def test_columns_equal_one_by_one(scanner, monkeypatch, seed, cap):
    monkeypatch.setattr(tables, "MIN_TABLE", 0)
    monkeypatch.setattr(tables, "BLOCK_BYTES", 900)
    monkeypatch.setattr(scanner_module, "JOIN_BELOW", 0)
    monkeypatch.setattr(tables, "GENERAL_SHARE", 0)  # keep the noisy tables columnar
    monkeypatch.setattr(DetectionTally, "MAX_DISTINCT", cap)
    segs = _segments(seed)
    hasher = Hasher(b"k" * 32)
    by_columns, by_findings = DetectionTally(hasher), DetectionTally(hasher)
    for half in (segs[:3], segs[3:]):  # several calls, as streaming makes them
        result = scanner.scan(half)
        assert any(not isinstance(p, list) for p in result.parts)  # table runs among them
        assert by_columns.add_scan(result, half) == by_findings.add(result.findings, half)
    assert _as_dicts(by_columns) == _as_dicts(by_findings)
    assert list(by_columns.detections) == list(by_findings.detections)
    assert by_columns._seen == by_findings._seen


def test_empty_scan_adds_nothing():
    tally = DetectionTally()
    assert tally.add_scan(ScanResult(), []) is False
    assert tally.detections == {}


def test_inspector_counts_a_dense_csv(scanner):
    r = random.Random(4)
    rows = ["name,ssn,email"] + [f"A B,{dashed(valid_ssn(r))},ab{i}@county.ny.gov"
                                 for i in range(4000)]
    body = ("\n".join(rows) + "\n").encode()
    assert len(body) > tables.MIN_TABLE
    result = Inspector(scanner).inspect(body, content_type="text/csv", filename="p.csv")
    assert result.complete
    assert result.counts == {"SSN": 4000, "EMAIL": 4000}
    assert result.distinct["EMAIL"] == 4000
    assert result.email_domains == frozenset({"county.ny.gov"})
    assert result.detections["SSN"].verdicts == {"header": 4000}
