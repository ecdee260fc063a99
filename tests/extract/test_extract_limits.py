"""Hostile documents and limits: each yields its exact reason, keeps what was read, never raises."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from extract_docs import SSN, docx_bytes, found, multipart_body, reasons, xlsx_bytes

from agent.extract import Limits, dispatch, extract

LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i + 1, (b"&lol%d;" % i if i else b"&lol;") * 10)
                     for i in range(9))
          + b"]><lolz>&lol9;</lolz>")


def _replace_member(package: bytes, name: str, data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data if info.filename == name else src.read(info))
    return out.getvalue()


def test_billion_laughs_in_docx_is_parse_error_not_expansion():
    doc = _replace_member(docx_bytes("body", header=f"header {SSN}"), "word/document.xml",
                          LAUGHS)
    t = time.monotonic()
    r = extract(doc)
    assert time.monotonic() - t < 2
    assert reasons(r) == [("parse_error", "part:body")]
    assert b"lollollol" not in b"".join(s.data for s in r.segments)
    assert found(r, SSN) == ["part:header1"]  # the other parts are still read


def test_external_entity_in_xlsx_sheet_is_parse_error():
    book = xlsx_bytes({"S": [["a"]]})
    xxe = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c></row>'
           b"</sheetData></worksheet>")
    r = extract(_replace_member(book, "xl/worksheets/sheet1.xml", xxe))
    assert reasons(r) == [("parse_error", "sheet:S")]
    assert b"root:" not in b"".join(s.data for s in r.segments)


def test_malformed_sheet_keeps_rows_read_before_the_error():
    # the comment sends the sheet to the expat path, which reports the break
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    sheet = (b"<worksheet " + ns + b"><sheetData><!-- exported -->"
             b'<row r="1"><c r="A1" t="inlineStr"><is><t>ssn</t></is></c></row>'
             b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + SSN.encode() + b"</t></is></c></row>"
             b'<row r="3"><c r="A3"><v>1</v></c><broken></sheetData></worksheet>')
    r = extract(_replace_member(xlsx_bytes({"S": [["a"]]}), "xl/worksheets/sheet1.xml", sheet))
    assert reasons(r) == [("parse_error", "sheet:S")]
    assert found(r, SSN) == ["sheet:S"]
    assert r.segments[0].table.header == ("ssn",)


def test_malformed_sheet_in_a_regular_shape_is_still_read_whole():
    # the regex path does not judge well-formedness: every cell's text is inspected
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    sheet = (b"<worksheet " + ns + b"><sheetData>"
             b'<row r="1"><c r="A1" t="inlineStr"><is><t>ssn</t></is></c></row>'
             b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + SSN.encode() + b"</t></is></c></row>"
             b"<broken></sheetData></worksheet>")
    r = extract(_replace_member(xlsx_bytes({"S": [["a"]]}), "xl/worksheets/sheet1.xml", sheet))
    assert found(r, SSN) == ["sheet:S"]


def test_shared_string_amplification_hits_size_limit():
    long_text = "x" * 50_000
    book = xlsx_bytes({"Big": [["ssn", "blob"], [SSN, long_text]]
                       + [["filler", long_text] for _ in range(2000)]})
    assert len(book) < 200_000  # one shared string, referenced 2000 times
    r = extract(book, limits=Limits(max_extracted_bytes=5_000_000, max_ratio=1e6))
    assert ("size_limit", "sheet:Big") in reasons(r)
    sheet = next(s for s in r.segments if s.where == "sheet:Big")
    assert sheet.table.header == ("ssn", "blob")
    assert SSN.encode() in sheet.data  # the rows read before the limit are kept
    assert sum(len(s.data) for s in r.segments) <= 5_000_000


def test_body_larger_than_the_byte_budget_is_inspected_up_to_it():
    body = f"SSN {SSN}\n".encode() * 100_000
    r = extract(body, "text/plain", limits=Limits(max_extracted_bytes=100_000))
    assert reasons(r) == [("size_limit", "body")]
    assert len(r.segments[0].data) == 100_000


def test_deadline_already_passed():
    r = extract(f"SSN {SSN}".encode(), deadline=time.monotonic() - 1)
    assert reasons(r) == [("time_limit", "body")]


def test_deadline_stops_a_long_walk_and_keeps_earlier_parts():
    body, ctype = multipart_body([("a", None, f"SSN {SSN}".encode(), None)]
                                 + [(f"f{i}", "x.txt", b"data", "text/plain")
                                    for i in range(20_000)])
    r = extract(body, ctype, limits=Limits(max_seconds=0.05))
    assert [u.reason for u in r.uninspectable] == ["time_limit"]
    assert found(r, SSN) == ["multipart:field=a"]


def test_a_bug_in_a_handler_is_internal_error_without_content(monkeypatch):
    def broken(blob, walker, kind):
        raise KeyError(SSN)  # a message that would leak content if it were recorded

    monkeypatch.setitem(dispatch.FILE_HANDLERS, "rtf", broken)
    body, ctype = multipart_body([
        ("doc", "a.rtf", rb"{\rtf1 hello}", None), ("note", None, b"still read", None)])
    r = extract(body, ctype)
    assert [(u.reason, u.where, u.detail) for u in r.uninspectable] == [
        ("internal_error", "multipart:file=a.rtf", "KeyError")]
    assert found(r, "still read") == ["multipart:field=note"]


@pytest.mark.parametrize("body, content_type, encoding", [
    (b"\x1f\x8b" + b"\0" * 100, None, None),
    (b"PK\x03\x04" + b"\xff" * 200, "application/zip", None),
    (b"%PDF-1.7\n" + b"garbage " * 50, "application/pdf", None),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, None, None),
    (b"--B\r\n", "multipart/form-data; boundary=B", None),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "image/png", None),
    (b"", "application/json", "gzip"),
    (b"x", "text/plain; charset=no-such-charset", "br"),
])
def test_junk_never_raises_and_never_passes_silently(body, content_type, encoding):
    r = extract(body, content_type, encoding, filename="junk.bin")
    assert r.uninspectable or not body  # something is said about it


def test_provenance_and_details_carry_no_content():
    book = xlsx_bytes({SSN: [["a"]]})  # a sheet *named* like an SSN is a name, allowed
    laughs = _replace_member(docx_bytes(f"x {SSN}"), "word/document.xml",
                             LAUGHS.replace(b"lol9;", b"lol9;" + SSN.encode()))
    body, ctype = multipart_body([("f", "a.docx", laughs, None), ("g", "b.xlsx", book, None)])
    r = extract(body, ctype)
    assert all(SSN not in u.detail for u in r.uninspectable)
    assert all(SSN not in u.where for u in r.uninspectable)


@pytest.mark.parametrize("image", [
    b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    b"\xff\xd8\xff\xe0" + b"\0" * 64,
    b"GIF89a" + b"\0" * 64,
])
def test_images_are_files_and_unsupported(image):
    body, ctype = multipart_body([("photo", "me.img", image, "image/x")])
    r = extract(body, ctype)
    assert reasons(r) == [("unsupported", "multipart:file=me.img")]
    assert r.files[0].type in ("png", "jpeg", "gif")


def test_legacy_doc_is_unsupported_but_strings_are_read():
    # an OLE compound file with a WordDocument stream name and cp1252 text in it
    ole = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "WordDocument".encode("utf-16-le")
           + b"\0" * 100 + f"Employee SSN {SSN}".encode("cp1252") + b"\0" * 100)
    r = extract(ole, filename="old.doc")
    assert reasons(r) == [("unsupported", "body")]
    assert r.files[0].type == "doc"
    assert found(r, SSN) == ["body"]


@pytest.mark.parametrize("prefix", [b"%PDF-1.7\n", b"PK\x03\x04", b"\x1f\x8b\x08\x00"])
def test_fake_signature_does_not_hide_text(prefix):
    body = prefix + f"name,ssn\nPat,{SSN}\n".encode()
    r = extract(body, "text/csv")
    assert [u.where for u in r.uninspectable] == ["body"]
    assert "body" in found(r, SSN)


def test_body_claiming_an_encoding_it_does_not_have_is_still_read():
    body = b"\x1f\x8b\x08\x00" + f"name,ssn\nPat,{SSN}\n".encode()
    r = extract(body, "text/csv", "gzip")
    assert reasons(r) == [("encoding_error", "body")]
    assert "body" in found(r, SSN)


def test_ods_repeated_cells_and_rows_cost_nothing_when_empty():
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Wide")
    row = TableRow()
    row.addElement(TableCell(numbercolumnsrepeated=16000))  # empty, then a value far right
    cell = TableCell(valuetype="string")
    cell.addElement(P(text=SSN))
    row.addElement(cell)
    table.addElement(row)
    table.addElement(TableRow(numberrowsrepeated=1_048_000))  # a million blank rows
    repeated = TableRow(numberrowsrepeated=1_000_000)
    c = TableCell(valuetype="string", numbercolumnsrepeated=1_000_000)
    c.addElement(P(text="x"))
    repeated.addElement(c)
    table.addElement(repeated)  # a million non-empty rows of a million cells: capped
    doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.save(out)
    t = time.monotonic()
    r = extract(out.getvalue())
    assert time.monotonic() - t < 5
    seg = next(s for s in r.segments if s.where == "sheet:Wide")
    assert seg.data.split(b"\n")[0] == b"\t" * 16000 + SSN.encode()
    assert len(seg.data) < 64 * 1024 * 1024


def test_encrypted_odf_manifest():
    from extract_docs import odt_bytes

    doc = odt_bytes(f"SSN {SSN}")
    manifest = zipfile.ZipFile(io.BytesIO(doc)).read("META-INF/manifest.xml")
    locked = manifest.replace(b'manifest:full-path="content.xml"',
                              b'manifest:full-path="content.xml"><manifest:encryption-data '
                              b'manifest:checksum-type="SHA1"/></manifest:file-entry><x y="1"')
    r = extract(_replace_member(doc, "META-INF/manifest.xml", locked))
    assert reasons(r) == [("encrypted", "body")]


def test_rtf_binary_blob_is_skipped_not_tokenized():
    body = rb"{\rtf1 before {\object\objdata \bin2000000 " + b"\x00" * 2_000_000 + rb"} after}"
    t = time.monotonic()
    r = extract(body)
    assert time.monotonic() - t < 1
    assert r.segments[0].data == b"before  after"
