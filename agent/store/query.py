"""Reading incidents: a filter value, the SQL it becomes (pure), and a read-only reader."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agent.store import db
from agent.store.incident import COLUMNS, Incident, severities_at_least


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents to list. Every given condition must hold; results are newest first.

    ``since`` is inclusive and ``until`` exclusive (epoch seconds), so consecutive windows never
    count an incident twice. ``severity`` is a *minimum* ("high" lists high and critical), the
    way an analyst triages; set ``exact_severity`` for that one level only. ``type`` keeps
    incidents with at least one detection of that entity type (``SSN``, ``EDM:clerk_records``).
    """

    since: float | None = None
    until: float | None = None
    rule: str | None = None
    user: str | None = None
    department: str | None = None
    severity: str | None = None
    exact_severity: bool = False
    action: str | None = None
    app: str | None = None
    type: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.severity is not None:
            severities_at_least(self.severity)        # raises ValueError naming the known ones
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be at least 1")


_SELECT = f"SELECT {', '.join(COLUMNS)} FROM incidents"
_EQUAL = ("rule", "user", "department", "action", "app")


def build_query(flt: IncidentFilter) -> tuple[str, list[Any]]:
    """The SQL and parameters for a filter. Values are always bound, never formatted in."""
    where: list[str] = []
    params: list[Any] = []
    if flt.since is not None:
        where.append("time >= ?")
        params.append(flt.since)
    if flt.until is not None:
        where.append("time < ?")
        params.append(flt.until)
    for name in _EQUAL:
        value = getattr(flt, name)
        if value is not None:
            where.append(f"{name} = ?")
            params.append(value)
    if flt.severity is not None:
        levels = (flt.severity,) if flt.exact_severity else severities_at_least(flt.severity)
        where.append(f"severity IN ({', '.join('?' * len(levels))})")
        params.extend(levels)
    if flt.type is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(incidents.detections) "
                     "WHERE json_extract(json_each.value, '$.type') = ?)")
        params.append(flt.type)
    sql = _SELECT
    if where:
        sql += " WHERE " + " AND ".join(where)
    # rowid breaks ties in insertion order: ids are random, times can repeat.
    sql += " ORDER BY time DESC, rowid DESC"
    if flt.limit is not None:
        sql += " LIMIT ?"
        params.append(flt.limit)
    return sql, params


class Reader:
    """Read-only access for the CLI, reports and tests; its own connection, never the writer's.

    A reader sees every transaction committed before each query starts (WAL snapshot), and never
    blocks the writer. Not thread-safe: one reader per thread.
    """

    def __init__(self, path: str | os.PathLike[str],
                 busy_timeout: float = db.BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self._conn = db.open_reader(path, busy_timeout)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def iter_incidents(self, flt: IncidentFilter | None = None) -> Iterator[Incident]:
        sql, params = build_query(flt or IncidentFilter())
        for row in self._conn.execute(sql, params):
            yield Incident.from_row(row)

    def list_incidents(self, flt: IncidentFilter | None = None) -> list[Incident]:
        return list(self.iter_incidents(flt))

    def get_incident(self, incident_id: str) -> Incident | None:
        row = self._conn.execute(f"{_SELECT} WHERE id = ?", (incident_id,)).fetchone()
        return Incident.from_row(row) if row else None

    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Ad-hoc read queries (reports); the connection is read-only, so writes fail."""
        return self._conn.execute(sql, params)
