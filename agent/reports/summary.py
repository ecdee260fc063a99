"""Turn store rows into a UsageReport: pure aggregation, no I/O, deterministic order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from agent.reports.model import (
    AppTotal,
    AppUsage,
    DayUsage,
    DepartmentInfo,
    FindingRow,
    RollupRow,
    UsageReport,
    UserUsage,
)
from agent.reports.period import Period, day_number
from agent.usage import SessionSettings


def build_report(department: DepartmentInfo, period: Period, source: str,
                 rows: Iterable[RollupRow], findings: Iterable[FindingRow], *,
                 display_name: Callable[[str], str] = lambda u: u,
                 settings: SessionSettings | None = None, generated: float = 0.0) -> UsageReport:
    """Aggregate rollup rows (already limited to the department and period) into a report.

    Rows outside the period are ignored rather than trusted, so a caller's query mistake
    cannot leak other dates into a report. Ties sort by name so output is reproducible.
    """
    rep = UsageReport(department, period, source, generated, settings or SessionSettings())
    first, last = period.first_day, period.last_day
    days = {day_number(d): DayUsage(d) for d in period.dates()}
    users: dict[str, UserUsage] = {}
    user_apps: dict[tuple[str, str, str], AppUsage] = {}
    apps: dict[tuple[str, str], AppTotal] = {}
    app_users: dict[tuple[str, str], set[str]] = {}
    categories: dict[str, float] = {}

    for r in rows:
        if not first <= r.day <= last:
            continue
        f = r.figures
        rep.totals.add(f)
        d = days[r.day]
        d.figures.add(f)
        d.by_category[r.category] = d.by_category.get(r.category, 0.0) + f.active_s
        u = users.get(r.user)
        if u is None:
            u = users[r.user] = UserUsage(r.user, display_name(r.user))
        u.figures.add(f)
        u.by_category[r.category] = u.by_category.get(r.category, 0.0) + f.active_s
        ua = user_apps.get((r.user, r.app, r.category))
        if ua is None:
            ua = user_apps[(r.user, r.app, r.category)] = AppUsage(r.app, r.category)
            u.apps.append(ua)
        ua.figures.add(f)
        a = apps.get((r.app, r.category))
        if a is None:
            a = apps[(r.app, r.category)] = AppTotal(r.app, r.category)
            app_users[(r.app, r.category)] = set()
        a.figures.add(f)
        # Someone counts as a user of an app only if some active time was estimated for them:
        # background traffic alone (an open tab, a sync client) is not "using" it.
        if f.active_s > 0:
            app_users[(r.app, r.category)].add(r.user)
        categories[r.category] = categories.get(r.category, 0.0) + f.active_s

    for key, a in apps.items():
        a.users = len(app_users[key])
    for f in sorted(findings, key=lambda x: (x.date, x.user, x.rule)):
        if not period.first <= f.date <= period.last:
            continue
        rep.findings.append(f)
        u = users.get(f.user)
        if u is None:       # a finding without rollups (purged or another source): still shown
            u = users[f.user] = UserUsage(f.user, f.name)
        u.findings.append(f)

    for u in users.values():
        u.apps.sort(key=lambda a: (-a.figures.active_s, a.app))
    rep.users = sorted(users.values(), key=lambda u: (-u.figures.active_s, u.user))
    rep.apps = sorted(apps.values(), key=lambda a: (-a.figures.active_s, a.app))
    rep.days = [days[k] for k in sorted(days)]
    rep.categories = sorted(categories, key=lambda c: (-categories[c], c))
    return rep
