"""Usage rollups in the store: batched upserts from the proxy, queries for reports, purging.

Writes run on the store's writer thread (``store.submit(partial(write_usage, deltas))``), so
the proxy never waits on disk for usage. Names are interned in the ``names`` table.
"""

from __future__ import annotations

import sqlite3

from agent.usage_rollup import UsageDelta, UsageFinding

SOURCES = {"proxy": 0, "passive": 1}
SOURCE_NAMES = {v: k for k, v in SOURCES.items()}


def _name_ids(conn: sqlite3.Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Intern (kind, name) pairs; a batch holds a few dozen distinct names, each an indexed lookup."""
    conn.executemany("INSERT OR IGNORE INTO names (kind, name) VALUES (?, ?)", sorted(pairs))
    return {p: conn.execute("SELECT id FROM names WHERE kind = ? AND name = ?", p).fetchone()[0]
            for p in pairs}


_UPSERT = """
INSERT INTO usage_hourly (department_id, day, user_id, app_id, hour, source, category_id,
                          active_s, active_work_s, requests, bytes_up, bytes_down, uploads, violations)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (department_id, day, user_id, app_id, hour, source) DO UPDATE SET
    active_s = active_s + excluded.active_s,
    active_work_s = active_work_s + excluded.active_work_s,
    requests = requests + excluded.requests,
    bytes_up = bytes_up + excluded.bytes_up,
    bytes_down = bytes_down + excluded.bytes_down,
    uploads = uploads + excluded.uploads,
    violations = violations + excluded.violations
"""


def write_usage(deltas: list[UsageDelta], conn: sqlite3.Connection) -> int:
    """Upsert rollup deltas (called on the writer thread inside its batch transaction)."""
    if not deltas:
        return 0
    pairs = set()
    for d in deltas:
        pairs.update((("department", d.department), ("user", d.user), ("app", d.app),
                      ("category", d.category)))
    ids = _name_ids(conn, pairs)
    conn.executemany(_UPSERT, [
        (ids[("department", d.department)], d.day, ids[("user", d.user)], ids[("app", d.app)],
         d.hour, SOURCES[d.source], ids[("category", d.category)], d.active_s, d.active_work_s,
         d.requests, d.bytes_up, d.bytes_down, d.uploads, d.violations) for d in deltas])
    return len(deltas)


def write_finding(f: UsageFinding, conn: sqlite3.Connection) -> bool:
    """Record a usage finding once per (rule, day, user); False when it already existed."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO usage_findings (rule, day, user, department, category, seconds, "
        "threshold, time, incident) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (f.rule, f.day, f.user, f.department, f.category, f.seconds, f.threshold, f.time, f.incident))
    return cur.rowcount == 1


def purge(conn: sqlite3.Connection, *, before_day: int, before_time: float, batch: int = 5000) -> dict[str, int]:
    """Delete usage older than ``before_day`` and incidents older than ``before_time``, in
    small transactions so the proxy's writer never waits long for the lock."""
    counts = {"usage_rows": 0, "usage_findings": 0, "incidents": 0}
    statements = (
        # usage_hourly is WITHOUT ROWID: select victims by their primary key.
        ("usage_rows", before_day,
         "DELETE FROM usage_hourly WHERE (department_id, day, user_id, app_id, hour, source) IN "
         "(SELECT department_id, day, user_id, app_id, hour, source FROM usage_hourly "
         "WHERE day < ? LIMIT ?)"),
        ("usage_findings", before_day,
         "DELETE FROM usage_findings WHERE rowid IN (SELECT rowid FROM usage_findings WHERE day < ? LIMIT ?)"),
        ("incidents", before_time,
         "DELETE FROM incidents WHERE rowid IN (SELECT rowid FROM incidents WHERE time < ? LIMIT ?)"),
    )
    for key, arg, sql in statements:
        while True:
            own = not conn.in_transaction
            if own:
                conn.execute("BEGIN IMMEDIATE")
            n = conn.execute(sql, (arg, batch)).rowcount
            if own:
                conn.execute("COMMIT")
            counts[key] += n
            if n < batch:
                break
    return counts


def purge_database(path, *, retention_days: int, now: float) -> dict[str, int]:
    """Purge with a connection of its own, one short transaction per chunk: the proxy's writer
    thread waits at most one chunk for the lock (its busy timeout is seconds)."""
    from agent.store import db

    conn = db.open_writer(path)
    try:
        db.migrate(conn)
        cutoff = now - retention_days * 86400
        return purge(conn, before_day=int(cutoff // 86400), before_time=cutoff)
    finally:
        conn.close()
