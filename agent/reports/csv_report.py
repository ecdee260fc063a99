"""The CSV usage report: one row per person and application, for spreadsheets.

UTF-8 with a byte-order mark (Excel then reads names with accents correctly), a header row,
numbers unformatted, durations as decimal minutes. Text cells that a spreadsheet would take
for a formula (=, +, -, @ ...) get a leading apostrophe: user names come from proxy
authentication and must not become formulas in a supervisor's spreadsheet.
"""

from __future__ import annotations

import csv
import io

from agent.reports.fmt import minutes
from agent.reports.model import UsageReport

HEADER = ("department", "from", "to", "user", "name", "app", "category", "active_minutes",
          "working_minutes", "outside_minutes", "requests", "bytes_up", "bytes_down", "uploads",
          "violations", "user_findings")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(s: str) -> str:
    return "'" + s if s.startswith(_FORMULA_START) else s


def render_csv(r: UsageReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    dept = safe_text(r.department.id)
    first, last = r.period.first.isoformat(), r.period.last.isoformat()
    for u in r.users:
        user, name = safe_text(u.user), safe_text(u.name)
        for a in u.apps:
            f = a.figures
            w.writerow((dept, first, last, user, name, safe_text(a.app), safe_text(a.category),
                        minutes(f.active_s), minutes(f.work_s), minutes(f.non_work_s), f.requests,
                        f.bytes_up, f.bytes_down, f.uploads, f.violations, len(u.findings)))
        if not u.apps:      # findings only (rollups purged or from another source)
            w.writerow((dept, first, last, user, name, "", "", 0, 0, 0, 0, 0, 0, 0, 0,
                        len(u.findings)))
    return "\ufeff" + buf.getvalue()
