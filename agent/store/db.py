"""The database file: private creation, connection settings, and the schema migration list.

One SQLite file holds incidents (issue 3) and, later, usage rollups (issue 4). The schema is
versioned with ``PRAGMA user_version``; ``MIGRATIONS`` is an explicit list, each step applied in
its own transaction together with the version bump, so a crash mid-migration leaves the old
version in place and the next start simply tries again.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.store.errors import NotAStore, StoreError, StoreNotFound

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 5.0

# Durability. An incident is acknowledged to the user (the block page names its id) only after
# COMMIT returns, so that commit must outlive whatever can happen next:
#   - WAL + synchronous=NORMAL survives a crash or `kill -9` of the agent (the committed frames
#     are in the OS page cache and reach the file), but NOT a power cut or kernel panic: the WAL
#     is fsynced only at checkpoints, so the last commits before the outage can roll back.
#   - WAL + synchronous=FULL also fsyncs the WAL at every commit, so an acknowledged incident
#     survives power loss too.
# We choose FULL. Incidents are evidence under WC-P17-001 §11 and the block page has already told
# the user an id exists; the cost is one fsync per *transaction*, not per incident, because the
# writer thread commits everything queued in one transaction (group commit), and violations are
# rare next to ordinary traffic. Usage rollups (issue 4) are batched the same way.
SYNCHRONOUS = "FULL"

WAL_SIZE_LIMIT = 64 * 1024 * 1024   # truncate the -wal file back to this after checkpoints


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step. ``statements`` run in order inside a single transaction."""

    version: int
    description: str
    statements: tuple[str, ...]


# Append only: a released step is never edited, later issues add new steps (usage rollups: 2).
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "incidents table and its query indexes", (
        """CREATE TABLE incidents (
            id                TEXT PRIMARY KEY,
            time              REAL NOT NULL,        -- epoch seconds, UTC
            user              TEXT NOT NULL,
            department        TEXT NOT NULL,
            client_ip         TEXT NOT NULL,
            app               TEXT NOT NULL,
            category          TEXT NOT NULL,
            host              TEXT NOT NULL,
            method            TEXT NOT NULL,
            path              TEXT NOT NULL,        -- never a query string
            rule              TEXT NOT NULL,
            description       TEXT NOT NULL,
            severity          TEXT NOT NULL,
            action            TEXT NOT NULL,
            policy_ref        TEXT NOT NULL,
            exception         TEXT,
            expired_exception TEXT,
            bytes             INTEGER NOT NULL,
            node              TEXT NOT NULL,
            why               TEXT NOT NULL,        -- JSON arrays from here on
            rules             TEXT NOT NULL,
            detections        TEXT NOT NULL,        -- masked samples and keyed hashes only
            files             TEXT NOT NULL,
            uninspectable     TEXT NOT NULL
        )""",
        # Every listing is "newest first within a time window", optionally for one user,
        # department (supervisor views) or rule (alert follow-up).
        "CREATE INDEX incidents_time ON incidents (time)",
        "CREATE INDEX incidents_user_time ON incidents (user, time)",
        "CREATE INDEX incidents_department_time ON incidents (department, time)",
        "CREATE INDEX incidents_rule_time ON incidents (rule, time)",
    )),
    Migration(2, "usage rollups per department, day, user, app and hour; usage findings", (
        # Names (users, departments, apps, categories) are stored once and referenced by
        # integer: a 5,000-user month of hourly rollups stays well under 200 MB.
        """CREATE TABLE names (
            id    INTEGER PRIMARY KEY,
            kind  TEXT NOT NULL,                  -- user | department | app | category
            name  TEXT NOT NULL,
            UNIQUE (kind, name)
        )""",
        # The key starts with department and day because every report asks "this department,
        # these days"; rows of one department-day are contiguous.
        """CREATE TABLE usage_hourly (
            department_id  INTEGER NOT NULL,
            day            INTEGER NOT NULL,       -- local date in the department's time zone, days since 1970-01-01
            user_id        INTEGER NOT NULL,
            app_id         INTEGER NOT NULL,
            hour           INTEGER NOT NULL,       -- UTC hour, hours since the epoch
            source         INTEGER NOT NULL,       -- 0 proxy, 1 passive monitor
            category_id    INTEGER NOT NULL,
            active_s       REAL NOT NULL DEFAULT 0,
            active_work_s  REAL NOT NULL DEFAULT 0,   -- of which inside the department's working hours
            requests       INTEGER NOT NULL DEFAULT 0,
            bytes_up       INTEGER NOT NULL DEFAULT 0,
            bytes_down     INTEGER NOT NULL DEFAULT 0,
            uploads        INTEGER NOT NULL DEFAULT 0,
            violations     INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (department_id, day, user_id, app_id, hour, source)
        ) WITHOUT ROWID""",
        "CREATE INDEX usage_day ON usage_hourly (day)",
        """CREATE TABLE usage_findings (
            rule        TEXT NOT NULL,
            day         INTEGER NOT NULL,
            user        TEXT NOT NULL,
            department  TEXT NOT NULL,
            category    TEXT NOT NULL,
            seconds     REAL NOT NULL,             -- active time when the threshold was crossed
            threshold   REAL NOT NULL,
            time        REAL NOT NULL,
            incident    TEXT,
            PRIMARY KEY (rule, day, user)
        )""",
        "CREATE INDEX usage_findings_department_day ON usage_findings (department, day)",
    )),
)


def schema_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return migrations[-1].version if migrations else 0


# -- files -----------------------------------------------------------------------------------

def _make_private_dirs(directory: Path) -> None:
    """Create missing ancestors with mode 0700 (os.makedirs applies mode to the leaf only)."""
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:   # another process made it meanwhile
            continue
        os.chmod(d, 0o700)        # the umask may have taken bits off; set exactly


def _tighten(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("incident database file %s had mode %04o; setting 0600", path, mode)
        os.chmod(path, 0o600)


def prepare_file(path: Path) -> None:
    """Make sure the database file exists with mode 0600 before SQLite opens it.

    SQLite gives the -wal and -shm files the mode of the database file, so they are private too.
    """
    _make_private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if p.exists():
                _tighten(p)
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


# -- connections -----------------------------------------------------------------------------

def open_writer(path: str | os.PathLike[str],
                busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """The read-write connection: creates the file privately, WAL, FULL sync, autocommit mode.

    ``check_same_thread=False`` because it is made here and then used only by the writer thread.
    """
    p = Path(path)
    try:
        prepare_file(p)
    except OSError as e:
        raise StoreError(f"cannot create incident database {p}: {e.strerror or e}") from e
    try:
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves (one per batch).
        conn = sqlite3.connect(p, timeout=busy_timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as e:
        raise StoreError(f"cannot open incident database {p}: {e}") from e
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"incident database {p}: WAL mode refused (journal_mode={mode}); "
                             "is it on a network file system?")
        conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise NotAStore(f"{p} is not an incident database: {e}") from e
    except BaseException:
        conn.close()
        raise
    return conn


def open_reader(path: str | os.PathLike[str],
                busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A read-only connection for the CLI and reports. Never creates or modifies the file."""
    p = Path(path)
    if not p.exists():
        raise StoreNotFound(f"incident database {p} does not exist")
    if not p.is_file():
        raise NotAStore(f"{p} is not a file")
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout)
    except sqlite3.Error as e:
        raise StoreError(f"cannot read incident database {p}: {e}") from e
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incidents'").fetchone()
    except sqlite3.DatabaseError as e:
        conn.close()
        raise NotAStore(f"{p} is not an incident database: {e}") from e
    if not found:
        conn.close()
        raise NotAStore(f"{p} is not an incident database (no incidents table)")
    return conn


# -- schema ----------------------------------------------------------------------------------

def _check_sequence(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must be 1..N in order, got {versions}")


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema up to the last migration; a no-op when it is already there.

    Each step runs in BEGIN IMMEDIATE and re-reads the version inside the transaction, so two
    processes starting at once cannot both apply a step. Returns the resulting version.
    """
    _check_sequence(migrations)
    target = schema_version(migrations)
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > target:
        raise StoreError(f"database schema version {current} is newer than this dlp-agent "
                         f"understands ({target}); upgrade the agent")
    for m in migrations:
        if m.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = conn.execute("PRAGMA user_version").fetchone()[0]
            if now < m.version:
                for sql in m.statements:
                    conn.execute(sql)
                conn.execute(f"PRAGMA user_version = {int(m.version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("incident database schema at version %d (%s)", m.version, m.description)
        current = m.version
    return current
