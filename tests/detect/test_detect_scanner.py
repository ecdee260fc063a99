"""The scanner: segment mapping, chunking, deadlines, threads, masking of what it returns."""

from __future__ import annotations

import random
import threading
import time

import pytest
from detect_samples import dashed, random_token, valid_ssn

from agent.detect import Scanner, ScanResult
from agent.detect import scanner as scanner_module
from agent.detect.model import VERDICTS
from agent.extract.model import Segment
from agent.masking import mask


def _values(result: ScanResult, segments):
    return [(f.segment, f.type, segments[f.segment].data[f.start:f.end].decode())
            for f in result.findings]


def test_empty(scanner):
    assert scanner.scan([]) == ScanResult()
    assert scanner.scan([Segment(b"", "x")]).findings == []


def test_offsets_are_per_segment(scanner):
    segs = [Segment(b"nothing here", "a"), Segment(b"my SSN is 536-22-5555", "b"),
            Segment(b"", "c"), Segment(b"card 4111111111111111 and 536-22-5556", "d")]
    assert _values(scanner.scan(segs), segs) == [
        (1, "SSN", "536-22-5555"), (3, "CREDIT_CARD", "4111111111111111"),
        (3, "SSN", "536-22-5556")]


def test_values_never_span_segments(scanner):
    segs = [Segment(b"SSN 536-22", "a"), Segment(b"-5555 card 4111 1111", "b"),
            Segment(b" 1111 1111 done", "c"), Segment(b"john.smith@", "d"),
            Segment(b"gmail.com", "e")]
    assert scanner.scan(segs).findings == []


def test_many_tiny_segments(scanner):
    """JSON bodies give hundreds of thousands of small segments; each maps back exactly."""
    r = random.Random(9)
    segs, expect = [], []
    for i in range(50_000):
        if i % 997 == 0:
            s = dashed(valid_ssn(r))
            segs.append(Segment(s.encode(), f"json:$.rows[{i}].ssn", field="ssn"))
            expect.append((i, "SSN", s))
        else:
            segs.append(Segment(f"row {i} ok".encode(), f"json:$.rows[{i}].note", field="note"))
    assert _values(scanner.scan(segs), segs) == expect


def test_chunking_keeps_mapping(scanner, monkeypatch):
    monkeypatch.setattr(scanner_module, "CHUNK_BYTES", 64)
    r = random.Random(11)
    segs = [Segment(f"filler {i} " .encode() * r.randint(1, 20) + (
        f"SSN {dashed(valid_ssn(r))}".encode() if i % 3 == 0 else b""), f"p{i}")
        for i in range(300)]
    got = scanner.scan(segs)
    monkeypatch.setattr(scanner_module, "CHUNK_BYTES", 4 * 1024 * 1024)
    assert _values(got, segs) == _values(scanner.scan(segs), segs)
    assert len(got.findings) == 100
    assert got.bytes_scanned == sum(len(s.data) + 1 for s in segs)


@pytest.mark.parametrize("chunk,overlap", [(1000, 256), (997, 64), (4096, 4096)])
def test_large_segment_windows_see_every_value(scanner, monkeypatch, chunk, overlap):
    """A segment larger than a chunk is scanned in overlapping windows; values straddling a
    window edge are found exactly once, with offsets in the whole segment."""
    r = random.Random(chunk)
    parts, n = [], 0
    while n < 60_000:
        p = r.choice([f"SSN {dashed(valid_ssn(r))} ", "word " * r.randint(1, 9),
                      f"mail j.roe{r.randint(1, 99)}@gmail.com, ", "1234567 ",
                      f"card {r.choice(['4111 1111 1111 1111', '5555555555554444'])}; "])
        parts.append(p)
        n += len(p)
    seg = [Segment("".join(parts).encode(), "big")]
    whole = _values(scanner.scan(seg), seg)
    monkeypatch.setattr(scanner_module, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(scanner_module, "OVERLAP", overlap)
    windowed = scanner.scan(seg)
    assert _values(windowed, seg) == whole
    assert len(whole) > 500
    assert windowed.bytes_scanned == len(seg[0].data) + 1


def test_deadline_in_the_past(scanner):
    segs = [Segment(b"SSN 536-22-5555", "a")]
    result = scanner.scan(segs, deadline=time.monotonic() - 1)
    assert result.timed_out and result.findings == []


def test_deadline_stops_between_chunks(scanner, monkeypatch):
    monkeypatch.setattr(scanner_module, "CHUNK_BYTES", 1024)
    segs = [Segment(b"SSN 536-22-5555 " * 64, f"p{i}") for i in range(2000)]
    full = scanner.scan(segs)
    assert not full.timed_out and len(full.findings) == 128_000
    deadline = time.monotonic() + 0.05
    part = scanner.scan(segs, deadline=deadline)
    assert part.timed_out
    assert 0 < len(part.findings) < len(full.findings)
    assert part.bytes_scanned < full.bytes_scanned


def test_generous_deadline_completes(scanner):
    result = scanner.scan([Segment(b"SSN 536-22-5555", "a")], deadline=time.monotonic() + 60)
    assert not result.timed_out and len(result.findings) == 1


def test_threads_share_one_scanner(scanner):
    r = random.Random(4)
    inputs = []
    for t in range(6):
        segs = [Segment(f"SSN {dashed(valid_ssn(r))} and ghp_{random_token(r, 36)} "
                        f"and SSN: {valid_ssn(r)}\n".encode() * 50, f"t{t}") for _ in range(40)]
        inputs.append(segs)
    expected = [_values(scanner.scan(s), s) for s in inputs]
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for _ in range(10):
                got = _values(scanner.scan(inputs[k]), inputs[k])
                assert got == expected[k]
            results[k] = got
        except BaseException as e:  # collected and re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert all(len(v) == 40 * 50 * 3 for v in results.values())


def test_default_scanner_uses_shipped_rules():
    sc = Scanner()
    assert sc.config.window.before == 64
    assert [f.type for f in sc.scan([Segment(b"SSN: 536225555", "x")]).findings] == ["SSN"]


def test_findings_are_valid_and_masked(scanner):
    r = random.Random(2)
    text = (f"SSN 536-22-5555; ITIN: 912-70-1234; card 4111 1111 1111 1111; routing 021000021; "
            f"acct no 5366213947; passport 531234567; DL 123 456 789; NPI 1234567893; "
            f"DEA AB1234563; dx E11.9; MRN 00123456; jane.roe@gmail.com; (914) 995-2000; "
            f"AKIA{random_token(r, 16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}; password: hunter22; "
            f"api_key={random_token(r, 32)}; CONFIDENTIAL").encode()
    found = scanner.scan([Segment(text, "x")]).findings
    assert {f.type for f in found} == {
        "SSN", "US_ITIN", "CREDIT_CARD", "ABA_ROUTING", "BANK_ACCOUNT", "US_PASSPORT",
        "DRIVER_LICENSE_NY", "NPI", "DEA", "ICD10_MEDICAL", "MRN", "EMAIL", "PHONE",
        "AWS_ACCESS_KEY", "PASSWORD", "GENERIC_API_TOKEN", "CONFIDENTIAL_MARKING"}
    for f in found:
        assert f.verdict in VERDICTS and 0 < f.score <= 1
        if f.type != "CONFIDENTIAL_MARKING":
            assert f.norm not in repr(f)
        masked = mask(f.type, f.norm)
        if f.type not in ("CONFIDENTIAL_MARKING", "EMAIL"):
            assert f.norm not in masked, (f.type, masked)
        if f.type in ("SSN", "US_ITIN", "CREDIT_CARD", "ABA_ROUTING", "NPI", "PHONE"):
            assert f.norm.isdigit()
    by_type = {f.type: f for f in found}
    assert mask("SSN", by_type["SSN"].norm) == "***-**-5555"
    assert mask("CREDIT_CARD", by_type["CREDIT_CARD"].norm) == "************1111"
    assert mask("PHONE", by_type["PHONE"].norm) == "(***) ***-2000"
    assert mask("PASSWORD", by_type["PASSWORD"].norm) == "[redacted]"


@pytest.mark.parametrize("data", [
    b"\x00\xff\xfe" * 1000,
    bytes(range(256)) * 100,
    "Ünïcödé SSN: 536225555 — ok".encode(),
    b"-----BEGIN RSA PRIVATE KEY-----" * 1000,
    b"password:" * 5000,
    b"@" * 10000 + b"a@b.com",
])
def test_odd_bytes_do_not_break_the_scan(scanner, data):
    result = scanner.scan([Segment(data, "x")])
    assert not result.timed_out


@pytest.mark.parametrize("unit", [
    b"x@y ", b"password=x ", b"-----BEGIN RSA PRIVATE KEY-----", b"1234567 ", b"123 456 7890 ",
    b"536225555,",
])
def test_hostile_repetition_respects_the_deadline(scanner, unit):
    """Bodies built to make every few bytes a candidate: the scan stops at its deadline (a
    deadline check runs every few thousand candidates), nothing grows quadratically."""
    data = unit * (4_000_000 // len(unit))
    t = time.monotonic()
    result = scanner.scan([Segment(data, "x")], deadline=t + 0.3)
    assert time.monotonic() - t < 3.0
    assert result.timed_out or result.bytes_scanned == len(data) + 1
