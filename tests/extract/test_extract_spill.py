"""Text past Limits.memory_text_bytes spills to an unnamed 0600 file and is still inspected whole.

Small thresholds keep the documents small; the documents are made by their own libraries.
"""

from __future__ import annotations

import io
import os
import random
import stat
import zipfile
from pathlib import Path

import pytest
from extract_docs import (
    docx_bytes,
    gzip_file,
    multipart_body,
    ods_bytes,
    reasons,
    xlsx_bytes,
    zip_bytes,
)

import agent.inspect as inspect_mod
from agent.detect import Scanner
from agent.extract import Limits, Segment, archives, extract, package, xlsx
from agent.extract.ooxml import RunText
from agent.extract.spool import SpilledSegment, Spool
from agent.inspect import Inspector, _pieces

KiB = 1024
# A made-up number of valid shape (078-05-1120 of extract_docs is a known-invalid SSN the
# detector rightly ignores; these tests need one it reports).
SSN = "536-22-5555"
LINE = "The county board reviewed the winter road plan and the library hours"


def prose(lines: int, seed: int = 0) -> str:
    rnd = random.Random(seed)
    return "\n".join(f"{LINE} item {rnd.randrange(10**6)} page {i}" for i in range(lines))


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner()


def spill_limits(tmp_path: Path, **kw) -> Limits:
    return Limits(memory_text_bytes=kw.pop("memory_text_bytes", 64 * KiB), spill_dir=str(tmp_path),
                  max_seconds=60.0, **kw)


def spool_fds(directory: Path) -> list[int]:
    """This process's open descriptors on files (named or not) in ``directory``."""
    out = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith(str(directory) + "/"):
            out.append(int(name))
    return out


# ------------------------------------------------------------------ bodies of every producer

def _docx():
    return docx_bytes(prose(15_000) + f"\nlast SSN {SSN}"), None, "big.docx"


def _xlsx():
    rows = [["name", "ssn", "note"]] + [[f"person {i}", "", LINE] for i in range(6_000)]
    rows.append(["last", SSN, "end"])
    return xlsx_bytes({"Payroll": rows}), None, "big.xlsx"


def _ods():
    rows = [["name", "ssn"]] + [[f"person {i}", LINE] for i in range(4_000)] + [["last", SSN]]
    return ods_bytes({"Payroll": rows}), None, "big.ods"


def _text():
    return (prose(12_000) + f"\nlast SSN {SSN}\n").encode(), "text/plain", None


def _csv():
    lines = ["name,ssn,note"] + [f"person {i},,{LINE}" for i in range(12_000)] + [f"last,{SSN},end"]
    return "\r\n".join(lines).encode(), "text/csv", None


def _zip():
    members = {f"notes/{i}.txt": prose(400, seed=i).encode() for i in range(40)}
    members["notes/last.txt"] = f"last SSN {SSN}".encode()
    return zip_bytes(members), None, "notes.zip"


def _json():
    import json

    items = [{"text": f"{LINE} {i}", "n": i} for i in range(8_000)] + [{"ssn": SSN}]
    return json.dumps({"items": items}).encode(), "application/json", None


def _multipart():
    body, ctype = multipart_body([("comment", None, prose(3_000).encode(), None),
                                  ("file", "big.docx", _docx()[0], None),
                                  ("file2", "t.csv.gz", gzip_file(_csv()[0], "t.csv"), None)])
    return body, ctype, None


def _text_gz():
    return gzip_file(_text()[0], "t.txt"), None, "t.txt.gz"


def _csv_gz():
    return gzip_file(_csv()[0], "t.csv"), None, "t.csv.gz"


# bodies whose text is produced by extraction (the body itself is never spilled: see below)
PRODUCERS = {"docx": _docx, "xlsx": _xlsx, "ods": _ods, "textgz": _text_gz, "csvgz": _csv_gz,
             "zip": _zip, "json": _json, "multipart": _multipart}


@pytest.mark.parametrize("kind", sorted(PRODUCERS))
def test_spilled_text_is_the_text_kept_in_memory(kind, tmp_path):
    """Spilling changes where text lives, not what it is: same segments, provenance, layout."""
    body, ctype, name = PRODUCERS[kind]()
    memory = extract(body, ctype, filename=name, limits=Limits(max_spilled_bytes=0, max_seconds=60))
    spilled = extract(body, ctype, filename=name, limits=spill_limits(tmp_path))
    try:
        assert memory.spool is None
        assert any(isinstance(s, SpilledSegment) for s in spilled.segments)
        assert [(s.where, s.field, s.table, s.data) for s in spilled.segments] == \
               [(s.where, s.field, s.table, s.data) for s in memory.segments]
        assert [s.size for s in spilled.segments] == [len(s.data) for s in memory.segments]
        assert spilled.bytes_extracted == memory.bytes_extracted
        assert reasons(spilled) == reasons(memory) == []
        assert os.listdir(tmp_path) == []          # the spool has no name on disk
        held = sum(s.size for s in spilled.segments if not isinstance(s, SpilledSegment))
        assert held <= 64 * KiB
    finally:
        spilled.close()
    assert spool_fds(tmp_path) == []


def test_small_body_never_touches_disk(tmp_path, scanner):
    body, ctype, name = _text()
    small = body[-5_000:]
    r = extract(small, ctype, limits=spill_limits(tmp_path))
    assert r.spool is None and not any(isinstance(s, SpilledSegment) for s in r.segments)
    result = Inspector(scanner, spill_limits(tmp_path)).inspect(small, ctype)
    assert result.counts.get("SSN") == 1
    assert os.listdir(tmp_path) == [] and spool_fds(tmp_path) == []


def test_default_limits_keep_ordinary_documents_in_memory():
    r = extract(_docx()[0], filename="big.docx")
    assert Limits().memory_text_bytes == 16 * 1024**2 and Limits().max_spilled_bytes == 512 * 1024**2
    assert r.spool is None


# ------------------------------------------------------------------ inspection

class WatchingScanner:
    """The real scanner, noting the spool files open while the body is being scanned."""

    def __init__(self, scanner: Scanner, directory: Path):
        self.scanner, self.directory = scanner, directory
        self.seen: list[tuple[str, int, list[str]]] = []

    def scan(self, segments, deadline=None):
        assert not any(isinstance(s, SpilledSegment) for s in segments)
        for fd in spool_fds(self.directory):
            st = os.stat(f"/proc/self/fd/{fd}")
            self.seen.append((os.readlink(f"/proc/self/fd/{fd}"), stat.S_IMODE(st.st_mode),
                              os.listdir(self.directory)))
        return self.scanner.scan(segments, deadline=deadline)


@pytest.mark.parametrize("kind, where", [
    ("docx", "part:body"),
    ("xlsx", "sheet:Payroll"),
    ("csvgz", "gzip:member=t.csv"),
    ("zip", "zip:member=notes/last.txt"),
    ("json", "json:$.items[8000].ssn"),
])
@pytest.mark.parametrize("piece", [None, 48 * KiB])
def test_ssn_at_the_very_end_of_spilled_text_is_found(kind, where, piece, tmp_path, scanner,
                                                      monkeypatch):
    if piece:   # many pieces cut straight from the spool file
        monkeypatch.setattr(inspect_mod, "PIECE_BYTES", piece)
        monkeypatch.setattr(inspect_mod, "PIECE_OVERLAP", 8 * KiB)
    body, ctype, name = PRODUCERS[kind]()
    watch = WatchingScanner(scanner, tmp_path)
    result = Inspector(watch, spill_limits(tmp_path)).inspect(body, ctype, filename=name)
    assert result.complete, result.uninspectable
    ssn = result.detections["SSN"]
    assert (ssn.count, ssn.where) == (1, [where])
    reference = Inspector(scanner, Limits(max_spilled_bytes=0, max_seconds=60)).inspect(
        body, ctype, filename=name)
    assert {t: d.to_dict() for t, d in result.detections.items()} == \
           {t: d.to_dict() for t, d in reference.detections.items()}
    assert result.bytes_extracted == reference.bytes_extracted
    # while scanning: one spool, unnamed, readable by the agent's user only
    assert watch.seen
    for target, mode, listing in watch.seen:
        assert target.endswith("(deleted)")
        assert mode == 0o600
        assert listing == []
    # afterwards: nothing open, nothing on disk
    assert spool_fds(tmp_path) == [] and os.listdir(tmp_path) == []


@pytest.mark.parametrize("spill", [0, 4096 * KiB])
def test_a_run_of_whole_segments_without_findings_is_no_error(spill, tmp_path, scanner,
                                                              monkeypatch):
    """Piecewise scanning of many clean segments (was internal_error: an empty generator of
    findings was taken for findings)."""
    monkeypatch.setattr(inspect_mod, "PIECE_BYTES", 48 * KiB)
    body, ctype, name = _zip()
    result = Inspector(scanner, spill_limits(tmp_path, max_spilled_bytes=spill)).inspect(
        body, ctype, filename=name)
    assert result.complete, result.uninspectable
    assert result.counts == {"SSN": 1}


def test_a_big_spilled_segment_is_scanned_in_real_size_pieces(tmp_path, scanner):
    """Defaults for pieces (4 MiB, 64 KiB overlap): 9 MB of gzip-encoded text spilled whole."""
    lines = [f"{LINE} {i}" for i in range(120_000)]
    text = ("\n".join(lines) + f"\nSSN {SSN}\n").encode()
    assert len(text) > 2 * inspect_mod.PIECE_BYTES
    watch = WatchingScanner(scanner, tmp_path)
    r = Inspector(watch, spill_limits(tmp_path)).inspect(gzip_file(text), "text/plain", "gzip")
    assert r.complete and r.counts == {"SSN": 1} and r.detections["SSN"].where == ["body"]
    assert r.bytes_extracted == len(text) and len(watch.seen) >= 3
    assert spool_fds(tmp_path) == [] and os.listdir(tmp_path) == []


# ------------------------------------------------------------------ a body that is its own text

RESIDENT = {"text": _text, "csv": _csv}


@pytest.mark.parametrize("kind", sorted(RESIDENT))
def test_a_body_that_is_its_own_text_is_not_copied_to_disk(kind, tmp_path, scanner):
    """The caller holds the body anyway: it is scanned where it is, never spilled."""
    body, ctype, _ = RESIDENT[kind]()
    lim = spill_limits(tmp_path, memory_text_bytes=16 * KiB)
    r = extract(body, ctype, limits=lim)
    assert r.spool is None and len(r.segments) == 1 and r.segments[0].data is body
    result = Inspector(scanner, lim).inspect(body, ctype)
    assert result.complete and result.counts == {"SSN": 1}
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ the on-disk cap

@pytest.mark.parametrize("kind, where", [
    ("text", "body"),
    ("docx", "part:body"),
    ("xlsx", "sheet:Payroll"),
    ("zip", "zip:member="),
])
def test_past_the_spill_cap_is_size_limit(kind, where, tmp_path, scanner):
    body, ctype, name = (PRODUCERS | RESIDENT)[kind]()
    lim = spill_limits(tmp_path, memory_text_bytes=16 * KiB, max_spilled_bytes=100 * KiB)
    r = extract(body, ctype, filename=name, limits=lim)
    try:
        assert [u.reason for u in r.uninspectable] == ["size_limit"]
        assert r.uninspectable[0].where.startswith(where)
        assert 100 * KiB <= sum(s.size for s in r.segments) <= 116 * KiB
    finally:
        r.close()
    result = Inspector(scanner, lim).inspect(body, ctype, filename=name)
    assert "size_limit" in result.uninspectable_reasons and not result.complete
    assert "SSN" not in result.counts      # the SSN at the end was past the cap
    assert spool_fds(tmp_path) == [] and os.listdir(tmp_path) == []


def test_text_before_the_cap_is_still_inspected(tmp_path, scanner):
    body = (f"first SSN {SSN}\n" + prose(20_000)).encode()
    lim = spill_limits(tmp_path, memory_text_bytes=0, max_spilled_bytes=200 * KiB)
    result = Inspector(scanner, lim).inspect(body, "text/plain")
    assert result.uninspectable_reasons == {"size_limit"}
    assert result.counts == {"SSN": 1}


def test_unusable_spill_directory_fails_closed(tmp_path, scanner):
    lim = spill_limits(tmp_path / "missing")
    body, ctype, name = _docx()
    r = extract(body, ctype, filename=name, limits=lim)
    assert [(u.reason, u.where) for u in r.uninspectable] == [("size_limit", "part:body")]
    assert "ENOENT" in r.uninspectable[0].detail and str(tmp_path) not in r.uninspectable[0].detail
    result = Inspector(scanner, lim).inspect(body, ctype, filename=name)
    assert result.uninspectable_reasons == {"size_limit"}


# ------------------------------------------------------------------ the spool itself

def test_spool_without_o_tmpfile_is_unlinked_at_once(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    spool = Spool(str(tmp_path))
    try:
        assert os.listdir(tmp_path) == []
        assert stat.S_IMODE(os.fstat(spool.fileno()).st_mode) == 0o600
        assert os.fstat(spool.fileno()).st_nlink == 0
        assert spool.append(b"abc") == 0 and spool.append(b"defg") == 3
        assert spool.read(1, 4) == b"bcde"
    finally:
        spool.close()
    assert spool_fds(tmp_path) == []


def test_spilled_segment_reads_like_a_slice_across_extents(tmp_path):
    rnd = random.Random(7)
    spool = Spool(str(tmp_path))
    text = bytes(rnd.randrange(256) for _ in range(5_000))
    other = b"x" * 100
    extents, pos = [], 0
    while pos < len(text):     # extents of the segment interleaved with another writer's
        n = rnd.randrange(1, 700)
        extents.append((spool.append(text[pos:pos + n]), len(text[pos:pos + n])))
        spool.append(other)
        pos += n
    seg = SpilledSegment(spool, extents, "body", "f")
    try:
        assert seg.size == len(text) and seg.data == text
        for _ in range(300):
            a, b = rnd.randrange(-10, 5_100), rnd.randrange(-10, 5_100)
            assert seg.read(a, b) == text[max(a, 0):b]
        assert "x" not in repr(seg) and str(len(text)) in repr(seg)
    finally:
        spool.close()


def test_pieces_of_a_spilled_segment_are_those_of_the_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(inspect_mod, "PIECE_BYTES", 10 * KiB)
    monkeypatch.setattr(inspect_mod, "PIECE_OVERLAP", 2 * KiB)
    text = prose(3_000).encode()
    spool = Spool(str(tmp_path))
    try:
        small = Segment(b"small one", "a")
        spilled = SpilledSegment(spool, [(spool.append(text), len(text))], "b", table=None)
        plain = Segment(text, "b")
        got = [([s.data for s in p], lo, hi) for p, lo, hi in _pieces([small, spilled])]
        want = [([s.data for s in p], lo, hi) for p, lo, hi in _pieces([small, plain])]
        assert got == want and len(got) > 10
    finally:
        spool.close()


# ------------------------------------------------------------------ docx read piece by piece

def _tables_docx(paragraphs: int) -> bytes:
    import docx

    d = docx.Document()
    rnd = random.Random(3)
    for i in range(paragraphs):
        if i % 40 == 0:
            t = d.add_table(rows=3, cols=3)
            for r in range(3):
                for c in range(3):
                    t.cell(r, c).text = f"cell {i} {r}{c}"
            t.cell(1, 1).add_paragraph("second paragraph & more")
        p = d.add_paragraph(f"{LINE} {rnd.randrange(10**6)} ")
        p.add_run("bold <tag> & co").bold = True
        if i % 7 == 0:
            p.add_run().add_tab()
            p.add_run("after tab")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


@pytest.mark.parametrize("piece", [512, 4 * KiB, 1 << 20])
def test_docx_read_piece_by_piece_is_the_whole_part_text(piece, monkeypatch):
    """Cutting document.xml after paragraph ends (tables included) changes nothing: the text
    is the regex over the whole part and the expat handler's."""
    body = _tables_docx(1_500)
    xml = zipfile.ZipFile(io.BytesIO(body)).read("word/document.xml")
    monkeypatch.setattr(package, "_PIECE", piece)
    monkeypatch.setattr(archives, "CHUNK", piece)      # decompressed chunks of that size too
    got = [s.data for s in extract(body, filename="t.docx").segments if s.where == "part:body"]
    assert got == [RunText.fast(xml)]
    monkeypatch.setattr(package.Package, "_fast", lambda *a: False)   # the expat handler
    assert [s.data for s in extract(body, filename="t.docx").segments
            if s.where == "part:body"] == got
    assert b"cell 40 11 second paragraph & more\tcell 40 12\n" in got[0]


@pytest.mark.parametrize("piece", [512, 4 * KiB, 1 << 20])
def test_xlsx_read_piece_by_piece_is_the_whole_sheet_text(piece, monkeypatch):
    """Sheets cut after row ends: the same text, table layout and header as the sheet read
    whole, and as the expat path."""
    import datetime

    rnd = random.Random(5)
    rows = [["name", "ssn", "dob", "amount", "note"]]
    rows += [[f"person {i}", f"{rnd.randrange(10**9):09d}", datetime.date(1990, 1, 1 + i % 28),
              rnd.random() * 1000, "a & b\nc" if i % 9 == 0 else None] for i in range(3_000)]
    body = xlsx_bytes({"Payroll": rows, "Other": [["x"], [1]]})

    def sheets():
        r = extract(body, filename="t.xlsx")
        return [(s.where, s.table, s.data) for s in r.segments if s.where.startswith("sheet:")]

    monkeypatch.setattr(package, "_PIECE", 1 << 30)
    whole = sheets()
    monkeypatch.setattr(package, "_PIECE", piece)
    monkeypatch.setattr(archives, "CHUNK", piece)
    assert sheets() == whole
    monkeypatch.setattr(xlsx, "fast_sheet", lambda *a: False)
    assert sheets() == whole
    assert whole[0][1].header == ("name", "ssn", "dob", "amount", "note")
    assert whole[0][2].count(b"\n") == 3_000
