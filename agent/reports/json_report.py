"""The JSON usage report, for machines. Durations in decimal minutes, dates ISO, every date of
the period present in ``days`` (zeros included) so a consumer can chart it directly."""

from __future__ import annotations

import json
from typing import Any

from agent.reports.fmt import iso_utc, minutes
from agent.reports.method import SOURCE_NOTES, active_time_method, period_note
from agent.reports.model import Figures, FindingRow, UsageReport

FORMAT_VERSION = 1


def _figures(f: Figures) -> dict[str, Any]:
    return {"active_minutes": minutes(f.active_s), "working_minutes": minutes(f.work_s),
            "outside_minutes": minutes(f.non_work_s), "requests": f.requests,
            "bytes_up": f.bytes_up, "bytes_down": f.bytes_down, "uploads": f.uploads,
            "violations": f.violations}


def _by_category(d: dict[str, float], order: list[str]) -> dict[str, float]:
    return {c: minutes(d[c]) for c in order if d.get(c, 0.0) > 0}


def _finding(f: FindingRow) -> dict[str, Any]:
    return {"date": f.date.isoformat(), "user": f.user, "name": f.name, "rule": f.rule,
            "category": f.category, "active_minutes": minutes(f.seconds),
            "threshold_minutes": minutes(f.threshold), "incident": f.incident}


def to_dict(r: UsageReport) -> dict[str, Any]:
    d = r.department
    return {
        "report": "usage",
        "format_version": FORMAT_VERSION,
        "generated": iso_utc(r.generated),
        "department": {"id": d.id, "name": d.name, "timezone": d.timezone,
                       "working_hours": {"days": list(d.working_days), "start": d.work_start,
                                         "end": d.work_end}},
        "period": {"from": r.period.first.isoformat(), "to": r.period.last.isoformat(),
                   "days": r.period.days},
        "source": r.source,
        "empty": r.empty,
        "totals": {**_figures(r.totals),
                   "people": sum(1 for u in r.users if u.figures.active_s > 0),
                   "findings": len(r.findings)},
        "categories": r.categories,
        "days": [{"date": day.date.isoformat(), **_figures(day.figures),
                  "by_category": _by_category(day.by_category, r.categories)} for day in r.days],
        "top_apps": [{"app": a.app, "category": a.category, "people": a.users,
                      **_figures(a.figures)} for a in r.apps],
        "users": [{"user": u.user, "name": u.name, **_figures(u.figures),
                   "by_category": _by_category(u.by_category, r.categories),
                   "apps": [{"app": a.app, "category": a.category, **_figures(a.figures)}
                            for a in u.apps],
                   "findings": [_finding(f) for f in u.findings]} for u in r.users],
        "findings": [_finding(f) for f in r.findings],
        "method": [*active_time_method(r.settings), period_note(d), SOURCE_NOTES[r.source]],
    }


def render_json(r: UsageReport) -> str:
    return json.dumps(to_dict(r), ensure_ascii=False, indent=2) + "\n"
