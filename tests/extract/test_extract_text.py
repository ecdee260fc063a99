"""Charsets, text kinds and tables: UTF-16/32 with and without BOM, Latin-1, CSV/TSV, XML."""

from __future__ import annotations

import pytest
from extract_docs import SSN, found, reasons

from agent.extract import extract
from agent.extract.charset import nul_pattern_codec, to_ascii_compatible

LINE = f"Name: Pat Doe, SSN {SSN}, café\n"


@pytest.mark.parametrize("data, content_type", [
    (LINE.encode("utf-16"), None),                       # BOM, native order
    (LINE.encode("utf-16-le"), None),                    # no BOM: NUL pattern
    (LINE.encode("utf-16-be"), None),
    (b"\xff\xfe" + LINE.encode("utf-16-le"), "text/plain; charset=utf-8"),  # BOM beats header
    (LINE.encode("utf-16-be"), "text/plain; charset=UTF-16"),
    (LINE.encode("utf-32-le"), None),
    (LINE.encode("utf-32"), None),
    (b"\xef\xbb\xbf" + LINE.encode(), None),             # UTF-8 BOM is dropped
])
def test_utf16_and_utf32_are_transcoded_to_utf8(data, content_type):
    r = extract(data, content_type)
    assert r.segments[0].data == LINE.encode()
    assert r.complete


def test_declared_non_ascii_superset_is_transcoded():
    r = extract(LINE.encode("cp500"), "text/plain; charset=cp500")  # EBCDIC
    assert r.segments[0].data == LINE.encode()


@pytest.mark.parametrize("codec", ["utf-8", "latin-1", "cp1252"])
def test_ascii_supersets_pass_through_without_copy(codec):
    body = (LINE * 100).encode(codec)
    r = extract(body, f"text/plain; charset={codec}")
    assert r.segments[0].data is body  # no decode, no copy
    assert found(r, SSN) == ["body"]


@pytest.mark.parametrize("data, expected", [
    ("plain ascii text here".encode("utf-16-le"), "utf-16-le"),
    ("plain ascii text here".encode("utf-16-be"), "utf-16-be"),
    (b"plain ascii text here, no NULs at all", None),
    (bytes(range(256)) * 4, None),                       # binary: NULs, but no pattern
    (b"\0" * 64, None),
])
def test_nul_pattern(data, expected):
    assert nul_pattern_codec(data) == expected


def test_to_ascii_compatible_reports_transcoding():
    assert to_ascii_compatible(b"abc") == (b"abc", False)
    assert to_ascii_compatible("abcdefgh".encode("utf-16-le")) == (b"abcdefgh", True)


@pytest.mark.parametrize("body, delimiter, header", [
    (f"Name,SSN,Dept\nPat,{SSN},HR\nLee,219-09-9999,IT\n", b",", ("name", "ssn", "dept")),
    (f"name\tssn\nPat\t{SSN}\n", b"\t", ("name", "ssn")),
    (f"name;ssn\nPat;{SSN}\nLee;219-09-9999\n", b";", ("name", "ssn")),
    (f'"Full Name",SSN\n"Doe, Pat",{SSN}\n', b",", ("full name", "ssn")),  # quoted comma
    (f" Employee ID |SSN \n7|{SSN}\n", b"|", ("employee id", "ssn")),
])
def test_tables_keep_delimiter_and_header(body, delimiter, header):
    r = extract(body.encode(), "text/plain")
    seg = r.segments[0]
    assert seg.table is not None
    assert (seg.table.delimiter, seg.table.header) == (delimiter, header)
    assert seg.data == body.encode()


@pytest.mark.parametrize("body", [
    "Dear Pat, thanks for the note. See you Monday, at noon.\nBest, Lee\n",  # prose, commas vary
    f"single line, with, commas {SSN}\n",
    "",
])
def test_prose_is_not_a_table(body):
    r = extract(body.encode(), "text/plain")
    assert all(s.table is None for s in r.segments)


def test_utf16_csv_from_excel_is_a_table():
    body = f"Name\tSSN\r\nPat\t{SSN}\r\n".encode("utf-16")
    r = extract(body, filename="export.txt")
    seg = r.segments[0]
    assert seg.table.header == ("name", "ssn")
    assert r.files[0].type == "tsv"


def test_csv_declared_but_not_tabular_is_text():
    r = extract(b"just one line of text", "text/csv")
    assert r.segments[0].table is None


def test_xml_text_and_attributes():
    body = (f'<?xml version="1.0"?><emp id="7" ssn="{SSN}"><name>Pat &amp; Co</name>'
            "<note><![CDATA[cdata 219-09-9999]]></note></emp>").encode()
    r = extract(body, "application/xml")
    data = r.segments[0].data
    assert SSN.encode() in data and b"Pat & Co" in data and b"219-09-9999" in data
    assert r.segments[0].where == "body"
    assert r.complete


def test_xml_with_doctype_but_no_entities_is_read():
    r = extract(b'<!DOCTYPE note SYSTEM "note.dtd"><note>078-05-1120</note>', "text/xml")
    assert found(r, SSN) == ["body"]


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    b"<lolz>&lol2;</lolz>",
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>',
    b"<r><unclosed></r>",
])
def test_hostile_or_broken_xml_body_is_parse_error(body):
    r = extract(body, "application/xml")
    assert reasons(r) == [("parse_error", "body")]
    assert b"root:" not in b"".join(s.data for s in r.segments)


def test_sniffed_markup_that_is_not_xml_is_read_as_text():
    body = f"<3 you, SSN {SSN} <b>bold".encode()
    r = extract(body, "text/plain")
    assert r.complete
    assert found(r, SSN) == ["body"]


def test_html_is_read_as_text():
    r = extract(f"<!DOCTYPE html><html><p>SSN {SSN}</p></html>".encode(), "text/html")
    assert found(r, SSN) == ["body"]
    assert r.complete


def test_binary_body_keeps_printable_strings():
    # a protobuf-like body: field tags and lengths around readable strings
    body = b"\x0a\x0bPat Doe\x00\x01\x12\x0b" + SSN.encode() + b"\x18\x96\x01\x00\xff"
    r = extract(body, "application/x-protobuf")
    assert found(r, SSN) == ["body"]


def test_where_names_the_body_and_inner_paths_are_relative():
    r = extract(f"SSN {SSN}".encode(), "text/plain", where="response")
    assert r.segments[0].where == "response"
    r = extract(b"x", None, "bogus", where="response")
    assert reasons(r) == [("encoding_error", "response")]
    r = extract(b'{"a": "b"}', "application/json", where="response")
    assert r.segments[0].where == "json:$.a"


@pytest.mark.parametrize("encoding", [None, "gzip", "br"])
def test_empty_body_is_complete_and_empty(encoding):
    r = extract(b"", "application/json", encoding)
    assert r.complete and r.segments == [] and r.files == []
