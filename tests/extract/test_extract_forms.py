"""Form bodies: urlencoded fields and multipart parts, valid and broken."""

from __future__ import annotations

import pytest
from extract_docs import SSN, docx_bytes, found, multipart_body, reasons, zip_bytes

from agent.extract import Limits, extract


def test_urlencoded_every_field_with_name():
    body = b"title=Hello&comment=SSN+078-05-1120+for+Pat&empty=&flag&n%C3%A4me=caf%C3%A9"
    r = extract(body, "application/x-www-form-urlencoded; charset=UTF-8")
    assert [(s.where, s.field, s.data) for s in r.segments] == [
        ("form:title", "title", b"Hello"),
        ("form:comment", "comment", f"SSN {SSN} for Pat".encode()),
        ("form:(unnamed)", None, b"flag"),
        ("form:näme", "näme", "café".encode()),
    ]
    assert r.complete


def test_urlencoded_field_holding_json_is_walked():
    body = b"payload=%7B%22user%22%3A%7B%22ssn%22%3A%22078-05-1120%22%7D%7D"
    r = extract(body, "application/x-www-form-urlencoded")
    seg = r.segments[0]
    assert (seg.where, seg.field, seg.data) == ("form:payload/json:$.user.ssn", "ssn",
                                                SSN.encode())


def test_json_sent_with_a_form_type_is_read_as_json():
    r = extract(b'{"ssn": "078-05-1120"}', "application/x-www-form-urlencoded")
    assert found(r, SSN) == ["json:$.ssn"]


def test_too_many_form_fields():
    body = b"&".join(b"f%d=v" % i for i in range(50))
    r = extract(body, "application/x-www-form-urlencoded", limits=Limits(max_parts=10))
    assert reasons(r) == [("part_limit", "body")]
    assert len(r.segments) == 10  # the first ten were read


def test_multipart_fields_and_files():
    body, ctype = multipart_body([
        ("subject", None, b"Quarterly numbers", None),
        ("message", None, f"SSN {SSN}".encode(), "text/plain; charset=utf-8"),
        ("attachment", "notes.txt", b"Employee 219-09-9999", "text/plain"),
        ("meta", None, b'{"owner": {"ssn": "078-05-1121"}}', "application/json"),
    ])
    r = extract(body, ctype)
    assert [(s.where, s.field) for s in r.segments] == [
        ("multipart:field=subject", "subject"),
        ("multipart:field=message", "message"),
        ("multipart:file=notes.txt", "attachment"),
        ("multipart:field=meta/json:$.owner.ssn", "ssn"),
    ]
    assert [(f.where, f.name, f.type, f.size) for f in r.files] == [
        ("multipart:file=notes.txt", "notes.txt", "text", 20)]
    assert r.complete


def test_zip_in_zip_in_multipart():
    inner = zip_bytes({"hr/letter.docx": docx_bytes(f"letter {SSN}")})
    outer = zip_bytes({"archive/inner.zip": inner, "readme.txt": b"nothing here"})
    body, ctype = multipart_body([("file", "backup.zip", outer, "application/zip")])
    r = extract(body, ctype)
    assert found(r, SSN) == [
        "multipart:file=backup.zip/zip:member=archive/inner.zip/zip:member=hr/letter.docx"
        "/part:body"]
    top = "multipart:file=backup.zip"
    assert [(f.where, f.name, f.type) for f in r.files] == [
        (top, "backup.zip", "zip"),
        (f"{top}/zip:member=archive/inner.zip", "archive/inner.zip", "zip"),
        (f"{top}/zip:member=archive/inner.zip/zip:member=hr/letter.docx", "hr/letter.docx",
         "docx"),
        (f"{top}/zip:member=readme.txt", "readme.txt", "text")]
    assert r.complete


def test_field_part_without_filename_holding_a_file_is_a_file():
    body, ctype = multipart_body([("blob", None, docx_bytes(f"x {SSN}"), None)])
    r = extract(body, ctype)
    assert found(r, SSN) == ["multipart:field=blob/part:body"]
    assert r.files[0].type == "docx"


def test_nested_multipart_mixed():
    inner, inner_type = multipart_body([("a", "one.txt", f"SSN {SSN}".encode(), "text/plain")],
                                       boundary="innerB")
    body, ctype = multipart_body([("files", None, inner, inner_type)])
    r = extract(body, ctype)
    assert found(r, SSN) == ["multipart:field=files/multipart:file=one.txt"]


@pytest.mark.parametrize("content_type", [
    "multipart/form-data",                          # no boundary
    "multipart/form-data; boundary=",               # empty boundary
    "multipart/form-data; boundary=notTheOneUsed",  # boundary never appears
])
def test_multipart_without_usable_boundary_is_parse_error_but_still_scanned(content_type):
    body, _ = multipart_body([("message", None, f"SSN {SSN}".encode(), None)])
    r = extract(body, content_type)
    assert reasons(r) == [("parse_error", "body")]
    assert found(r, SSN) == ["body"]  # the raw body is scanned rather than nothing


def test_truncated_multipart_keeps_parts_read_and_the_partial_one():
    body, ctype = multipart_body([
        ("first", None, f"SSN {SSN}".encode(), None),
        ("second", "b.txt", b"Employee 219-09-9999 and more text that is cut", "text/plain"),
    ])
    cut = body[: body.index(b"and more")]
    r = extract(cut, ctype)
    assert reasons(r) == [("parse_error", "body")]
    assert found(r, SSN) == ["multipart:field=first"]
    assert found(r, "219-09-9999") == ["multipart:file=b.txt"]


def test_too_many_multipart_parts():
    body, ctype = multipart_body([(f"f{i}", None, b"v", None) for i in range(30)])
    r = extract(body, ctype, limits=Limits(max_parts=5))
    assert reasons(r) == [("part_limit", "body")]
    assert len(r.segments) == 5


def test_malformed_part_headers_are_parse_error():
    body = b"--B\r\nContent-Disposition form-data no colon\r\n\r\nx\r\n--B--\r\n"
    r = extract(body, "multipart/form-data; boundary=B")
    assert reasons(r) == [("parse_error", "body")]


def _cte_multipart(parts: list[tuple[str, str | None, bytes, str, str]]) -> tuple[bytes, str]:
    """Parts of (name, filename, encoded data, content type, Content-Transfer-Encoding)."""
    boundary = "----cteBoundary42"
    out = []
    for name, filename, data, ctype, cte in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disp}\r\nContent-Type: {ctype}\r\n"
                   f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def test_transfer_encoded_parts_are_decoded():
    import base64
    import quopri

    from extract_docs import docx_bytes

    note = f"Client SSN {SSN} – résumé attached".encode()
    qp = quopri.encodestring(note.replace(b"SSN ", b"SSN " + b" " * 80))   # soft line breaks
    assert b"=\n" in qp or b"=\r\n" in qp
    body, ctype = _cte_multipart([
        ("note", None, qp, "text/plain; charset=utf-8", "quoted-printable"),
        ("file", "c.docx", base64.encodebytes(docx_bytes(f"contract {SSN}")),
         "application/octet-stream", "base64"),
        ("bad", None, b"not base64 at all !!", "text/plain", "base64"),
        ("labelled", None, f"SSN {SSN} plain".encode(), "text/plain", "base64"),
    ])
    r = extract(body, ctype)
    assert sorted(found(r, SSN)) == ["multipart:field=labelled", "multipart:field=note",
                                     "multipart:file=c.docx/part:body"]
    assert [f.type for f in r.files if f.where == "multipart:file=c.docx"] == ["docx"]
    assert found(r, "not base64 at all") == ["multipart:field=bad"]
