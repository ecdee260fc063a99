"""Report figures against the hand-computed dataset (tests/reports/usage_dataset.py), in all
three formats, produced by the real CLI from a real store."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import usage_dataset as ds
from report_helpers import read_html

from agent.cli import main


def run_report(files: dict[str, Path], out: Path, fmt: str, department: str = "finance",
               source: str | None = None, period: tuple[str, str] = ds.PERIOD) -> str:
    argv = ["report", "usage", "--db", str(files["db"]), "--department", department,
            "--from", period[0], "--to", period[1], "--format", fmt, "--out", str(out),
            "--directory", str(files["directory"])]
    if source:
        argv += ["--source", source]
    assert main(argv) == 0
    return out.read_bytes().decode("utf-8")


def hm_minutes(text: str) -> float:
    h, m = text.strip().split(":")
    return int(h) * 60 + int(m)


def headline_minutes(text: str) -> float:
    m = re.fullmatch(r"(?:(\d+) h )?(\d+) min", text.strip())
    assert m, text
    return int(m.group(1) or 0) * 60 + int(m.group(2))


def pairs(cell: str) -> dict[str, float]:
    """'social_media 2:00, webmail 0:20' -> {'social_media': 120, 'webmail': 20}"""
    if cell in ("", "-"):
        return {}
    return {k: hm_minutes(v) for k, v in (p.rsplit(" ", 1) for p in cell.split(", "))}


# -- one normalised view per format -----------------------------------------------------------

def from_json(text: str) -> dict:
    doc = json.loads(text)
    return {
        "order": [u["user"] for u in doc["users"]],
        "users": {u["user"]: {
            "name": u["name"], "active": u["active_minutes"], "work": u["working_minutes"],
            "outside": u["outside_minutes"], "requests": u["requests"], "uploads": u["uploads"],
            "violations": u["violations"], "findings": len(u["findings"]),
            "by_category": u["by_category"],
            "apps": {a["app"]: a["active_minutes"] for a in u["apps"]}} for u in doc["users"]},
        "days": {d["date"]: d["by_category"] for d in doc["days"]},
        "top_apps": [(a["app"], a["active_minutes"], a["people"]) for a in doc["top_apps"]],
        "total": doc["totals"]["active_minutes"], "work": doc["totals"]["working_minutes"],
    }


def from_csv(text: str) -> dict:
    assert text.startswith("\ufeff"), "UTF-8 BOM for spreadsheets"
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    users: dict[str, dict] = {}
    apps: dict[str, list] = {}
    for r in rows:
        u = users.setdefault(r["user"], {
            "name": r["name"], "active": 0.0, "work": 0.0, "outside": 0.0, "requests": 0,
            "uploads": 0, "violations": 0, "findings": int(r["user_findings"]),
            "by_category": {}, "apps": {}})
        minutes = float(r["active_minutes"])
        u["active"] += minutes
        u["work"] += float(r["working_minutes"])
        u["outside"] += float(r["outside_minutes"])
        u["requests"] += int(r["requests"])
        u["uploads"] += int(r["uploads"])
        u["violations"] += int(r["violations"])
        u["by_category"][r["category"]] = u["by_category"].get(r["category"], 0.0) + minutes
        u["apps"][r["app"]] = minutes
        a = apps.setdefault(r["app"], [0.0, 0])
        a[0] += minutes
        a[1] += 1
    top = sorted(((k, v[0], v[1]) for k, v in apps.items()), key=lambda t: (-t[1], t[0]))
    return {"order": list(users), "users": users, "days": None, "top_apps": top,
            "total": sum(u["active"] for u in users.values()),
            "work": sum(u["work"] for u in users.values())}


def from_html(text: str) -> dict:
    page = read_html(text)
    people = next(t for t in page.tables if t and t[0][:2] == ["#", "Person"])
    header = people[0]
    users = {}
    order = []
    for row in people[1:]:
        cell = dict(zip(header, row, strict=True))
        m = re.fullmatch(r"(.*?)(?: \((\S+)\))?", cell["Person"])
        name, user = m.group(1), m.group(2) or m.group(1)
        order.append(user)
        users[user] = {
            "name": name, "active": hm_minutes(cell["Active"]),
            "work": hm_minutes(cell["Working"]), "outside": hm_minutes(cell["Outside"]),
            "requests": int(cell["Requests"].replace(",", "")), "uploads": int(cell["Uploads"]),
            "violations": int(cell["Violations"]), "findings": int(cell["Findings"]),
            "by_category": pairs(cell["By category"]), "apps": pairs(cell["By application"])}
    days: dict[str, dict] = {}
    top = []
    for t in page.titles:
        m = re.fullmatch(r"(\d{4}-\d\d-\d\d) (\w+): (\d+:\d\d) h", t)
        if m:
            days.setdefault(m.group(1), {})[m.group(2)] = hm_minutes(m.group(3))
        m = re.fullmatch(r"(\w+) \((\w+)\): (\d+:\d\d) h, (\d+) (?:person|people)", t)
        if m:
            top.append((m.group(1), hm_minutes(m.group(3)), int(m.group(4))))
    cards = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", text))
    active = headline_minutes(cards["Active time"])
    outside = headline_minutes(cards["Outside working hours"])
    for d in ds.DAYS_ALL:        # days without use have no bars
        days.setdefault(d, {})
    return {"order": order, "users": users, "days": days, "top_apps": top, "total": active,
            "work": active - outside}


PARSERS = {"json": from_json, "csv": from_csv, "html": from_html}


@pytest.mark.parametrize("fmt", ["html", "csv", "json"])
def test_figures_match_hand_computed(report_files, tmp_path, fmt):
    view = PARSERS[fmt](run_report(report_files, tmp_path / f"r.{fmt}", fmt))
    assert view["order"] == ds.USER_ORDER_ALL           # sorted by active time
    for user, exp in ds.EXPECTED_ALL.items():
        got = view["users"][user]
        assert got["name"] == exp.name
        assert got["active"] == pytest.approx(exp.active)
        assert got["work"] == pytest.approx(exp.work)
        assert got["outside"] == pytest.approx(exp.outside)
        assert got["requests"] == exp.requests
        assert got["uploads"] == exp.uploads
        assert got["violations"] == exp.violations
        assert got["findings"] == exp.findings
        assert got["by_category"] == pytest.approx(exp.by_category)
        assert got["apps"] == pytest.approx(exp.apps)
    assert view["total"] == pytest.approx(ds.TOTAL_ALL)
    assert view["work"] == pytest.approx(ds.TOTAL_WORK_ALL)
    assert [(a, pytest.approx(m), p) for a, m, p in view["top_apps"]] == ds.TOP_APPS_ALL
    if view["days"] is not None:                        # CSV is per person and app only
        assert view["days"] == {d: pytest.approx(c) for d, c in ds.DAYS_ALL.items()}


@pytest.mark.parametrize(("source", "total", "users"), [
    ("all", ds.TOTAL_ALL, {"jdoe", "rroe", "mwong"}),
    ("proxy", ds.TOTAL_PROXY, {"jdoe", "rroe"}),
    ("passive", ds.TOTAL_PASSIVE, {"jdoe", "mwong"}),
])
def test_source_selection(report_files, tmp_path, source, total, users):
    doc = json.loads(run_report(report_files, tmp_path / "r.json", "json", source=source))
    assert doc["source"] == source
    assert doc["totals"]["active_minutes"] == pytest.approx(total)
    assert {u["user"] for u in doc["users"]} == users
    # the daily series adds up to the same total as the people table
    assert sum(d["active_minutes"] for d in doc["days"]) == pytest.approx(total)


def test_both_sources_take_the_larger_figure_per_hour(report_files, tmp_path):
    doc = json.loads(run_report(report_files, tmp_path / "r.json", "json"))
    tuesday = next(d for d in doc["days"] if d["date"] == "2026-11-03")
    assert tuesday["by_category"]["social_media"] == 65      # proxy 65 min > passive 50 min
    assert doc["totals"]["bytes_down"] == ds.BYTES_DOWN_ALL  # passive 700,000 > proxy 0
    jdoe = next(u for u in doc["users"] if u["user"] == "jdoe")
    assert jdoe["requests"] == 215                           # 100 (proxy) counted, not 100 + 80


def test_period_edges_and_other_departments_stay_out(report_files, tmp_path):
    text = run_report(report_files, tmp_path / "r.json", "json")
    doc = json.loads(text)
    assert [d["date"] for d in doc["days"]] == list(ds.DAYS_ALL)   # every date, zeros included
    assert "asmith" not in text and "Ann Smith" not in text
    assert [f["user"] for f in doc["findings"]] == ["jdoe"]
    # one day only: Sunday before the period's data, rows of 11-01 and 11-09 never counted
    one = json.loads(run_report(report_files, tmp_path / "one.json", "json",
                                period=("2026-11-07", "2026-11-07")))
    assert one["totals"]["active_minutes"] == 30
    assert [u["user"] for u in one["users"]] == ["jdoe"]


def test_findings_are_highlighted_in_html(report_files, tmp_path):
    text = run_report(report_files, tmp_path / "r.html", "html")
    page = read_html(text)
    findings = next(t for t in page.tables if t and t[0][:3] == ["Date", "Person", "Rule"])
    assert findings[1][:4] == ["2026-11-03", "Jane Doe (jdoe)", "social-media-over-60-minutes",
                               "social_media"]
    assert findings[1][4:6] == ["1:01", "1:00"]
    assert '<section class="findings">' in text
    assert '<tr class="flag"><td class="n">1</td><td>Jane Doe' in text


@pytest.mark.parametrize("fmt", ["html", "csv", "json"])
def test_department_without_data_is_a_valid_report(report_files, tmp_path, fmt):
    text = run_report(report_files, tmp_path / f"e.{fmt}", fmt, department="communications")
    if fmt == "json":
        doc = json.loads(text)
        assert doc["empty"] is True and doc["users"] == [] and doc["totals"]["active_minutes"] == 0
        assert len(doc["days"]) == 7
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text[1:])))
        assert len(rows) == 1 and rows[0][0] == "department"
    else:
        assert "No usage was recorded for this department in this period." in text
        assert "Office of Communications" in text
