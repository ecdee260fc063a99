"""`dlp-agent scan --index DIR ...` reports EDM:/IDM: detections; `dlp-agent fingerprint` usage."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import fp_synth as S
import pytest
from fp_helpers import docx_bytes, main
from test_fp_documents import RETYPED_POST

DLP_AGENT = Path(sys.executable).parent / "dlp-agent"


@pytest.fixture(scope="module")
def uploads(tmp_path_factory, persons) -> Path:
    d = tmp_path_factory.mktemp("uploads")
    leaked = random.Random(9).sample(persons, 25)
    with open(d / "export.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Client", "DOB", "SSN"])
        for p in leaked:
            r = S.reformatted(p)
            w.writerow([r["name"], r["dob"], ""])
    (d / "post.json").write_text(json.dumps({"status": RETYPED_POST}))
    (d / "sub").mkdir()
    (d / "sub" / "table.docx").write_bytes(docx_bytes(
        ["Hearing list"], [["Name", "Born"]] + [[f"{p.first} {p.last}", f"{p.dob:%d %B %Y}"]
                                                for p in leaked[:10]]))
    (d / "holiday.txt").write_text(S.UNRELATED_POST)
    return d


def _jsonl(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_scan_reports_edm_and_idm_in_jsonl(uploads, edm_index, idm_index, key_file, capsys):
    rc = main(["scan", "--format", "jsonl", "--index", str(edm_index), "--index", str(idm_index),
               "--key-file", str(key_file), str(uploads)])
    assert rc == 0
    rows = _jsonl(capsys)
    by = {(r["file"], r["type"]): r for r in rows}
    assert by[("export.csv", "EDM:clerk_records")]["count"] == 25
    assert by[("sub/table.docx", "EDM:clerk_records")]["count"] == 10
    idm = by[("post.json", "IDM:memos")]
    assert idm["count"] == 1 and idm["samples"][0].startswith("doc d-")
    assert idm["where"] == ["json:$.status"]
    assert not [r for r in rows if r["file"] == "holiday.txt" and ":" in r["type"]]
    assert not [r for r in rows if r["file"] == "post.json" and r["type"].startswith("EDM")]


def test_scan_without_index_has_no_index_detections(uploads, capsys):
    assert main(["scan", "--format", "jsonl", str(uploads / "export.csv")]) == 0
    assert not [r for r in _jsonl(capsys) if ":" in r["type"]]


def test_scan_index_needs_key_file(uploads, edm_index, capsys):
    assert main(["scan", "--index", str(edm_index), str(uploads)]) == 2
    assert "--key-file" in capsys.readouterr().err


def test_installed_program_end_to_end(tmp_path, uploads, key_file):
    """The real `dlp-agent` program: build a small index from xlsx, then scan with it."""
    import openpyxl

    persons = S.people(300, seed=3)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Last Name", "First Name", "Date of Birth", "Case No"])
    for p in persons:
        ws.append([p.last, p.first, p.dob, p.case])       # a real date cell
    wb.save(tmp_path / "court.xlsx")
    up = tmp_path / "up.txt"
    up.write_text("\n".join(f"{p.first} {p.last} dob {p.dob:%m/%d/%y} case {p.case}"
                            for p in persons[:4]))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    build = subprocess.run(
        [str(DLP_AGENT), "fingerprint", "records", "--dataset", "court", "--key-file",
         str(key_file), str(tmp_path / "court.xlsx"), "--out", str(tmp_path / "idx"),
         "--columns", "name=First Name+Last Name:name", "Date of Birth", "Case No:number:2"],
        capture_output=True, text=True, env=env, timeout=120)
    assert build.returncode == 0, build.stderr
    assert "300 rows" in build.stdout
    scan = subprocess.run(
        [str(DLP_AGENT), "scan", "--format", "jsonl", "--index", str(tmp_path / "idx"),
         "--key-file", str(key_file), str(up)], capture_output=True, text=True, env=env,
        timeout=120)
    assert scan.returncode == 0, scan.stderr
    rows = [json.loads(line) for line in scan.stdout.splitlines()]
    (edm,) = [r for r in rows if r["type"] == "EDM:court"]
    assert edm["count"] == 4


@pytest.mark.parametrize(("argv", "message"), [
    (["records", "--dataset", "Bad-Name"], "must match"),
    (["records", "--dataset", "ok", "--columns", "nosuch"], "no header 'nosuch'"),
    (["records", "--dataset", "ok", "--columns", "ssn:colour"], "unknown column kind"),
])
def test_fingerprint_records_usage_errors(argv, message, records_csv, key_file, tmp_path,
                                          capsys):
    what, *rest = argv
    rc = main(["fingerprint", what, *rest, "--key-file", str(key_file), str(records_csv),
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_fingerprint_documents_with_nothing_readable(tmp_path, key_file, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(["fingerprint", "documents", "--collection", "x", "--key-file", str(key_file),
               str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "no readable documents" in capsys.readouterr().err


def test_missing_key_file(tmp_path, records_csv, capsys):
    rc = main(["fingerprint", "records", "--dataset", "x", "--key-file",
               str(tmp_path / "none.key"), str(records_csv), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "does not exist" in capsys.readouterr().err

