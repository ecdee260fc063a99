"""Issue #2 acceptance: 1,000 names and SSNs -> exactly 1,000 SSNs; all invalid -> nothing."""

from __future__ import annotations

import csv
import io
import random

from detect_samples import dashed, invalid_ssn, valid_ssn

from agent.extract.model import Segment, TableLayout

FIRST = ["James", "Mary", "Luis", "Ana", "Wei", "Priya", "Kofi", "Olga", "Sean", "Aisha"]
LAST = ["Smith", "Garcia", "O'Brien", "Nguyen", "Kowalski", "Okafor", "Rossi", "Smith, Jr."]


def _csv(ssns: list[str], seed: int) -> bytes:
    r = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["name", "ssn"])
    for i, s in enumerate(ssns):
        w.writerow([f"{r.choice(LAST)}, {r.choice(FIRST)}", dashed(s) if i % 2 else s])
    return out.getvalue().encode()


def _scan(scanner, data: bytes):
    seg = Segment(data, "multipart:file=people.csv", table=TableLayout(b",", ("name", "ssn")))
    return scanner.scan([seg])


def test_thousand_valid_ssns(scanner):
    r = random.Random(1000)
    ssns = [valid_ssn(r) for _ in range(1000)]
    data = _csv(ssns, 1)
    result = _scan(scanner, data)
    assert not result.timed_out
    assert len(result.findings) == 1000
    assert {f.type for f in result.findings} == {"SSN"}
    assert [f.norm for f in result.findings] == ssns
    assert all(data[f.start:f.end].replace(b"-", b"").decode() == f.norm
               for f in result.findings)


def test_thousand_invalid_ssns(scanner):
    r = random.Random(2000)
    ssns = [invalid_ssn(r) for _ in range(1000)]
    assert sum(s.startswith("9") for s in ssns) > 150   # 9xx areas, ITIN group ranges included
    assert sum(s[3:5] == "00" for s in ssns) > 150
    result = _scan(scanner, _csv(ssns, 2))
    assert result.findings == []
