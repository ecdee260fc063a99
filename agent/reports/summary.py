"""Turn store aggregates into a UsageReport: pure, no I/O, deterministic order.

The store is asked for two small aggregates (see agent.reports.data): per (user, app,
category) over the whole period, and per day (with active time per category). Everything in
the report derives from those two: people and their applications from the first, the daily
chart from the second, the department totals from the first (the second sums to the same).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from agent.reports.model import (
    AppTotal,
    AppUsage,
    DayRow,
    DayUsage,
    DepartmentInfo,
    FindingRow,
    UsageReport,
    UserAppRow,
    UserUsage,
)
from agent.reports.period import Period, day_number
from agent.usage import SessionSettings


def build_report(department: DepartmentInfo, period: Period, source: str,
                 user_apps: Iterable[UserAppRow], day_rows: Iterable[DayRow],
                 findings: Iterable[FindingRow], *,
                 display_name: Callable[[str], str] = lambda u: u,
                 settings: SessionSettings | None = None, generated: float = 0.0) -> UsageReport:
    """Aggregate one department's rows for ``period`` into a report.

    Day rows outside the period are ignored rather than trusted, so a query mistake cannot
    put other dates into the chart. Ties sort by name so output is reproducible.
    """
    rep = UsageReport(department, period, source, generated, settings or SessionSettings())
    users: dict[str, UserUsage] = {}
    apps: dict[tuple[str, str], AppTotal] = {}
    categories: dict[str, float] = {}

    for r in user_apps:
        f = r.figures
        rep.totals.add(f)
        u = users.get(r.user)
        if u is None:
            u = users[r.user] = UserUsage(r.user, display_name(r.user))
        u.figures.add(f)
        u.by_category[r.category] = u.by_category.get(r.category, 0.0) + f.active_s
        u.apps.append(AppUsage(r.app, r.category, f))
        a = apps.get((r.app, r.category))
        if a is None:
            a = apps[(r.app, r.category)] = AppTotal(r.app, r.category)
        a.figures.add(f)
        # Someone counts as a user of an app only if some active time was estimated for them:
        # background traffic alone (an open tab, a sync client) is not "using" it.
        if f.active_s > 0:
            a.users += 1
        categories[r.category] = categories.get(r.category, 0.0) + f.active_s

    days = {day_number(d): DayUsage(d) for d in period.dates()}
    for r in day_rows:
        d = days.get(r.day)
        if d is None:
            continue
        d.figures.add(r.figures)
        for c, secs in r.by_category.items():
            d.by_category[c] = d.by_category.get(c, 0.0) + secs

    for f in sorted(findings, key=lambda x: (x.date, x.user, x.rule)):
        if not period.first <= f.date <= period.last:
            continue
        rep.findings.append(f)
        u = users.get(f.user)
        if u is None:       # a finding without rollups (purged, or another source): still shown
            u = users[f.user] = UserUsage(f.user, f.name)
        u.findings.append(f)

    for u in users.values():
        u.apps.sort(key=lambda a: (-a.figures.active_s, a.app))
    rep.users = sorted(users.values(), key=lambda u: (-u.figures.active_s, u.user))
    rep.apps = sorted(apps.values(), key=lambda a: (-a.figures.active_s, a.app))
    rep.days = [days[k] for k in sorted(days)]
    rep.categories = sorted(categories, key=lambda c: (-categories[c], c))
    return rep
