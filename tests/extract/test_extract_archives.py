"""Archives and compressed files: members with provenance, and the usual zip attacks."""

from __future__ import annotations

import bz2
import io
import lzma
import shutil
import struct
import subprocess
import zipfile

import pytest
import zstandard
from extract_docs import (
    SSN,
    docx_bytes,
    found,
    gzip_file,
    reasons,
    tar_bytes,
    xlsx_bytes,
    zip_bytes,
)

from agent.extract import Limits, extract


def test_zip_members_are_read_recursively():
    z = zip_bytes({"a/notes.txt": f"SSN {SSN}".encode(), "b/book.xlsx":
                   xlsx_bytes({"People": [["ssn"], ["219-09-9999"]]}), "empty/": b""})
    r = extract(z, filename="bundle.zip")
    assert found(r, SSN) == ["zip:member=a/notes.txt"]
    assert found(r, "219-09-9999") == ["zip:member=b/book.xlsx/sheet:People"]
    assert [(f.where, f.type) for f in r.files] == [
        ("body", "zip"), ("zip:member=a/notes.txt", "text"), ("zip:member=b/book.xlsx", "xlsx")]
    assert r.complete


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2,
                                         zipfile.ZIP_LZMA])
def test_zip_compression_methods(compression):
    r = extract(zip_bytes({"n.txt": f"SSN {SSN}".encode()}, compression))
    assert found(r, SSN) == ["zip:member=n.txt"]


def test_tar_and_tar_gz():
    members = {"dir/a.csv": f"name,ssn\nPat,{SSN}\n".encode(), "b.txt": b"hello"}
    r = extract(tar_bytes(members))
    assert found(r, SSN) == ["tar:member=dir/a.csv"]
    assert r.files[0].type == "tar"
    r = extract(tar_bytes(members, "w:gz"))
    assert found(r, SSN) == ["gzip/tar:member=dir/a.csv"]
    assert [f.type for f in r.files] == ["gzip", "tar", "csv", "text"]


@pytest.mark.parametrize("compress, kind", [
    (lambda d: gzip_file(d, "payroll.csv"), "gzip:member=payroll.csv"),
    (lambda d: gzip_file(d), "gzip"),
    (bz2.compress, "bzip2"),
    (lambda d: lzma.compress(d), "xz"),
    (lambda d: zstandard.ZstdCompressor().compress(d), "zstd"),
])
def test_compressed_files(compress, kind):
    r = extract(compress(f"name,ssn\nPat,{SSN}\n".encode()))
    assert found(r, SSN) == [kind]
    assert r.segments[0].table.header == ("name", "ssn")


def test_truncated_gzip_file_keeps_partial_text():
    data = gzip_file((f"row {SSN}\n" * 5000).encode())
    r = extract(data[: len(data) // 2])
    assert reasons(r) == [("encoding_error", "body")]
    assert found(r, SSN) == ["gzip"]


def test_nesting_past_max_depth():
    data = f"SSN {SSN}".encode()
    for i in range(8):
        data = zip_bytes({f"level{i}.zip" if i else "secret.txt": data})
    r = extract(data, limits=Limits(max_depth=4))
    assert [u.reason for u in r.uninspectable] == ["depth_limit"]
    assert r.uninspectable[0].where.count("zip:member=") == 5
    assert not found(r, SSN)
    r = extract(data, limits=Limits(max_depth=10))
    assert r.complete and found(r, SSN)


def test_zip_bomb_member_stops_at_ratio():
    limits = Limits(max_ratio=100, min_ratio_floor=64 * 1024)
    bomb = zip_bytes({"zeros.txt": f"SSN {SSN} ".encode() + b" " * (100 * 1024 * 1024),
                      "after.txt": b"219-09-9999 read after the bomb"})
    r = extract(bomb, limits=limits)
    assert reasons(r) == [("ratio_limit", "zip:member=zeros.txt")]
    assert found(r, SSN) == ["zip:member=zeros.txt"]          # the start is inspected
    assert found(r, "219-09-9999") == ["zip:member=after.txt"]  # siblings still are
    assert r.bytes_extracted < 20 * 1024 * 1024


def test_nested_zip_bomb_is_bounded_by_total_size():
    layer = zip_bytes({"z.txt": b"\0" * (5 * 1024 * 1024)})
    data = zip_bytes({f"{i}.zip": layer for i in range(30)})
    r = extract(data, limits=Limits(max_extracted_bytes=20 * 1024 * 1024, max_ratio=1e6))
    assert "size_limit" in [u.reason for u in r.uninspectable]


def _patch_central(data: bytes, index: int, offset: int, fmt: str, value: int) -> bytes:
    """Rewrite a field of the index-th central directory record."""
    pos = -1
    for _ in range(index + 1):
        pos = data.index(b"PK\x01\x02", pos + 1)
    return data[:pos + offset] + struct.pack(fmt, value) + data[pos + offset +
                                                                struct.calcsize(fmt):]


def test_overlapping_entries_are_refused():
    # the "better zip bomb" shape: several directory entries share one local file
    z = zip_bytes({"a.txt": b"A" * 1000, "b.txt": b"B" * 1000})
    z = _patch_central(z, 1, 42, "<I", 0)  # b.txt's header offset -> a.txt's
    r = extract(z)
    assert reasons(r) == [("parse_error", "body")]
    assert "overlap" in r.uninspectable[0].detail


def test_huge_declared_size_is_not_trusted():
    z = zip_bytes({"a.txt": f"SSN {SSN}".encode()})
    z = _patch_central(z, 0, 24, "<I", 0xFFFFFFF0)  # uncompressed size: ~4 GB
    r = extract(z)
    assert found(r, SSN) == ["zip:member=a.txt"]
    assert r.bytes_extracted < 100


def test_declared_size_smaller_than_data_is_parse_error_with_partial_text():
    z = zip_bytes({"a.txt": f"SSN {SSN} ".encode() + b"filler text " * 100_000})
    z = _patch_central(z, 0, 24, "<I", 600_000)
    r = extract(z)
    assert reasons(r) == [("parse_error", "zip:member=a.txt")]
    assert found(r, SSN) == ["zip:member=a.txt"]


def test_encrypted_zip_entry_flag():
    z = zip_bytes({"secret.txt": f"SSN {SSN}".encode(), "open.txt": b"219-09-9999"})
    z = _patch_central(z, 0, 8, "<H", 0x1)  # general purpose flag bit 0: encrypted
    r = extract(z)
    assert reasons(r) == [("encrypted", "zip:member=secret.txt")]
    assert ("zip:member=secret.txt", "encrypted") in [(f.where, f.type) for f in r.files]
    assert found(r, "219-09-9999") == ["zip:member=open.txt"]


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip not installed")
def test_encrypted_zip_made_by_zip_tool(tmp_path):
    (tmp_path / "secret.txt").write_text(f"SSN {SSN}")
    subprocess.run(["zip", "-q", "-P", "pw123", "out.zip", "secret.txt"], cwd=tmp_path,
                   check=True)
    r = extract((tmp_path / "out.zip").read_bytes())
    assert reasons(r) == [("encrypted", "zip:member=secret.txt")]
    assert not found(r, SSN)


def test_encrypted_office_document():
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(docx_bytes(f"SSN {SSN}"))).encrypt("pw123", out)
    assert msoffcrypto is not None
    r = extract(out.getvalue(), filename="locked.docx")
    assert reasons(r) == [("encrypted", "body")]
    assert [(f.name, f.type) for f in r.files] == [("locked.docx", "encrypted-office")]


def test_too_many_zip_entries():
    z = zip_bytes({f"f{i}.txt": b"x" for i in range(40)})
    r = extract(z, limits=Limits(max_parts=10))
    assert reasons(r) == [("part_limit", "body")]
    assert len(r.segments) == 10


def test_corrupt_zip_is_parse_error():
    z = zip_bytes({"a.txt": b"hello"})
    r = extract(z[:-30])  # end of central directory cut off
    assert reasons(r) == [("parse_error", "body")]
