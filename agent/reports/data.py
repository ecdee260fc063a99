"""Reading usage for reports: read-only SQL over the store's usage tables (an edge module).

Everything goes through ``agent.store.Reader`` (a ``mode=ro`` connection), so a report can
never create or change the database. Queries follow the primary key of ``usage_hourly``
(department_id, day, user_id, app_id, hour, source): one department and a range of days is
one contiguous range of the table.
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


_SUMS = ("SUM(active_s), SUM(active_work_s), SUM(requests), SUM(bytes_up), SUM(bytes_down), "
         "SUM(uploads), SUM(violations)")
_RANGE = "department_id = ? AND day BETWEEN ? AND ?"

# Both sources at once: the passive monitor on a mirror port can see the same browsing the
# proxy handled. Where both saw one person use one app in the same hour, the larger figure of
# each column counts, not the sum, so nothing is counted twice. This inner query groups in
# primary-key order (no sort); it is used only when the range holds passive rows at all.
_HOURLY_MAX = f"""(SELECT day, user_id, app_id, hour, MIN(category_id) AS category_id,
       MAX(active_s) AS active_s, MAX(active_work_s) AS active_work_s,
       MAX(requests) AS requests, MAX(bytes_up) AS bytes_up, MAX(bytes_down) AS bytes_down,
       MAX(uploads) AS uploads, MAX(violations) AS violations
  FROM usage_hourly WHERE {_RANGE}
  GROUP BY day, user_id, app_id, hour)"""

# Two small aggregates make the whole report: the people table (user x app over the period)
# and the daily chart (day x category). Asking SQLite for these (tens of thousands of rows
# for a big department) is several times cheaper than moving every (day, user, app) row
# into Python.
_USER_APP = ("SELECT user_id, app_id, category_id, {sums} FROM {src} "
             "GROUP BY user_id, app_id, category_id")
_DAY_CATEGORY = "SELECT day, category_id, {sums} FROM {src} GROUP BY day, category_id"


def _queries(source: str, both_present: bool) -> tuple[str, str, int | None]:
    """(user-app SQL, day-category SQL, source id to bind or None) for a source selection."""
    source_id = None
    if source == "all":
        src = _HOURLY_MAX if both_present else f"usage_hourly WHERE {_RANGE}"
    else:
        src, source_id = f"usage_hourly WHERE {_RANGE} AND source = ?", SOURCE_IDS[source]
    return (_USER_APP.format(sums=_SUMS, src=src), _DAY_CATEGORY.format(sums=_SUMS, src=src),
            source_id)


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


def _has_source(reader: Reader, dept_id: int, period: Period, source: str) -> bool:
    row = reader.execute(f"SELECT 1 FROM usage_hourly WHERE {_RANGE} AND source = ? LIMIT 1",
                         (dept_id, period.first_day, period.last_day, SOURCE_IDS[source]))
    return row.fetchone() is not None


def load_rows(reader: Reader, department: str, period: Period,
              source: str = "all") -> tuple[list[UserAppRow], list[DayRow]]:
    """The department's (user, app) and (day, category) aggregates for the period."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    dept_id = _department_id(reader, department)
    if dept_id is None:
        return [], []
    both = source == "all" and all(_has_source(reader, dept_id, period, s) for s in SOURCE_IDS)
    user_app_sql, day_sql, source_id = _queries(source, both)
    args: tuple[int, ...] = (dept_id, period.first_day, period.last_day)
    if source_id is not None:
        args += (source_id,)
    names = _names(reader)
    user_apps = [UserAppRow(names[u], names[a], names[c], Figures(*sums))
                 for u, a, c, *sums in reader.execute(user_app_sql, args)]
    days = [DayRow(day, names[c], Figures(*sums))
            for day, c, *sums in reader.execute(day_sql, args)]
    return user_apps, days


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
