"""JSON bodies: every string with its path and key, identifier numbers, embedded payloads."""

from __future__ import annotations

import base64
import json

import pytest
from extract_docs import SSN, docx_bytes, found, reasons, xlsx_bytes

from agent.extract import extract
from agent.extract.embedded import decode


def _seg(r, where):
    return next(s for s in r.segments if s.where == where)


def test_every_string_with_path_and_nearest_key():
    doc = {"post": {"text": f"my SSN is {SSN}", "tags": ["a", "b"]},
           "items": [{"ssn": "219-09-9999"}, {}, {}, {"ssn": "078-05-1121"}],
           "weird key!": "v", "empty": "", "flag": True, "none": None}
    r = extract(json.dumps(doc).encode(), "application/json")
    got = [(s.where, s.field, s.data) for s in r.segments]
    assert got == [
        ("json:$.post.text", "text", f"my SSN is {SSN}".encode()),
        ("json:$.post.tags[0]", "tags", b"a"),
        ("json:$.post.tags[1]", "tags", b"b"),
        ("json:$.items[0].ssn", "ssn", b"219-09-9999"),
        ("json:$.items[3].ssn", "ssn", b"078-05-1121"),
        ("json:$['weird key!']", "weird key!", b"v"),
        ("json:$(keys)", None, b"weird key!"),       # letters-only keys are not emitted
    ]
    assert r.complete


def test_values_hidden_in_object_keys_are_inspected():
    doc = {"rows": [{"SSN 536-22-4817": "Pat Doe"}, {"SSN 536-22-4817": "again"},
                    {"4111 1111 1111 1111": 1}], "ok": {"status": "x"}}
    r = extract(json.dumps(doc).encode(), "application/json")
    keys = [s for s in r.segments if s.where == "json:$(keys)"]
    assert [s.data for s in keys] == [b"SSN 536-22-4817\n4111 1111 1111 1111"]   # once each
    from agent.detect import Scanner
    from agent.inspect import Inspector

    result = Inspector(Scanner()).inspect(json.dumps(doc).encode(), "application/json")
    assert {"SSN", "CREDIT_CARD"} <= set(result.detections)


def test_many_distinct_keys_come_out_in_bounded_segments():
    from agent.extract.jsonbody import KEYS_SEGMENT

    doc = {f"id-{i:07d}": i for i in range(20_000)}
    r = extract(json.dumps(doc).encode(), "application/json")
    keys = [s for s in r.segments if s.where == "json:$(keys)"]
    assert len(keys) > 1 and all(len(s.data) <= KEYS_SEGMENT + 100 for s in keys)
    assert sum(s.data.count(b"\n") + 1 for s in keys) == 20_000


@pytest.mark.parametrize("number, emitted", [
    ("78051120", False),          # 8 digits: a count, a date, an id; not emitted
    ("219099999", True),          # 9 digits: an SSN can travel as a JSON number
    ("4111111111111111", True),   # card number as a number
    ("-219099999", True),
    ("2190999.99", False),        # floats are amounts
])
def test_identifier_numbers_are_text(number, emitted):
    r = extract(b'{"ssn": ' + number.encode() + b'}', "application/json")
    assert [s.data for s in r.segments] == ([number.encode()] if emitted else [])
    if emitted:
        assert r.segments[0].field == "ssn"


def test_unicode_escapes_are_decoded():
    r = extract(b'{"note": "SSN \\u0030\\u0037\\u0038-05-1120 caf\\u00e9"}', "application/json")
    assert r.segments[0].data == f"SSN {SSN} café".encode()


def test_base64_text_in_json():
    payload = base64.b64encode(f"name,ssn\nPat,{SSN}\n".encode()).decode()
    r = extract(json.dumps({"file": payload}).encode(), "application/json")
    seg = _seg(r, "json:$.file/base64")
    assert SSN.encode() in seg.data and seg.table.header == ("name", "ssn")
    assert [(f.where, f.type) for f in r.files] == [("json:$.file/base64", "csv")]


def test_base64_docx_in_json():
    payload = base64.b64encode(docx_bytes(f"contract {SSN}")).decode()
    r = extract(json.dumps({"upload": {"content": payload, "name": "c.docx"}}).encode(),
                "application/json")
    assert found(r, SSN) == ["json:$.upload.content/base64/part:body"]
    assert r.files[0].type == "docx"


@pytest.mark.parametrize("url_prefix", [
    "data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,",
    "data:;base64,",
    "DATA:application/octet-stream;name=a.xlsx;base64,",
])
def test_data_url_in_json(url_prefix):
    book = xlsx_bytes({"S": [["ssn"], [SSN]]})
    r = extract(json.dumps({"f": url_prefix + base64.b64encode(book).decode()}).encode(),
                "application/json")
    assert found(r, SSN) == ["json:$.f/base64/sheet:S"]


def test_plain_data_url_text():
    r = extract(json.dumps({"f": "data:text/plain,SSN%20078-05-1120"}).encode(),
                "application/json")
    assert found(r, SSN) == ["json:$.f", "json:$.f/base64"]


def test_wrapped_and_urlsafe_base64():
    text = f"The applicant's SSN is {SSN}; keep it on file.".encode()
    wrapped = base64.encodebytes(text).decode()            # lines of 76 + "\n"
    urlsafe = base64.urlsafe_b64encode(text).decode().rstrip("=")
    for value in (wrapped, urlsafe):
        r = extract(json.dumps({"v": value}).encode(), "application/json")
        assert found(r, SSN) == ["json:$.v/base64"], value


@pytest.mark.parametrize("value", [
    "AKIAIOSFODNN7EXAMPLEKEYQ",                                   # a token: decodes to noise
    "d41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e9800998",   # a hex digest
    base64.b64encode(bytes(range(200))).decode(),                 # binary that is no file
    "short",
    "this is an ordinary sentence that is long",                  # spaces, not base64
])
def test_values_that_are_not_payloads(value):
    assert decode(value.encode()) is None
    r = extract(json.dumps({"v": value}).encode(), "application/json")
    assert [s.where for s in r.segments] == ["json:$.v"]
    assert r.files == []


def test_double_encoded_json_is_walked():
    inner = json.dumps({"patient": {"ssn": SSN}})
    r = extract(json.dumps({"body": inner}).encode(), "application/json")
    assert [(s.where, s.field) for s in r.segments] == [
        ("json:$.body/json:$.patient.ssn", "ssn")]


def test_ndjson():
    body = b'{"a": "x"}\n{"ssn": "078-05-1120"}\nnot json\n\n[1, "y"]\n'
    r = extract(body, "application/x-ndjson")
    assert [(s.where, s.data) for s in r.segments] == [
        ("ndjson:line=1/json:$.a", b"x"), ("ndjson:line=2/json:$.ssn", SSN.encode()),
        ("ndjson:line=3", b"not json"), ("ndjson:line=5/json:$[1]", b"y")]


def test_json_in_text_plain_is_json():
    r = extract(json.dumps({"ssn": SSN}).encode(), "text/plain")
    assert found(r, SSN) == ["json:$.ssn"]


def test_declared_json_that_is_not_json():
    r = extract(f"oops SSN {SSN}".encode(), "application/json")
    assert reasons(r) == [("parse_error", "body")]
    assert found(r, SSN) == ["body"]


def test_deep_nesting_needs_no_recursion():
    depth = 100_000
    body = b'{"a":' * 200 + b'"x"' + b"}" * 200
    r = extract(body, "application/json")
    assert r.segments[0].where.startswith("json:$.a.a")
    assert r.segments[0].where.endswith("a.a") and "…" in r.segments[0].where  # shortened
    r = extract(b"[" * depth + b"]" * depth, "application/json")
    assert reasons(r) == [("parse_error", "body")]  # the json module refuses; no crash


def test_long_keys_are_truncated_in_provenance():
    key = "k" * 500
    r = extract(json.dumps({key: "v"}).encode(), "application/json")
    assert len(r.segments[0].where) < 150
    assert len(r.segments[0].field) <= 100
