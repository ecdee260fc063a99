"""The database file: private modes, WAL, pragmas, migrations, read-only readers."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from agent.store import (
    MIGRATIONS,
    Migration,
    NotAStore,
    Reader,
    Store,
    StoreError,
    StoreNotFound,
    migrate,
)
from agent.store.db import open_writer, schema_version


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_new_directories_are_0700_and_files_0600(tmp_path, make_incident):
    path = tmp_path / "a" / "b" / "incidents.db"
    old = os.umask(0o022)          # a typical umask must not loosen what we create
    try:
        with Store.open(path) as s:
            s.add_incident(make_incident())
            wal = Path(f"{path}-wal")
            assert wal.exists() and mode(wal) == 0o600      # SQLite copies the db file's mode
            assert mode(Path(f"{path}-shm")) == 0o600
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == 0o700
    assert mode(tmp_path / "a" / "b") == 0o700
    assert mode(path) == 0o600


def test_existing_parent_directory_is_left_alone(tmp_path):
    tmp_path.chmod(0o755)
    Store.open(tmp_path / "incidents.db").close()
    assert mode(tmp_path) == 0o755


def test_an_existing_loose_file_is_tightened(tmp_path, caplog):
    path = tmp_path / "incidents.db"
    Store.open(path).close()
    path.chmod(0o644)
    Store.open(path).close()
    assert mode(path) == 0o600
    assert "had mode 0644" in caplog.text


def test_connection_settings(db_path):
    conn = open_writer(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2          # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        conn.close()
    # WAL is a property of the file: a plain connection sees it too.
    plain = sqlite3.connect(db_path)
    assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plain.close()


def test_schema_version_and_idempotent_reopen(db_path):
    for _ in range(3):
        Store.open(db_path).close()
    with Reader(db_path) as r:
        assert r.schema_version() == schema_version() == len(MIGRATIONS)
        names = {row[0] for row in r.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
    assert {"incidents", "incidents_time", "incidents_user_time", "incidents_department_time",
            "incidents_rule_time"} <= names


def test_a_later_migration_applies_once_and_keeps_data(db_path, make_incident):
    inc = make_incident()
    with Store.open(db_path) as s:
        s.add_incident(inc)
    later = MIGRATIONS + (Migration(len(MIGRATIONS) + 1, "usage rollups (test)", (
        "CREATE TABLE usage_hour (user TEXT, app TEXT, hour INTEGER, active_seconds REAL, "
        "PRIMARY KEY (user, app, hour))",)),)
    conn = open_writer(db_path)
    try:
        assert migrate(conn, later) == len(later)
        assert migrate(conn, later) == len(later)            # second run: no-op, no error
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(later)
    finally:
        conn.close()
    with Reader(db_path) as r:
        assert r.get_incident(inc.id) == inc
        assert r.execute("SELECT count(*) FROM usage_hour").fetchone()[0] == 0


def test_a_failing_migration_leaves_the_old_version(db_path):
    Store.open(db_path).close()
    broken = MIGRATIONS + (Migration(len(MIGRATIONS) + 1, "broken", (
        "CREATE TABLE t1 (x)", "THIS IS NOT SQL")),)
    conn = open_writer(db_path)
    try:
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, broken)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 't1'").fetchone() is None
    finally:
        conn.close()


def test_migration_versions_must_be_consecutive(db_path):
    conn = open_writer(db_path)
    try:
        with pytest.raises(ValueError, match="1..N"):
            migrate(conn, (Migration(1, "a", ()), Migration(3, "c", ())))
    finally:
        conn.close()


def test_a_newer_schema_is_refused_by_the_writer(db_path):
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this dlp-agent"):
        Store.open(db_path)


def test_reader_refuses_a_missing_file_and_creates_nothing(tmp_path):
    path = tmp_path / "nope" / "incidents.db"
    with pytest.raises(StoreNotFound, match=str(path)):
        Reader(path)
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("content,message", [
    (b"", "no incidents table"),                       # an empty file is an empty SQLite db
    (b"this is not a database, just text" * 200, "not an incident database"),
])
def test_reader_refuses_other_files(tmp_path, content, message):
    path = tmp_path / "other.db"
    path.write_bytes(content)
    with pytest.raises(NotAStore, match=message):
        Reader(path)
    assert path.read_bytes() == content                   # untouched


def test_reader_refuses_a_directory(tmp_path):
    with pytest.raises(NotAStore, match="not a file"):
        Reader(tmp_path)


def test_writer_refuses_a_non_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"meeting notes " * 500)
    with pytest.raises(NotAStore, match="not an incident database"):
        Store.open(path)


def test_reader_is_read_only(store, make_incident):
    store.add_incident(make_incident())
    with Reader(store.path) as r, pytest.raises(sqlite3.OperationalError, match="readonly"):
        r.execute("DELETE FROM incidents")
    assert len(store.list_incidents()) == 1
