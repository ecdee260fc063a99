"""End to end with real documents: files built by openpyxl / python-docx, read by
agent.extract.extract(), scanned by the detector. Column headers reach the scanner as
TableLayout, so bare numbers in an 'SSN' column are SSNs."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from agent.extract import extract


def _found(scanner, body: bytes, **kw):
    res = extract(body, **kw)
    result = scanner.scan(res.segments)
    return [(f.type, res.segments[f.segment].data[f.start:f.end].decode(), f.verdict)
            for f in result.findings]


def test_xlsx_columns(scanner):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Payroll"
    ws.append(["Name", "SSN", "Phone", "Routing #", "Account No", "Order ID"])
    ws.append(["Ana Lopez", "536225555", "9149952000", "021000021", "5366213947", "531234567"])
    ws.append(["Bo Chen", "536-22-5556", "(914) 995-2001", "011000015", "12345678", "531234568"])
    buf = io.BytesIO()
    wb.save(buf)
    found = [(t, v) for t, v, _ in _found(scanner, buf.getvalue())]
    assert found == [
        ("SSN", "536225555"), ("PHONE", "9149952000"), ("ABA_ROUTING", "021000021"),
        ("BANK_ACCOUNT", "5366213947"),
        ("SSN", "536-22-5556"), ("PHONE", "(914) 995-2001"), ("ABA_ROUTING", "011000015"),
        ("BANK_ACCOUNT", "12345678")]


def test_docx_body_and_markings(scanner):
    d = docx.Document()
    d.add_paragraph("COUNTY CONFIDENTIAL")
    d.add_paragraph("Employee SSN: 536225555, corporate card 4111 1111 1111 1111.")
    d.add_paragraph("Please keep your password confidential.")
    buf = io.BytesIO()
    d.save(buf)
    found = [(t, v) for t, v, _ in _found(scanner, buf.getvalue())]
    assert found == [("CONFIDENTIAL_MARKING", "COUNTY CONFIDENTIAL"), ("SSN", "536225555"),
                     ("CREDIT_CARD", "4111 1111 1111 1111")]


@pytest.mark.parametrize("content_type,body,expected", [
    ("application/x-www-form-urlencoded", b"username=alice&password=Winter2024%21&ssn=536225555",
     [("PASSWORD", "Winter2024!"), ("SSN", "536225555")]),
    ("application/json", b'{"user": {"name": "Ana", "socialSecurityNumber": "536225555", '
                         b'"pwd": "hunter22"}}',
     [("SSN", "536225555"), ("PASSWORD", "hunter22")]),
    ("text/csv", b"name,ssn\nAna,536225555\nBo,536-22-5556\n",
     [("SSN", "536225555"), ("SSN", "536-22-5556")]),
])
def test_bodies(scanner, content_type, body, expected):
    found = [(t, v) for t, v, _ in _found(scanner, body, content_type=content_type)]
    assert sorted(found) == sorted(expected)
