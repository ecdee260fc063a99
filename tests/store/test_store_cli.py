"""`dlp-agent incidents list|show`: in-process through agent.cli.main and as the real program."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from incident_factory import RAW_FORMS, build_incident

from agent.cli import UsageError, main
from agent.commands.incidents import parse_severity, parse_time
from agent.store import Store

DLP_AGENT = Path(sys.prefix) / "bin" / "dlp-agent"
CONTRACT = ("id", "time", "user", "department", "client_ip", "app", "category", "host", "path",
            "rule", "severity", "action", "policy_ref", "detections")
NOW = time.time()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("cli") / "incidents.db"
    incs = [
        build_incident(time=NOW - 3 * 86400, severity="low", action="log", user="asmith",
                       department="dss", rule="county-creds"),
        build_incident(time=NOW - 3600, severity="critical", rule="bulk-pii",
                       files=[{"where": "multipart:file=clients.xlsx", "name": "clients.xlsx",
                               "type": "xlsx", "size": 90210}]),
        build_incident(time=NOW - 60, severity="high",
                       uninspectable=[{"reason": "encrypted", "where": "zip:a.zip",
                                       "detail": "entry 1"}]),
    ]
    with Store.open(path) as s:
        for inc in incs:
            s.add_incident(inc)
    return path, incs


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_program(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DLP_AGENT), *argv], capture_output=True, text=True, timeout=60)


def no_raw_values(text: str) -> bool:
    return not [r for r in RAW_FORMS if r in text]


# -- time and severity arguments ---------------------------------------------------------------

@pytest.mark.parametrize("text,expect", [
    ("24h", NOW - 86400),
    ("7d", NOW - 7 * 86400),
    ("90m", NOW - 5400),
    ("2w", NOW - 14 * 86400),
    ("30s", NOW - 30),
    ("now", NOW),
    ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC).timestamp()),
    ("2026-11-27T08:00", datetime(2026, 11, 27, 8, tzinfo=UTC).timestamp()),
    ("2026-11-27T08:00Z", datetime(2026, 11, 27, 8, tzinfo=UTC).timestamp()),
    ("2026-11-27T08:00-05:00", datetime(2026, 11, 27, 13, tzinfo=UTC).timestamp()),
])
def test_parse_time(text, expect):
    assert parse_time(text, NOW) == pytest.approx(expect)


@pytest.mark.parametrize("text", ["yesterday", "24", "h24", "-7d", "2026-13-01", "7y", ""])
def test_parse_time_refuses(text):
    with pytest.raises(UsageError, match="--since: cannot read time"):
        parse_time(text, NOW, "--since")


@pytest.mark.parametrize("text,expect", [("high", ("high", False)), ("=high", ("high", True)),
                                         ("critical", ("critical", False))])
def test_parse_severity(text, expect):
    assert parse_severity(text) == expect


@pytest.mark.parametrize("text", ["HIGH", "urgent", "=", ">=high"])
def test_parse_severity_refuses(text):
    with pytest.raises(UsageError, match="--severity: unknown level"):
        parse_severity(text)


# -- in process --------------------------------------------------------------------------------

def test_list_jsonl_contract(capsys, db):
    path, incs = db
    code, out, _ = run_main(capsys, "incidents", "list", "--db", str(path), "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [i.id for i in reversed(incs)]          # newest first
    for row, inc in zip(rows, reversed(incs), strict=True):
        assert set(CONTRACT) <= set(row)
        assert row["time"].endswith("Z") and datetime.fromisoformat(row["time"]).timestamp() \
            == pytest.approx(inc.time, abs=0.001)
        for det in row["detections"]:
            assert {"type", "count", "samples"} <= set(det)
            assert all(s.startswith("***") for s in det["samples"])
    assert no_raw_values(out)


@pytest.mark.parametrize("args,expect", [
    (["--since", "24h"], [2, 1]),
    (["--until", "24h"], [0]),
    (["--severity", "high"], [2, 1]),
    (["--severity", "=high"], [2]),
    (["--user", "asmith"], [0]),
    (["--department", "finance"], [2, 1]),
    (["--rule", "bulk-pii"], [1]),
    (["--action", "log"], [0]),
    (["--app", "facebook"], [2, 1, 0]),
    (["--type", "SSN"], [2, 1, 0]),
    (["--type", "CREDIT_CARD"], []),
    (["--limit", "1"], [2]),
])
def test_list_filters(capsys, db, args, expect):
    path, incs = db
    code, out, _ = run_main(capsys, "incidents", "list", "--db", str(path), "--format", "jsonl",
                            *args)
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [incs[i].id for i in expect]


def test_list_table_is_aligned(capsys, db):
    path, incs = db
    code, out, _ = run_main(capsys, "incidents", "list", "--db", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "ID", "SEVERITY", "ACTION", "RULE", "USER", "DEPARTMENT",
                                "APP", "HOST", "DETECTIONS"]
    assert len(lines) == 1 + len(incs)
    # every column starts at the same offset in every line
    for col in ("ID", "SEVERITY", "RULE", "HOST", "DETECTIONS"):
        start = lines[0].index(col)
        for line in lines[1:]:
            assert line[start - 2:start] == "  " and line[start] != " "
    assert incs[-1].id in lines[1] and "SSN:2" in lines[1]
    assert no_raw_values(out)


def test_list_table_with_no_match(capsys, db):
    path, _ = db
    code, out, err = run_main(capsys, "incidents", "list", "--db", str(path), "--user", "nobody")
    assert code == 0 and out.splitlines()[0].startswith("TIME") and len(out.splitlines()) == 1
    assert "no incidents match" in err


@pytest.mark.parametrize("fmt", ["table", "json", "ecs"])
def test_show(capsys, db, fmt):
    path, incs = db
    inc = incs[1]
    code, out, _ = run_main(capsys, "incidents", "show", inc.id, "--db", str(path),
                            "--format", fmt)
    assert code == 0
    assert no_raw_values(out)
    if fmt == "json":
        doc = json.loads(out)
        assert doc["id"] == inc.id and doc["files"][0]["name"] == "clients.xlsx"
    elif fmt == "ecs":
        doc = json.loads(out)
        assert doc["event"]["id"] == inc.id and doc["file"]["name"] == "clients.xlsx"
    else:
        assert inc.id in out and "WC-P17-001 §6" in out and "clients.xlsx" in out
        assert "***-**-1120" in out and "SAMPLES (MASKED)" in out


def test_show_unknown_id(capsys, db):
    path, _ = db
    code, out, err = run_main(capsys, "incidents", "show", "INC-20260101-00000000", "--db",
                              str(path))
    assert code == 1 and out == "" and "no incident INC-20260101-00000000" in err


@pytest.mark.parametrize("argv,message", [
    (["list", "--since", "whenever"], "--since: cannot read time 'whenever'"),
    (["list", "--severity", "urgent"], "--severity: unknown level 'urgent'"),
    (["list", "--limit", "0"], "--limit must be at least 1"),
])
def test_bad_arguments_exit_2(capsys, db, argv, message):
    path, _ = db
    code, _, err = run_main(capsys, "incidents", *argv, "--db", str(path))
    assert code == 2 and message in err


@pytest.mark.parametrize("sub", [["list"], ["show", "INC-20260101-00000000"]])
def test_missing_database_exits_2_and_creates_nothing(capsys, tmp_path, sub):
    path = tmp_path / "absent" / "incidents.db"
    code, out, err = run_main(capsys, "incidents", *sub, "--db", str(path))
    assert code == 2 and out == ""
    assert str(path) in err and "does not exist" in err
    assert not (tmp_path / "absent").exists()


def test_not_a_database_exits_2(capsys, tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not sqlite " * 100)
    code, _, err = run_main(capsys, "incidents", "list", "--db", str(path))
    assert code == 2 and str(path) in err and "not an incident database" in err


# -- the installed program ---------------------------------------------------------------------

def test_program_jsonl(db):
    path, incs = db
    p = run_program("incidents", "list", "--db", str(path), "--format", "jsonl")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["id"] for r in rows] == [i.id for i in reversed(incs)]
    assert all(set(CONTRACT) <= set(r) for r in rows)
    assert no_raw_values(p.stdout + p.stderr)


def test_program_ecs(db):
    path, incs = db
    p = run_program("incidents", "list", "--db", str(path), "--format", "ecs")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == len(incs)
    by_id = {i.id: i for i in incs}
    for line in lines:
        doc = json.loads(line)                   # every line is one JSON document
        inc = by_id[doc["event"]["id"]]
        assert datetime.fromisoformat(doc["@timestamp"]).timestamp() == \
            pytest.approx(inc.time, abs=0.001)
        assert doc["ecs"]["version"].startswith("8.")
        assert doc["event"]["kind"] == "alert" and "network" in doc["event"]["category"]
        assert doc["event"]["action"] == inc.action
        assert doc["event"]["outcome"] in ("success", "failure", "unknown")
        assert isinstance(doc["event"]["severity"], int)
        assert 0 <= doc["event"]["risk_score"] <= 100
        assert doc["rule"]["id"] == inc.rule and doc["rule"]["reference"] == inc.policy_ref
        assert doc["rule"]["ruleset"] == "WC-P17-001"
        assert doc["user"]["name"] == inc.user
        assert doc["labels"]["department"] == inc.department
        ipaddress.ip_address(doc["source"]["ip"])
        assert doc["url"]["domain"] == inc.host and doc["url"]["path"] == inc.path
        assert doc["http"]["request"]["method"] == inc.method
        assert doc["observer"]["product"] == "County DLP Agent"
        for det in doc["dlp"]["detections"]:
            assert det["samples"] and all(s.startswith("***") for s in det["samples"])
    assert no_raw_values(p.stdout + p.stderr)


def test_program_missing_database(tmp_path):
    path = tmp_path / "nowhere.db"
    p = run_program("incidents", "list", "--db", str(path))
    assert p.returncode == 2 and str(path) in p.stderr and p.stdout == ""
    assert not path.exists()


def test_program_usage_errors_exit_2(db):
    path, _ = db
    assert run_program("incidents").returncode == 2
    assert run_program("incidents", "list").returncode == 2                       # --db missing
    assert run_program("incidents", "list", "--db", str(path), "--format", "xml").returncode == 2


def test_program_output_cut_short_by_a_pipe(tmp_path):
    """`dlp-agent incidents list | head -1` must end quietly, not with a traceback."""
    path = tmp_path / "many.db"
    with Store.open(path) as s:
        futs = [s.submit_incident(build_incident()) for _ in range(600)]
        for f in futs:
            f.result(30)
    p = subprocess.Popen([str(DLP_AGENT), "incidents", "list", "--db", str(path), "--format",
                          "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(60) == 0
    assert json.loads(first)["id"].startswith("INC-")
    assert b"Traceback" not in err and b"BrokenPipe" not in err
