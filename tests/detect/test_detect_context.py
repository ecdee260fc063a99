"""Context: words before and after, column headers far above, field names, nearest label wins,
negative words, and one value -> one type."""

from __future__ import annotations

import random

import pytest
from detect_samples import dashed, valid_ssn

from agent.extract.model import Segment, TableLayout

SSN = "536225555"


@pytest.mark.parametrize("text,entity", [
    (f"SSN: {SSN}", "SSN"),                                      # before
    (f"{SSN} (SSN)", "SSN"),                                      # after
    (f"Social Security Number of the applicant is {SSN}", "SSN"),
    (f"applicant_ssn={SSN}", "SSN"),                              # identifier
    (f"employeeSSN: {SSN}", None),                                # camelCase in text: no word
    (f"{SSN} is the routing number", None),                       # routing: checksum fails
    (f"Passport: {SSN}", "US_PASSPORT"),
    (f"driver license {SSN}", "DRIVER_LICENSE_NY"),
    (f"MRN {SSN}", "MRN"),
    (f"acct no. {SSN}", "BANK_ACCOUNT"),
    (f"Order number {SSN}", None),                                # negative word
    (f"invoice {SSN} for SSN records", None),                     # nearer negative wins
    (f"SSN on file; invoice {SSN}", None),
    (f"SSN {SSN} (invoice attached)", "SSN"),                     # nearer positive wins
    (f"ZIP+4 {SSN}", None),
    (f"Phone: {SSN}", None),                                      # 9 digits is not a phone
])
def test_window_context(scan, text, entity):
    got = scan(text)
    assert [t for t, _, _ in got] == ([entity] if entity else [])


def test_window_is_clipped_to_the_segment(scanner):
    segs = [Segment(b"Customer SSN:", "a"), Segment(SSN.encode(), "b")]
    assert scanner.scan(segs).findings == []
    joined = [Segment(b"Customer SSN: " + SSN.encode(), "a")]
    assert [f.type for f in scanner.scan(joined).findings] == ["SSN"]


def test_window_size_limits_distance(scan):
    far = f"SSN {'x' * 200} {SSN}"
    assert scan(far) == []


def test_window_stops_at_a_blank_line(scan):
    assert scan(f"Your SSN is on file.\n\nRoom {SSN}") == []
    assert [t for t, _, _ in scan(f"Your SSN is on file.\nRoom {SSN}")] == ["SSN"]


def _csv(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in rows) + "\n").encode()


def test_csv_header_far_above(scanner):
    r = random.Random(3)
    header = ("id", "name", "ssn", "notes")
    rows = [list(header)] + [[str(i), f"Person {i}", valid_ssn(r), "ok"] for i in range(500)]
    data = _csv(rows)
    table = TableLayout(b",", header)
    found = scanner.scan([Segment(data, "f.csv", table=table)]).findings
    assert len(found) == 500 and {f.type for f in found} == {"SSN"}
    assert {f.verdict for f in found} == {"header"}
    # The same bytes without the table layout: only the first rows are near enough to the
    # header word for the context window; the other ~500 bare numbers are nothing.
    plain = scanner.scan([Segment(data, "f.txt")]).findings
    assert len(plain) <= 3 and all(f.start < 100 for f in plain)


def test_header_decides_between_types(scanner):
    header = ("routing_number", "account_number", "passport", "dl", "mrn", "npi", "order_id")
    row = ["021000021", "5366213947", "531234567", "531234567", "531234567", "1234567893",
           "531234567"]
    data = _csv([list(header), row])
    got = [(f.type, data[f.start:f.end].decode())
           for f in scanner.scan([Segment(data, "x", table=TableLayout(b",", header))]).findings]
    assert got == [("ABA_ROUTING", "021000021"), ("BANK_ACCOUNT", "5366213947"),
                   ("US_PASSPORT", "531234567"), ("DRIVER_LICENSE_NY", "531234567"),
                   ("MRN", "531234567"), ("NPI", "1234567893")]


def test_quoted_csv_fields(scanner):
    header = ("name", "ssn", "phone")
    data = b'name,ssn,phone\n"Smith, John",536225555,9149952000\n"Roe, ""Jane""",531234567,x\n'
    got = [(f.type, data[f.start:f.end].decode()) for f in
           scanner.scan([Segment(data, "x", table=TableLayout(b",", header))]).findings]
    assert got == [("SSN", "536225555"), ("PHONE", "9149952000"), ("SSN", "531234567")]


def test_tab_delimited_sheet(scanner):
    header = ("employee", "social security #", "hired")
    data = b"employee\tsocial security #\thired\nAna Lopez\t536225555\t2021-03-04\n"
    seg = Segment(data, "sheet", table=TableLayout(b"\t", header))
    got = [f.type for f in scanner.scan([seg]).findings]
    assert got == ["SSN"]


def test_negative_column(scanner):
    header = ("order_id", "zip", "tracking_number", "phone")
    data = b"order_id,zip,tracking_number,phone\n536225555,106011234,378282246310005,536225555\n"
    got = scanner.scan([Segment(data, "x", table=TableLayout(b",", header))]).findings
    assert got == []


@pytest.mark.parametrize("field,value,entity", [
    ("ssn", SSN, "SSN"),
    ("socialSecurityNumber", SSN, "SSN"),
    ("applicant.ssn", SSN, "SSN"),
    ("routingNumber", "021000021", "ABA_ROUTING"),
    ("passport_no", SSN, "US_PASSPORT"),
    ("orderId", SSN, None),
    ("zip", SSN, None),
    ("comment", SSN, None),
    ("comment", f"my ssn is {SSN}", "SSN"),
    ("ssn", "912701234", None),       # the field says SSN, the value is not one
    ("ssn", "536225555, 531234567", "SSN SSN"),
    ("phone", "call 914-995-2000; " * 20 + "SSN 536-22-5555", "PHONE " * 20 + "SSN"),
])
def test_field_name_context(scan, field, value, entity):
    got = [t for t, _, _ in scan(value, field=field)]
    assert got == (entity.split() if entity else [])


@pytest.mark.parametrize("text", [
    f"SSN: {SSN}",
    f"SSN: {dashed(SSN)}",
    "Routing number: 021000021",
    "Passport: 531234567",
    "phone 9149952000",
    "Card number 4111111111111111",
])
def test_one_value_one_type(scanner, text):
    found = scanner.scan([Segment(text.encode(), "x")]).findings
    assert len(found) == 1


def test_one_value_one_type_all_shapes(scanner):
    """Every 9- and 10-digit shape with every context word yields at most one finding."""
    words = ["ssn", "routing", "passport", "dl", "mrn", "account", "npi", "phone", "itin"]
    for w in words:
        for value in (SSN, "021000021", "1234567893", "9149952000", "912701234"):
            found = scanner.scan([Segment(f"{w}: {value}".encode(), "x")]).findings
            assert len(found) <= 1, (w, value, [f.type for f in found])
