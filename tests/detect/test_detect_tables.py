"""The table fast path (agent/detect/tables.py) against the general path: same findings, same
order, same offsets and values, on adversarial tables; and the validator twins it relies on."""

from __future__ import annotations

import csv
import io
import random
import re
import threading
import time
from contextlib import contextmanager

import openpyxl
import pytest
from detect_samples import dashed, invalid_ssn, valid_ssn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from table_samples import table

from agent.detect import Scanner, tables
from agent.detect import scanner as scanner_module
from agent.detect import validation as v
from agent.detect.model import Finding
from agent.detect.result import group
from agent.extract import extract
from agent.extract.model import Segment, TableLayout


@pytest.fixture(scope="module")
def reference() -> Scanner:
    return Scanner(fast_tables=False)


@pytest.fixture(scope="module")
def path(scanner) -> tables.TablePath:
    return tables.TablePath(scanner)


@contextmanager
def counting():
    """Collects the size of every table the fast path scans (thresholds unchanged)."""
    seen: list[int] = []
    scan = tables.TablePath.scan

    def counted(self, segments, starts, k, deadline, parts):
        seen.append(len(segments[k].data))
        return scan(self, segments, starts, k, deadline, parts)

    tables.TablePath.scan = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        tables.TablePath.scan = scan  # type: ignore[method-assign]


@contextmanager
def small_tables(block: int = 1 << 20, share: int = tables.GENERAL_SHARE):
    """Let small tables take the fast path, in blocks of ``block`` bytes, a block going the
    general way when more than 1/``share`` of its lines need the handlers (share 0: never);
    yields a list that collects the size of every table the fast path scanned."""
    saved = tables.MIN_TABLE, tables.BLOCK_BYTES, scanner_module.JOIN_BELOW, tables.GENERAL_SHARE
    seen: list[int] = []
    scan = tables.TablePath.scan

    def counted(self, segments, starts, k, deadline, parts):
        seen.append(len(segments[k].data))
        return scan(self, segments, starts, k, deadline, parts)

    tables.MIN_TABLE, tables.BLOCK_BYTES, scanner_module.JOIN_BELOW = 0, block, 0
    tables.GENERAL_SHARE = share
    tables.TablePath.scan = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        (tables.MIN_TABLE, tables.BLOCK_BYTES, scanner_module.JOIN_BELOW,
         tables.GENERAL_SHARE) = saved
        tables.TablePath.scan = scan  # type: ignore[method-assign]


def _rows(scanner: Scanner, segments: list[Segment], **kw):
    result = scanner.scan(segments, **kw)
    assert not result.timed_out
    return result


def assert_same(fast: Scanner, reference: Scanner, segments: list[Segment]) -> list:
    got = _rows(fast, segments)
    want = _rows(reference, segments)
    got_rows, want_rows = list(got.rows()), list(want.rows())
    assert got_rows == want_rows
    assert got.count == len(want_rows)
    assert got.bytes_scanned == want.bytes_scanned
    # The columnar view holds the same findings.
    types, verdicts, norms, segs = [], [], [], []
    for t, vd, n, s in got.batches():
        types += t
        verdicts += vd
        norms += n
        segs += s
    assert list(zip(types, verdicts, norms, segs, strict=True)) == [
        (r[0], r[5], r[6], r[1]) for r in want_rows]
    assert got.findings == [Finding(*r) for r in want_rows]
    for part in got.parts:  # the per-type view (agent.inspect) of each columnar part
        if not isinstance(part, list):
            assert part.by_type() == group(*part.batch())
    return want_rows


def _segment(data: bytes, header: tuple[str, ...], delim: str) -> Segment:
    return Segment(data, "multipart:file=t.csv", table=TableLayout(delim.encode(), header))


NEVER = 0  # GENERAL_SHARE that keeps every block on the fast path


@pytest.mark.parametrize("share", [tables.GENERAL_SHARE, NEVER])
@pytest.mark.parametrize("delim", [",", "\t", ";", "|"])
@pytest.mark.parametrize("seed", range(6))
def test_random_tables_match_the_general_path(scanner, reference, delim, seed, share):
    r = random.Random(seed * 31 + ord(delim))
    data, header = table(r, delim, rows=400, crlf=seed % 3 == 2)
    with small_tables(block=r.choice([1 << 20, 2000, 300]), share=share) as seen:
        rows = assert_same(scanner, reference, [_segment(data, header, delim)])
    assert rows  # the tables are built to contain findings
    assert seen  # and went through the fast path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**9), delim=st.sampled_from([",", "\t", ";", "|"]),
       rows=st.integers(0, 60), block=st.sampled_from([1 << 20, 500, 80]),
       crlf=st.booleans(), share=st.sampled_from([4, NEVER]))
def test_property_same_findings(scanner, reference, seed, delim, rows, block, crlf, share):
    data, header = table(random.Random(seed), delim, rows=rows, crlf=crlf)
    with small_tables(block, share) as seen:
        assert_same(scanner, reference, [_segment(data, header, delim)])
    assert seen


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_dense_records_take_the_fast_path_and_match(scanner, reference, newline):
    """A realistic person-records CSV well over MIN_TABLE, as bench case (b); the e-mail
    column last, so with CR LF line ends every address is followed by a CR."""
    r = random.Random(7)
    lines = ["name,ssn,phone,notes,email"]
    for i in range(6000):
        s = valid_ssn(r) if i % 50 else invalid_ssn(r)
        last = r.choice(["Lee", '"Smith, Jr."', "O'Neil"])
        lines.append(f"Ana {last},{dashed(s) if i % 2 else s},({914 + i % 3}) 995-{i % 10000:04d},"
                     f"ok,ana.lee{i % 97}@{r.choice(['gmail.com', 'county.ny.gov'])}")
    data = (newline.join(lines) + newline).encode()
    assert len(data) > tables.MIN_TABLE
    seg = Segment(data, "x.csv", table=TableLayout(b",", ("name", "ssn", "phone", "notes",
                                                          "email")))
    with counting() as seen:
        rows = assert_same(scanner, reference, [seg])
    assert seen
    assert {t for t, *_ in rows} == {"SSN", "PHONE", "EMAIL"}
    assert sum(t == "SSN" for t, *_ in rows) == 6000 - 6000 // 50
    # Decided column by column, not value by value: all but the header block's first rows.
    decided = {t: len(n) for p in scanner.scan([seg]).parts if not isinstance(p, list)
               for t, _, n, _ in p.by_type()}
    assert decided == {"SSN": 6000 - 6000 // 50, "PHONE": 6000, "EMAIL": 6000}


@pytest.mark.parametrize("body,header", [
    # A private key inside a cell runs over rows: the values under it are part of the key.
    ("name,ssn\n" + "a,536225555\n" * 40 + 'k,"-----BEGIN RSA PRIVATE KEY-----\n'
     + "MIIEowIBAAKCAQEA7bq0x1Yk3QfLwz8E5QmR2yLwH0nQbX1rV3s9PqZ8y2Kd4mT,536225556\n" * 3
     + '-----END RSA PRIVATE KEY-----",x\n' + "b,536225557\n" * 40, ("name", "ssn")),
    # Tab-separated: the value after 'password:' is the next cell, an SSN by its column.
    ("note\tssn\n" + "password:\t536225555\n" * 30 + "x\t536225556\n" * 30, ("note", "ssn")),
    # A dictionary term or marking inside a decided cell; context words next to values.
    ("ssn,email\n" + "536225555,CONFIDENTIAL@county.ny.gov\n" * 30
     + "536225556,jo.1234567@gmail.com\n" * 30 + "SSN,ssn@example.com\n", ("ssn", "email")),
    # Numbers in an undecided column: the words around them decide, across cells.
    ("id,comment\n" + "536225555,SSN of the applicant\n" * 30 + "1,SSN 536225555\n" * 30,
     ("id", "comment")),
    # Quoted values, doubled quotes, an unbalanced quote, header-shaped values.
    ('ssn,phone\n' + '"536-22-5555","(914) 995-2000"\n' * 20 + '536-22-5556,"x,y\n' * 5
     + "ssn,phone\n" + '536225555,9149952000\n' * 20, ("ssn", "phone")),
    # Routing/account/ssn-or-itin columns: several candidates per plan.
    ("routing,account,ssn/itin\n" + "021000021,5366213947,912701234\n" * 20
     + "021000022,1111111111,536225555\n" * 20, ("routing", "account", "ssn/itin")),
])
@pytest.mark.parametrize("share", [tables.GENERAL_SHARE, NEVER])
def test_interactions_across_cells(scanner, reference, body, header, share):
    delim = "\t" if "\t" in body.split("\n")[0] else ","
    with small_tables(block=200, share=share) as seen:
        assert_same(scanner, reference, [_segment(body.encode(), header, delim)])
    assert seen


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_extracted_tables(scanner, reference, kind):
    """Real uploads: a sheet written by openpyxl and a CSV body, through agent.extract."""
    r = random.Random(21)
    header = ["Name", "SSN", "Phone", "Email", "Notes", "Order ID"]
    rows = []
    for i in range(3000):
        s = valid_ssn(r) if i % 40 else invalid_ssn(r)
        rows.append([r.choice(["Ana Lee", "Bo Chen", "Smith, Jr."]), dashed(s) if i % 3 else s,
                     f"(914) {r.randint(200, 999)}-{r.randint(0, 9999):04d}",
                     f"user{i}@{r.choice(['gmail.com', 'county.ny.gov', 'example.com'])}",
                     r.choice(["ok", "SSN on file", "call 914-995-2000", ""]),
                     f"{r.randint(10**8, 10**9 - 1)}"])
    if kind == "xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(header)
        for row in rows:
            ws.append(row)
        buf = io.BytesIO()
        wb.save(buf)
        res = extract(buf.getvalue(), filename="people.xlsx")
    else:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
        res = extract(out.getvalue().encode(), content_type="text/csv", filename="people.csv")
    assert any(seg.table is not None and len(seg.data) > tables.MIN_TABLE
               for seg in res.segments)
    with counting() as seen:
        found = assert_same(scanner, reference, res.segments)
    assert seen
    counts = {t: sum(1 for x in found if x[0] == t) for t in {x[0] for x in found}}
    assert counts["SSN"] == 3000 - 3000 // 40
    # example.com is a documentation domain, not anyone's address.
    assert counts["EMAIL"] == sum(not row[3].endswith("@example.com") for row in rows)


def test_long_lines_keep_the_general_rule(scanner, reference):
    """A value MAX_ROW bytes or more into its line has no usable column in the general path."""
    long_note = "word " * 14000
    body = ("note,ssn\n" + "ok,536225555\n" * 10 + f"{long_note},536225556\n"
            + "ok,536225557\n" * 10).encode()
    assert len(body) > 65536
    with small_tables() as seen:
        rows = assert_same(scanner, reference, [_segment(body, ("note", "ssn"), ",")])
    assert seen
    assert [r[6] for r in rows] == ["536225555"] * 10 + ["536225557"] * 10


def test_tables_among_other_segments(scanner, reference):
    r = random.Random(5)
    segs = []
    for i in range(8):
        if i % 3 == 0:
            data, header = table(r, ",", rows=200)
            segs.append(_segment(data, header, ","))
        else:
            segs.append(Segment(f"SSN {dashed(valid_ssn(r))} mail a{i}@gmail.com".encode(),
                                f"part{i}"))
    with small_tables(block=700) as seen:
        assert_same(scanner, reference, segs)
    assert len(seen) == 3


def test_password_field_table_is_left_to_the_general_path(scanner, reference):
    data = ("pw\n" + "hunter22\n" * 50).encode()
    seg = Segment(data, "form:password", field="password", table=TableLayout(b",", ("pw",)))
    with small_tables() as seen:
        assert_same(scanner, reference, [seg])
    assert not seen


def test_deadline_in_the_past(scanner):
    data, header = table(random.Random(1), ",", rows=400)
    with small_tables(block=300):
        result = scanner.scan([_segment(data, header, ",")], deadline=time.monotonic() - 1)
    assert result.timed_out and result.count == 0


def test_deadline_between_blocks(scanner):
    """Blocks end at line ends; the deadline is checked between them."""
    data = ("ssn\n" + "536225555\n" * 20000).encode()
    seg = _segment(data, ("ssn",), ",")
    with small_tables(block=1000):
        full = scanner.scan([seg])
        part = scanner.scan([seg], deadline=time.monotonic() + 0.002)
    assert full.count == 20000 and not full.timed_out
    if part.timed_out:
        assert part.count < full.count
        assert list(part.rows()) == list(full.rows())[:part.count]


@pytest.mark.parametrize("unit", [b"password:x,536225555\n", b"a@b.co,123 456 7890\n",
                                  b'"x,y",536-22-5555\n', b"-----BEGIN RSA PRIVATE KEY-----,1\n"])
def test_hostile_tables_respect_the_deadline(scanner, unit):
    """Tables built so every row goes through the handlers: the deadline still holds."""
    data = b"note,ssn\n" + unit * (4_000_000 // len(unit))
    seg = Segment(data, "x.csv", table=TableLayout(b",", ("note", "ssn")))
    scanner.scan([Segment(data[:tables.MIN_TABLE + 100], "warm-up", table=seg.table)])
    with counting() as seen:
        t = time.monotonic()
        result = scanner.scan([seg], deadline=t + 0.3)
        elapsed = time.monotonic() - t
    assert seen
    assert elapsed < 3.0
    assert result.timed_out or result.bytes_scanned == len(data) + 1


def test_threads_share_the_table_path(scanner, reference):
    r = random.Random(3)
    inputs = []
    for _ in range(4):
        data, header = table(r, ",", rows=300)
        inputs.append([_segment(data, header, ",")])
    with small_tables(block=900) as seen:
        expected = [list(reference.scan(s).rows()) for s in inputs]
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                for _ in range(5):
                    assert list(scanner.scan(inputs[k]).rows()) == expected[k]
            except BaseException as e:  # re-raised below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert len(seen) == 4 * 5


# ---------------------------------------------------------------------- the rules it relies on

def _fullmatch_any(patterns: list[bytes], value: bytes) -> bool:
    return any(re.fullmatch(p, value) for p in patterns)


def test_ssn_invalid_patterns_are_exactly_the_rejected_values():
    pats = v.ssn_invalid_patterns()
    r = random.Random(11)
    values = {b"%03d%02d%04d" % (a, g, s) for a in range(1000) for g in (0, 1, 55, 99)
              for s in (0, 1, 5462, 9999)}
    values |= v.KNOWN_INVALID_SSNS | {bytes([c]) * 9 for c in b"0123456789"}
    values |= {b"%09d" % r.randrange(10**9) for _ in range(20000)}
    values |= {run[i:i + 9] for run in (b"01234567890123456789", b"98765432109876543210")
               for i in range(10)}
    for d in values:
        assert _fullmatch_any(pats, d) is (not v.ssn_ok(d)), d


def test_nanp_invalid_patterns_are_exactly_the_rejected_values():
    pats = v.nanp_invalid_patterns()
    r = random.Random(12)
    values = set()
    for d0 in "01259":
        for d12 in ("11", "21", "12", "00"):
            for d3 in "012559":
                for d45 in ("11", "55", "12"):
                    for d67 in ("01", "02", "10", "99"):
                        values.add(f"{d0}{d12}{d3}{d45}{d67}{r.randint(0, 99):02d}".encode())
    values |= {b"%010d" % r.randrange(10**10) for _ in range(20000)}
    for d in values:
        assert _fullmatch_any(pats, d) is (not v.nanp_ok(d)), d


@given(st.text(alphabet="0123456789-. ()@AZaz_,\t;|\n\r\"\x00.", max_size=40))
@settings(max_examples=400, deadline=None)
def test_dense_patterns_never_span_a_cell_boundary(path, text):
    """The number shapes and the e-mail trigger are scanned cell by cell in the fast path:
    none of their matches may contain a delimiter, quote, CR, LF or the quote stand-in."""
    data = text.encode()
    for pid, frm, to in path._dense.matches(data):
        back = path.back[pid]  # fixed-length patterns: no start-of-match tracking
        span = data[to - back if back else frm:to]
        assert not set(span) & set(b",\t;|\n\r\"\x00"), (text, span)
