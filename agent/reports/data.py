"""Reading usage for reports: read-only SQL over the store's usage tables (an edge module).

Everything goes through ``agent.store.Reader`` (a ``mode=ro`` connection), so a report can
never create or change the database. Queries follow the primary key of ``usage_hourly``
(department_id, day, user_id, app_id, hour, source): one department and a range of days is
one contiguous range of the table. Source "all" adds the proxy's rows and what the passive
monitor saw beyond them (see ``_passive_excess``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.identity import Directory
from agent.reports.model import (
    SOURCES,
    DayRow,
    DepartmentInfo,
    Figures,
    FindingRow,
    UsageReport,
    UserAppRow,
)
from agent.reports.period import Period, day_date
from agent.reports.summary import build_report
from agent.store import Reader, StoreError
from agent.store.usage import SOURCES as SOURCE_IDS
from agent.usage import SessionSettings

USAGE_SCHEMA_VERSION = 2      # migration that created the usage tables


class UnknownDepartment(LookupError):
    """Neither the directory nor the store knows the department."""


COLUMNS = ("active_s", "active_work_s", "requests", "bytes_up", "bytes_down", "uploads",
           "violations")                    # the order of Figures' fields


@dataclass(frozen=True, slots=True)
class _Stream:
    """Rows of usage_hourly to add up, as SQL pieces: FROM ... WHERE, and the expressions for
    the key columns and the value columns. ``params`` follow the WHERE clause's ``?``."""

    source: str
    day: str
    user: str
    app: str
    category: str
    values: tuple[str, ...]
    params: tuple[int, ...]


def _source_rows(dept_id: int, period: Period, source: str) -> _Stream:
    return _Stream("usage_hourly WHERE department_id = ? AND day BETWEEN ? AND ? AND source = ?",
                   "day", "user_id", "app_id", "category_id", COLUMNS,
                   (dept_id, period.first_day, period.last_day, SOURCE_IDS[source]))


def _passive_excess(dept_id: int, period: Period) -> _Stream:
    """Passive rows less what the proxy already counted for the same person, app and hour.

    The passive monitor on a mirror port can see the browsing the proxy handled. Where both
    saw one person use one app in the same hour, the larger figure of each column counts, not
    the sum: proxy + max(passive - proxy, 0) = max(proxy, passive). The proxy row is found by
    its primary key, so this costs one lookup per passive row.
    """
    values = tuple(f"MAX(p.{c} - COALESCE(x.{c}, 0), 0)" for c in COLUMNS)
    return _Stream(
        "usage_hourly p LEFT JOIN usage_hourly x ON x.department_id = p.department_id "
        "AND x.day = p.day AND x.user_id = p.user_id AND x.app_id = p.app_id "
        "AND x.hour = p.hour AND x.source = 0 "
        "WHERE p.department_id = ? AND p.day BETWEEN ? AND ? AND p.source = 1",
        "p.day", "p.user_id", "p.app_id", "p.category_id", values,
        (dept_id, period.first_day, period.last_day))


def _streams(dept_id: int, period: Period, source: str) -> list[_Stream]:
    if source == "all":
        return [_source_rows(dept_id, period, "proxy"), _passive_excess(dept_id, period)]
    return [_source_rows(dept_id, period, source)]


def _user_app_sql(streams: list[_Stream]) -> tuple[str, tuple[int, ...]]:
    """People x applications over the period: one statement over all streams."""
    parts = [f"SELECT {s.user} AS u, {s.app} AS a, {s.category} AS c, "
             + ", ".join(f"{v} AS {c}" for v, c in zip(s.values, COLUMNS, strict=True))
             + f" FROM {s.source}" for s in streams]
    sums = ", ".join(f"SUM({c})" for c in COLUMNS)
    sql = f"SELECT u, a, c, {sums} FROM ({' UNION ALL '.join(parts)}) GROUP BY u, a, c"
    return sql, tuple(p for s in streams for p in s.params)


def _day_sql(s: _Stream, category_ids: list[int]) -> tuple[str, tuple[int, ...]]:
    """Per day: the value sums and active time per category, pivoted into columns.

    Grouping by ``day`` alone follows the primary key (department_id, day, ...), so SQLite
    streams it without sorting; a GROUP BY day, category would sort every row of the range.
    """
    pivot = "".join(f", SUM(CASE WHEN {s.category} = ? THEN {s.values[0]} ELSE 0 END)"
                    for _ in category_ids)
    sums = ", ".join(f"SUM({v})" for v in s.values)
    return (f"SELECT {s.day}, {sums}{pivot} FROM {s.source} GROUP BY {s.day}",
            (*category_ids, *s.params))


def check_schema(reader: Reader) -> None:
    version = reader.schema_version()
    if version < USAGE_SCHEMA_VERSION:
        raise StoreError(f"{reader.path} has no usage tables yet (schema version {version}); "
                         "start the agent once with this database to migrate it")


def _names(reader: Reader) -> dict[int, str]:
    return {row[0]: row[1] for row in reader.execute("SELECT id, name FROM names")}


def _department_id(reader: Reader, department: str) -> int | None:
    row = reader.execute("SELECT id FROM names WHERE kind = 'department' AND name = ?",
                         (department,)).fetchone()
    return None if row is None else int(row[0])


def store_departments(reader: Reader) -> set[str]:
    """Departments that have usage rows or findings in the store."""
    out = {r[0] for r in reader.execute("SELECT name FROM names WHERE kind = 'department'")}
    out.update(r[0] for r in reader.execute("SELECT DISTINCT department FROM usage_findings"))
    return out


def load_rows(reader: Reader, department: str, period: Period,
              source: str = "all") -> tuple[list[UserAppRow], list[DayRow]]:
    """The department's (user, app) and per-day aggregates for the period.

    Two small results make the whole report: the people table (tens of thousands of rows for
    a big department) and one row per day. Asking SQLite for these is several times cheaper
    than moving every (day, user, app) row into Python.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    dept_id = _department_id(reader, department)
    if dept_id is None:
        return [], []
    streams = _streams(dept_id, period, source)
    names = _names(reader)
    sql, params = _user_app_sql(streams)
    raw = reader.execute(sql, params).fetchall()
    user_apps = [UserAppRow(names[u], names[a], names[c], Figures(*sums))
                 for u, a, c, *sums in raw]
    category_ids = sorted({r[2] for r in raw})
    days: dict[int, DayRow] = {}
    if category_ids:
        n = len(COLUMNS)
        for s in streams:
            sql, params = _day_sql(s, category_ids)
            for day, *values in reader.execute(sql, params):
                row = days.get(day)
                if row is None:
                    row = days[day] = DayRow(day, Figures(), {})
                row.figures.add(Figures(*values[:n]))
                for cid, secs in zip(category_ids, values[n:], strict=True):
                    if secs:
                        name = names[cid]
                        row.by_category[name] = row.by_category.get(name, 0.0) + secs
    return user_apps, [days[d] for d in sorted(days)]


def load_findings(reader: Reader, department: str, period: Period,
                  display_name: Callable[[str], str] = lambda u: u) -> list[FindingRow]:
    cur = reader.execute(
        "SELECT rule, day, user, category, seconds, threshold, incident FROM usage_findings "
        "WHERE department = ? AND day BETWEEN ? AND ? ORDER BY day, user, rule",
        (department, period.first_day, period.last_day))
    return [FindingRow(rule, day_date(day), user, display_name(user), category, seconds, threshold,
                       incident)
            for rule, day, user, category, seconds, threshold, incident in cur]


def department_info(directory: Directory, department: str) -> DepartmentInfo:
    spec = directory.department_spec(department)
    wh = spec.working_hours
    return DepartmentInfo(department, spec.name, spec.timezone, tuple(wh.days),
                          wh.start.strftime("%H:%M"), wh.end.strftime("%H:%M"))


def known_departments(reader: Reader, directory: Directory) -> list[str]:
    """Departments a report can be asked for: configured ones and any the store has data for."""
    return sorted(set(directory.spec.departments) | store_departments(reader))


@dataclass(frozen=True, slots=True)
class ReportQuery:
    department: str
    period: Period
    source: str = "all"


def load_report(reader: Reader, query: ReportQuery, directory: Directory, *,
                settings: SessionSettings | None = None, now: float | None = None) -> UsageReport:
    """The whole report for one department and period, read in one read transaction.

    Raises UnknownDepartment when neither the directory nor the store knows the department
    (a known department without data gives an empty report), StoreError on an old schema.
    """
    check_schema(reader)

    def display_name(user: str) -> str:
        spec = directory.users.get(user)
        return spec.name if spec is not None and spec.name else user

    # One snapshot for rows and findings: the writer may commit between two statements.
    reader.execute("BEGIN")
    try:
        known = set(directory.spec.departments) | store_departments(reader)
        if query.department not in known:
            raise UnknownDepartment(f"unknown department {query.department!r} "
                                    f"(known: {', '.join(sorted(known)) or 'none'})")
        user_apps, days = load_rows(reader, query.department, query.period, query.source)
        findings = load_findings(reader, query.department, query.period, display_name)
    except sqlite3.OperationalError as e:
        raise StoreError(f"cannot read usage from {reader.path}: {e}") from e
    finally:
        reader.execute("COMMIT")
    return build_report(department_info(directory, query.department), query.period, query.source,
                        user_apps, days, findings, display_name=display_name, settings=settings,
                        generated=time.time() if now is None else now)
