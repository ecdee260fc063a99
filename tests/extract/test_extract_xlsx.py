"""xlsx sheets: the regex fast path and the expat path give the same text for every cell shape."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from extract_docs import SSN, xlsx_bytes

from agent.extract import Limits, extract
from agent.extract.budget import Budget
from agent.extract.model import ExtractionResult
from agent.extract.xlsx import fast_sheet

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _with_sheet(sheet_data: bytes) -> bytes:
    """A real openpyxl workbook whose only sheet ("S") holds ``sheet_data``."""
    book = xlsx_bytes({"S": [["placeholder"]]})
    src = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    xml = b"<worksheet " + NS + b"><sheetData>" + sheet_data + b"</sheetData></worksheet>"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = xml if info.filename == "xl/worksheets/sheet1.xml" else src.read(info)
            dst.writestr(info.filename, data)
    return out.getvalue()


def _fast(sheet_data: bytes) -> bool:
    xml = b"<worksheet " + NS + b"><sheetData>" + sheet_data + b"</sheetData></worksheet>"
    budget = Budget(Limits(), time.monotonic() + 10, ExtractionResult(), "body")
    return fast_sheet(xml, [], budget, "sheet:S")


ROW1 = b'<row r="1"><c r="A1" t="inlineStr"><is><t>ssn</t></is></c></row>'

# (cell XML in row 2, expected row 2 text, fast path expected)
CASES = [
    (b'<c r="A2" t="inlineStr"><is><t>078-05-1120</t></is></c>', SSN, True),
    (b'<c r="A2" s="3" t="str"><f>CONCAT("078-05-","1120")</f><v>078-05-1120</v></c>', SSN,
     True),
    (b'<c r="A2"><v>78051120</v></c>', "78051120", True),
    (b'<c r="A2" t="n"><v>7.805112E7</v></c>', "78051120", True),
    (b'<c r="A2" t="b"><v>1</v></c><c r="B2" s="1"/><c r="C2"><v>5</v></c>', "TRUE\t\t5", True),
    (b'<c r="C2" t="inlineStr"><is><t>a &amp; b\tc</t></is></c>', "\t\ta & b c", True),
    (b'<c r="A2" t="inlineStr" cm="1"><is><t xml:space="preserve"> x </t></is></c>', " x ",
     True),
    # shapes the fast path leaves to expat: same text either way
    (b'<c t="inlineStr" r="A2"><is><t>078-05-1120</t></is></c>', SSN, False),
    (b'<c r="A2" t="inlineStr"><is><r><t>078-05-</t></r><r><t>1120</t></r></is></c>', SSN,
     False),
    (b'<c r="A2" t="inlineStr"><is><t><![CDATA[078-05-1120]]></t></is></c>', SSN, False),
    (b"<c r='A2' t='inlineStr'><is><t>078-05-1120</t></is></c>", SSN, False),
    (b'<c r="A2" t="inlineStr"><is><t>078-05-1120</t><rPh><t>phon</t></rPh></is></c>', SSN,
     False),
]


@pytest.mark.parametrize("cell, expected, fast", CASES)
def test_cell_shapes(cell, expected, fast):
    data = ROW1 + b'<row r="2">' + cell + b"</row>"
    assert _fast(data) is fast
    r = extract(_with_sheet(data))
    seg = next(s for s in r.segments if s.where == "sheet:S")
    assert seg.data.decode().split("\n") == ["ssn", expected]
    assert seg.table.header == ("ssn",)
    assert r.complete


def test_prefixed_sheet_is_read_by_the_expat_path():
    xml_rows = (b'<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>' + SSN.encode()
                + b"</x:t></x:is></x:c></x:row>")
    book = _with_sheet(b"")
    src = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    xml = (b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b"<x:sheetData>" + xml_rows + b"</x:sheetData></x:worksheet>")
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, xml if info.filename.endswith("sheet1.xml")
                         else src.read(info))
    r = extract(out.getvalue())
    assert next(s for s in r.segments if s.where == "sheet:S").data == SSN.encode()


def test_openpyxl_workbooks_take_the_fast_path():
    book = xlsx_bytes({"S": [["name", "ssn", "n"], ["Pat", SSN, 12], ["Lee", None, 3.5]]})
    sheet = zipfile.ZipFile(io.BytesIO(book)).read("xl/worksheets/sheet1.xml")
    budget = Budget(Limits(), time.monotonic() + 10, ExtractionResult(), "body")
    assert fast_sheet(sheet, [b"name", b"ssn", b"Pat", SSN.encode(), b"Lee"], budget, "s")
    assert budget.result.segments[0].data.split(b"\n")[0] in (b"name\tssn\tn", b"0\t1\tn")


def test_shared_string_index_out_of_range_is_empty_not_an_error():
    data = ROW1 + b'<row r="2"><c r="A2" t="s"><v>999</v></c><c r="B2"><v>1</v></c></row>'
    r = extract(_with_sheet(data))
    seg = next(s for s in r.segments if s.where == "sheet:S")
    assert seg.data == b"ssn\n\t1"


def test_shared_strings_rich_text_numbers_and_comments_from_xlsxwriter():
    from extract_docs import xlsx_sst_bytes

    book = xlsx_sst_bytes(
        {"Payroll": [["Name", "SSN", "Salary"], ["Pat Doe", SSN, 55000], ["Lee", "Pat Doe", 1.5]],
         "Other": [["x"]]},
        comments={"D1": "reviewer note 219-09-9999"}, rich=("A5", "078-05-", "1121"))
    names = zipfile.ZipFile(io.BytesIO(book)).namelist()
    assert "xl/sharedStrings.xml" in names
    r = extract(book)
    payroll = next(s for s in r.segments if s.where == "sheet:Payroll")
    lines = payroll.data.decode().split("\n")
    assert lines[:3] == ["Name\tSSN\tSalary", f"Pat Doe\t{SSN}\t55000", "Lee\tPat Doe\t1.5"]
    assert lines[3] == "078-05-1121"  # rich text runs joined; blank row 4 skipped
    assert payroll.table.header == ("name", "ssn", "salary")
    assert any(s.where.startswith("part:comments") and b"219-09-9999" in s.data
               for s in r.segments)
    assert r.complete


def test_cells_hidden_in_a_broken_attribute_leave_the_fast_path():
    # not well-formed: a quote swallows the next cell; the regex alone would lose it
    data = (ROW1 + b'<row r="2"><c r="A2" x="<c r=\'B2\' t=\'inlineStr\'><is><t>'
            + SSN.encode() + b'</t></is></c>"><v>1</v></c></row>'
            b'<rowBreaks count="1"><brk id="1"/></rowBreaks>')
    assert _fast(data) is False
    r = extract(_with_sheet(data))
    assert ("parse_error", "sheet:S") in [(u.reason, u.where) for u in r.uninspectable]


def test_page_breaks_do_not_upset_the_fast_path():
    data = (ROW1 + b'<row r="2"><c r="A2"><v>1</v></c></row>'
            b'<rowBreaks count="1" manualBreakCount="1"><brk id="1" max="16383" man="1"/>'
            b"</rowBreaks>")
    assert _fast(data) is True
