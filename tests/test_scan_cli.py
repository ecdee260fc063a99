"""`dlp-agent scan` contract: one JSON line per file and entity type, relative names, exit codes."""

import gzip
import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DLP = str(Path(sys.executable).parent / "dlp-agent")


def valid_ssn(rng: random.Random) -> str:
    while True:
        a, g, s = rng.randint(1, 899), rng.randint(1, 99), rng.randint(1, 9999)
        if a != 666:
            return f"{a:03d}-{g:02d}-{s:04d}"


def scan(*args: str) -> tuple[int, list[dict], str]:
    p = subprocess.run([DLP, "scan", "--format", "jsonl", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, [json.loads(x) for x in p.stdout.splitlines() if x.strip()], p.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    import docx

    d = tmp_path_factory.mktemp("corpus")
    rng = random.Random(7)
    rows = ["name,ssn,city"] + [f"Person {i},{valid_ssn(rng)},Yonkers" for i in range(1000)]
    (d / "people.csv").write_text("\n".join(rows) + "\n")
    bad = ["name,ssn,city"] + [f"Person {i},9{rng.randint(0, 99):02d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)},Rye"
                               for i in range(500)] + \
          [f"Person {i},{rng.randint(1, 665):03d}-00-{rng.randint(1000, 9999)},Rye" for i in range(500)]
    (d / "invalid.csv").write_text("\n".join(bad) + "\n")
    doc = docx.Document()
    doc.add_paragraph("Quarterly memo. Card on file: 4539 1488 0343 6467.")
    sub = d / "sub"
    sub.mkdir()
    doc.save(sub / "memo.bin")   # the name says nothing: content decides
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inner/notes.txt", "SSN 219-44-1234")
    (sub / "archive.gz").write_bytes(gzip.compress(buf.getvalue()))
    (d / "clean.txt").write_text("Nothing to see: call (914) 995-2000 on 11/29/2026.")
    return d


def test_jsonl_contract_and_relative_names(corpus):
    code, rows, _ = scan(str(corpus))
    assert code == 0
    by = {(r["file"], r["type"]): r for r in rows}
    assert by[("people.csv", "SSN")]["count"] == 1000
    assert not any(r["file"] == "invalid.csv" and r["type"] == "SSN" for r in rows)
    assert by[("sub/memo.bin", "CREDIT_CARD")]["samples"] == ["************6467"]
    assert by[("sub/archive.gz", "SSN")]["samples"] == ["***-**-1234"]
    for r in rows:
        assert set(r) >= {"file", "type", "count", "samples"}
    assert not any(r["file"] == "clean.txt" and r["type"] in ("SSN", "CREDIT_CARD") for r in rows)


def test_file_argument_is_reported_as_given(corpus):
    code, rows, _ = scan(str(corpus / "sub" / "memo.bin"))
    assert code == 0 and rows[0]["file"] == str(corpus / "sub" / "memo.bin")


def test_missing_input_exits_2_naming_it(tmp_path):
    code, _, err = scan(str(tmp_path / "nope.txt"))
    assert code == 2 and "nope.txt" in err


def test_unreadable_input_exits_2_but_scans_the_rest(corpus, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "ok.txt").write_text("SSN 219-44-1234")
    (d / "dangling").symlink_to(tmp_path / "gone")
    code, rows, err = scan(str(d))
    assert code == 2 and "dangling" in err
    assert any(r["file"] == "ok.txt" and r["type"] == "SSN" for r in rows)


def test_table_format(corpus):
    p = subprocess.run([DLP, "scan", str(corpus / "people.csv")], capture_output=True, text=True)
    assert p.returncode == 0 and "SSN" in p.stdout and "1000" in p.stdout
    assert "***-**-" in p.stdout


def test_spill_dir_must_exist_and_leaves_nothing_behind(corpus, tmp_path):
    code, _, err = scan("--spill-dir", str(tmp_path / "nope"), str(corpus / "clean.txt"))
    assert code == 2 and "--spill-dir" in err and "nope" in err
    spill = tmp_path / "spill"
    spill.mkdir()
    code, rows, _ = scan("--spill-dir", str(spill), str(corpus / "people.csv"))
    assert code == 0 and {(r["type"], r["count"]) for r in rows} >= {("SSN", 1000)}
    assert list(spill.iterdir()) == []
