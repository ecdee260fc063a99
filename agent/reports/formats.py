"""Report output formats, listed explicitly: name -> renderer, media type, file suffix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.reports.csv_report import render_csv
from agent.reports.html_report import render_html
from agent.reports.json_report import render_json
from agent.reports.model import UsageReport


@dataclass(frozen=True, slots=True)
class Format:
    render: Callable[[UsageReport], str]
    media_type: str
    suffix: str


FORMATS: dict[str, Format] = {
    "html": Format(render_html, "text/html; charset=utf-8", ".html"),
    "csv": Format(render_csv, "text/csv; charset=utf-8", ".csv"),
    "json": Format(render_json, "application/json", ".json"),
}


def file_name(r: UsageReport, fmt: str) -> str:
    """A download name such as usage-finance-2026-11-01-2026-11-30.csv (ids are [a-z0-9_])."""
    return (f"usage-{r.department.id}-{r.period.first.isoformat()}-{r.period.last.isoformat()}"
            f"{FORMATS[fmt].suffix}")
