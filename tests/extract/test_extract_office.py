"""Office documents, PDFs and RTF made by their own libraries: text and provenance come out."""

from __future__ import annotations

import pytest
from extract_docs import (
    SSN,
    by_where,
    docx_bytes,
    found,
    multipart_body,
    odp_bytes,
    ods_bytes,
    odt_bytes,
    pdf_bytes,
    pptx_bytes,
    reasons,
    xlsx_bytes,
    xlsx_sst_bytes,
)

from agent.extract import extract


def test_docx_body_table_header_footer_comments():
    doc = docx_bytes(f"Employee SSN {SSN} on file", header="CONFIDENTIAL header 111-22-3333",
                     footer="footer 222-33-4444", comment="comment 333-44-5555",
                     table=[["Name", "SSN"], ["Pat Doe", "444-55-6666"]])
    r = extract(doc, filename="hr.docx")
    parts = by_where(r)
    assert SSN.encode() in parts["part:body"]
    assert b"Pat Doe\t444-55-6666" in parts["part:body"]  # table cells stay on one line
    assert b"111-22-3333" in parts["part:header1"]
    assert b"222-33-4444" in parts["part:footer1"]
    assert b"333-44-5555" in parts["part:comments"]
    assert [(f.type, f.name) for f in r.files] == [("docx", "hr.docx")]
    assert r.complete


def test_docx_properties_and_deleted_text_are_read():
    import io

    import docx

    d = docx.Document()
    d.add_paragraph("visible")
    d.core_properties.subject = "Restricted: payroll 555-66-7777"
    out = io.BytesIO()
    d.save(out)
    r = extract(out.getvalue())
    assert found(r, "555-66-7777") == ["part:properties"]


@pytest.mark.parametrize("build", [xlsx_bytes, xlsx_sst_bytes])  # inline / shared strings
def test_xlsx_sheets_strings_numbers_and_header(build):
    book = build({
        "Payroll": [["Name", "SSN", "Salary"], ["Pat Doe", SSN, 55000],
                    ["Lee Roe", "219-09-9999", 61000.5]],
        "Accounts": [["Routing", "Account"], [21000021, 123456789012]],
        "Secret": [["note"], ["hidden 078-05-1121"]],
    }, hidden=("Secret",))
    r = extract(book)
    sheets = {s.where: s for s in r.segments if s.where.startswith("sheet:")}
    assert set(sheets) == {"sheet:Payroll", "sheet:Accounts", "sheet:Secret"}
    payroll = sheets["sheet:Payroll"]
    assert payroll.table.delimiter == b"\t"
    assert payroll.table.header == ("name", "ssn", "salary")
    assert payroll.data.split(b"\n")[1] == f"Pat Doe\t{SSN}\t55000".encode()
    assert b"61000.5" in payroll.data
    assert b"21000021\t123456789012" in sheets["sheet:Accounts"].data
    assert b"078-05-1121" in sheets["sheet:Secret"].data  # hidden sheets are read too
    assert r.files[0].type == "xlsx"


def test_xlsx_inline_strings_and_sparse_columns():
    import io

    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    ws.append(["id", None, None, "ssn"])
    ws.append([1, None, None, SSN])
    out = io.BytesIO()
    wb.save(out)
    r = extract(out.getvalue())
    seg = next(s for s in r.segments if s.where == "sheet:Data")
    assert seg.data.split(b"\n")[:2] == [b"id\t\t\tssn", f"1\t\t\t{SSN}".encode()]
    assert seg.table.header == ("id", "", "", "ssn")


def test_pptx_slides_in_order_with_notes():
    deck = pptx_bytes([("Agenda", None), (f"Case {SSN}", "say 219-09-9999 aloud"),
                       ("Thanks", "no numbers")])
    r = extract(deck)
    parts = by_where(r)
    assert parts["slide:1"] == b"Agenda"
    assert SSN.encode() in parts["slide:2"]
    assert b"219-09-9999" in parts["notes:2"]
    assert "notes:1" not in parts
    assert r.files[0].type == "pptx"


def test_odt_ods_odp():
    r = extract(odt_bytes(f"Open text {SSN}"))
    assert found(r, SSN) == ["part:content"]
    assert r.files[0].type == "odt"

    r = extract(ods_bytes({"People": [["Name", "SSN"], ["Pat", SSN]], "Other": [["x"]]}))
    people = next(s for s in r.segments if s.where == "sheet:People")
    assert people.table.header == ("name", "ssn")
    assert people.data == f"Name\tSSN\nPat\t{SSN}".encode()
    assert r.files[0].type == "ods"

    r = extract(odp_bytes(["first", f"second {SSN}"]))
    assert found(r, SSN) == ["slide:2"]
    assert r.files[0].type == "odp"


def test_pdf_page_by_page():
    r = extract(pdf_bytes(["Cover page", f"Applicant SSN {SSN}", "end"]))
    assert found(r, SSN) == ["page:2"]
    assert r.files[0].type == "pdf"
    assert r.complete


def test_pdf_with_password_is_encrypted():
    r = extract(pdf_bytes([f"SSN {SSN}"], user_password="hunter2"))
    assert reasons(r) == [("encrypted", "body")]
    assert not found(r, SSN)


def test_pdf_with_empty_user_password_is_read():
    # permissions-only encryption: any reader opens it, so must we
    r = extract(pdf_bytes([f"SSN {SSN}"], user_password=""))
    assert found(r, SSN) == ["page:1"]


@pytest.mark.parametrize("rtf, expected", [
    (rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 SSN 078-05-1120\par next}", "SSN 078-05-1120\nnext"),
    (rb"{\rtf1\ansi caf\'e9 \u8364? euro}", "café € euro"),
    (rb"{\rtf1{\*\generator Writer 078-05-1120;}body}", "body"),          # skipped destination
    (rb"{\rtf1 a{\pict\pngblip 0123456789abcdef}b}", "ab"),                # picture data
    (rb"{\rtf1{\header top 111-22-3333}body}", "top 111-22-3333body"),
])
def test_rtf(rtf, expected):
    r = extract(rtf)
    assert r.segments[0].data.decode() == expected
    assert r.files[0].type == "rtf"


def test_documents_inside_multipart_keep_filename_provenance():
    body, ctype = multipart_body([
        ("note", None, b"see attached", None),
        ("upload", "Q3.xlsx", xlsx_bytes({"Payroll": [["Name", "SSN"], ["Pat", SSN]]}),
         "application/vnd.ms-excel"),
        ("doc", "letter.docx", docx_bytes(f"letter {SSN}"), "application/octet-stream"),
    ])
    r = extract(body, ctype)
    assert found(r, SSN) == ["multipart:file=Q3.xlsx/sheet:Payroll",
                             "multipart:file=letter.docx/part:body"]
    assert [(f.where, f.type) for f in r.files] == [
        ("multipart:file=Q3.xlsx", "xlsx"), ("multipart:file=letter.docx", "docx")]
    assert r.complete


def test_type_comes_from_bytes_not_name():
    # an xlsx renamed to .txt and declared text/plain is still a spreadsheet
    body, ctype = multipart_body([
        ("f", "notes.txt", xlsx_bytes({"S": [["ssn"], [SSN]]}), "text/plain")])
    r = extract(body, ctype)
    assert r.files[0].type == "xlsx"
    assert found(r, SSN) == ["multipart:file=notes.txt/sheet:S"]


W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
BODY_CASES = [
    (b"<w:p><w:r><w:t>SSN 078-05-</w:t></w:r><w:r><w:t>1120</w:t></w:r></w:p>", f"SSN {SSN}"),
    (b'<w:p><w:r><w:t xml:space="preserve">a </w:t><w:tab/><w:t>b&amp;c</w:t></w:r></w:p>',
     "a \tb&c"),
    (b"<w:p><w:r><w:t>x</w:t><w:br/><w:t>y</w:t></w:r></w:p><w:p/><w:p><w:r><w:t>z</w:t>"
     b"</w:r></w:p>", "x\ny\n\nz"),
    (b"<w:p><w:del><w:r><w:delText>deleted 219-09-9999</w:delText></w:r></w:del></w:p>",
     "deleted 219-09-9999"),
    (b"<w:tbl><w:tr><w:tc><w:tcPr/><w:p><w:r><w:t>a</w:t></w:r></w:p><w:p><w:r><w:t>b</w:t>"
     b"</w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>c</w:t></w:r></w:p></w:tc></w:tr></w:tbl>",
     "a b\tc"),
    (b"<w:p><w:r><w:t/><w:t></w:t><w:t>only</w:t></w:r></w:p>", "only"),
    (b'<x:p xmlns:x="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><x:r>'
     b"<x:t>other prefix</x:t></x:r></x:p>", "other prefix"),
]


@pytest.mark.parametrize("body, expected", BODY_CASES)
@pytest.mark.parametrize("force_expat", [False, True])
def test_docx_body_shapes_fast_and_expat_agree(body, expected, force_expat):
    import io
    import zipfile

    xml = (b"<?xml version=\"1.0\"?><w:document " + W + b"><w:body>"
           + (b"<!-- forces the expat path -->" if force_expat else b"")
           + body + b"</w:body></w:document>")
    src = zipfile.ZipFile(io.BytesIO(docx_bytes("placeholder")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, xml if info.filename == "word/document.xml"
                         else src.read(info))
    r = extract(out.getvalue())
    assert by_where(r)["part:body"].decode() == expected
    assert r.complete


def test_docx_footnotes_and_endnotes_parts():
    import io
    import zipfile

    notes = (b'<w:footnotes ' + W + b'><w:footnote w:id="1"><w:p><w:r><w:t>fn ' + SSN.encode()
             + b"</w:t></w:r></w:p></w:footnote></w:footnotes>")
    ends = (b'<w:endnotes ' + W + b'><w:endnote w:id="1"><w:p><w:r><w:t>en 219-09-9999'
            b"</w:t></w:r></w:p></w:endnote></w:endnotes>")
    src = zipfile.ZipFile(io.BytesIO(docx_bytes("body")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("word/footnotes.xml", notes)
        dst.writestr("word/endnotes.xml", ends)
    r = extract(out.getvalue())
    assert found(r, SSN) == ["part:footnotes"]
    assert found(r, "219-09-9999") == ["part:endnotes"]
