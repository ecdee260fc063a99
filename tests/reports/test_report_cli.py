"""`dlp-agent report usage`: exit codes and messages, output file, self-contained HTML."""

from __future__ import annotations

import re
import sqlite3
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import usage_dataset as ds

from agent.cli import main

DLP_AGENT = Path(sys.executable).parent / "dlp-agent"


def argv(files, out, **over) -> list[str]:
    a = {"--db": str(files["db"]), "--department": "finance", "--from": ds.PERIOD[0],
         "--to": ds.PERIOD[1], "--format": "html", "--out": str(out),
         "--directory": str(files["directory"])}
    a.update(over)
    out_args = ["report", "usage"]
    for k, v in a.items():
        if v is not None:
            out_args += [k, v]
    return out_args


@pytest.mark.parametrize(("over", "message"), [
    ({"--db": "/nonexistent/usage.db"}, "does not exist"),
    ({"--department": "parks"}, "unknown department 'parks' (known: communications, dss, finance)"),
    ({"--from": "2026-11-31"}, "from: cannot read date '2026-11-31'"),
    ({"--to": "last week"}, "to: cannot read date 'last week'"),
    ({"--from": "2026-11-09", "--to": "2026-11-02"}, "ends (2026-11-02) before it starts"),
    ({"--from": "2024-01-01", "--to": "2026-11-02"}, "at most 366 are allowed"),
    ({"--directory": "/nonexistent/directory.yaml"}, "cannot read"),
])
def test_bad_usage_exits_2_with_a_message(report_files, tmp_path, capsys, over, message):
    out = tmp_path / "r.html"
    assert main(argv(report_files, out, **over)) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlp-agent report: ") and message in err
    assert not out.exists()


def test_known_to_store_but_not_directory_is_reported(report_files, tmp_path):
    # 'dss' is in the directory; without a directory the store alone makes it known
    out = tmp_path / "r.json"
    assert main(argv(report_files, out, **{"--format": "json", "--department": "dss",
                                           "--directory": None})) == 0
    assert '"user": "asmith"' in out.read_text()


def test_not_a_usage_database(tmp_path, capsys):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t (x)")
    assert main(["report", "usage", "--db", str(db), "--department", "finance", "--from",
                 "2026-11-02", "--to", "2026-11-08", "--out", str(tmp_path / "r.html")]) == 2
    assert "not an incident database" in capsys.readouterr().err


def test_output_file_is_private_and_replaced(report_files, tmp_path):
    out = tmp_path / "r.csv"
    out.write_text("old")
    out.chmod(0o644)
    assert main(argv(report_files, out, **{"--format": "csv"})) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600        # it names people
    assert out.read_text(encoding="utf-8-sig").startswith("department,from,to,user")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.csv.")]


def test_stdout_output(report_files, capfdbinary):
    assert main(argv(report_files, "-", **{"--format": "json"})) == 0
    assert b'"department"' in capfdbinary.readouterr().out


def test_installed_entry_point(report_files, tmp_path):
    out = tmp_path / "r.html"
    p = subprocess.run([str(DLP_AGENT), *argv(report_files, out)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "wrote" in p.stderr and "3 people" in p.stderr
    p = subprocess.run([str(DLP_AGENT), *argv(report_files, out, **{"--department": "x"})],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "unknown department 'x'" in p.stderr


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href", "action", "xlink:href", "srcset", "data", "poster") and v:
                self.refs.append((tag, k, v))


def test_html_is_self_contained(report_files, tmp_path):
    out = tmp_path / "r.html"
    assert main(argv(report_files, out)) == 0
    text = out.read_text()
    p = _Refs()
    p.feed(text)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(p.tags)
    assert p.refs == []                          # nothing loaded or linked at all
    assert not re.search(r"https?://|url\(|@import|@font-face", text, re.I)
    assert ' style="' not in text                # one stylesheet, allowed by hash in the web view
    assert text.count("<style>") == 1 and text.count("<svg") >= 3
    assert "What an active minute is." in text and "America/New_York" in text
    assert "3 minutes apart" in text and "30 seconds of reading time" in text


def test_footnote_states_configured_settings(report_files, tmp_path):
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("usage:\n  gap_seconds: 300\n  allowance_seconds: 60\n")
    out = tmp_path / "r.html"
    assert main(argv(report_files, out, **{"--config": str(cfg)})) == 0
    text = out.read_text()
    assert "5 minutes apart" in text and "1 minute of reading time" in text
