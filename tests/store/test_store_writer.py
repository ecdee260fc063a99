"""The writer thread: commit-then-resolve, batching, bounds, draining, failure isolation."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from agent.store import Reader, Store, StoreClosed, StoreFull, StoreWriteError

WAIT = 10.0   # generous bound for futures; tests never sleep for correctness


def blocker(store: Store) -> tuple[threading.Event, threading.Event, Future]:
    """Hold the writer inside a transaction until released: lets tests see the queue state."""
    entered, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> str:
        entered.set()
        assert release.wait(WAIT)
        return "held"

    fut = store.submit(hold, label="test blocker")
    assert entered.wait(WAIT)
    return entered, release, fut


def visible(path, incident_id: str) -> bool:
    with Reader(path) as r:
        return r.get_incident(incident_id) is not None


def test_round_trip(store, make_incident):
    inc = make_incident(files=[{"where": "body", "name": "a.csv", "type": "csv", "size": 10}],
                        uninspectable=[{"reason": "encrypted", "where": "zip", "detail": ""}],
                        exception="EXC-2026-004")
    assert store.submit_incident(inc).result(WAIT) is None
    assert store.get_incident(inc.id) == inc
    assert store.get_incident("INC-20261127-NOTTHERE") is None


def test_future_resolves_only_after_commit(store, make_incident):
    _, release, held = blocker(store)
    inc = make_incident()
    fut = store.submit_incident(inc)      # queued behind the open transaction
    assert not fut.done()
    assert not visible(store.path, inc.id)
    seen_at_resolution: list[bool] = []
    called = threading.Event()

    def on_done(_: Future) -> None:
        # Runs on the writer thread the moment the future is resolved: the row must already be
        # visible to another connection, i.e. committed.
        seen_at_resolution.append(visible(store.path, inc.id))
        called.set()

    fut.add_done_callback(on_done)
    release.set()
    assert held.result(WAIT) == "held"
    fut.result(WAIT)
    assert called.wait(WAIT)
    assert seen_at_resolution == [True]


def test_writes_queued_together_share_one_transaction(store, make_incident):
    _, release, held = blocker(store)
    futs = [store.submit_incident(make_incident()) for _ in range(50)]
    before = store.stats().batches
    release.set()
    for f in futs:
        f.result(WAIT)
    held.result(WAIT)
    stats = store.stats()
    # the blocker's batch, then exactly one more for all 50 (batch_max is 256)
    assert stats.batches - before == 2
    assert stats.committed == 51 and stats.failed == 0


def test_batch_max_bounds_a_transaction(db_path, make_incident):
    with Store.open(db_path, batch_max=10) as store:
        _, release, held = blocker(store)
        futs = [store.submit_incident(make_incident()) for _ in range(35)]
        release.set()
        for f in futs:
            f.result(WAIT)
        assert store.stats().batches == 1 + 4       # blocker, then 10+10+10+5


def test_concurrent_submits_from_many_threads(store, make_incident):
    threads, per_thread = 16, 150

    def work(_: int) -> list[str]:
        futs = []
        for _ in range(per_thread):
            inc = make_incident()
            futs.append((inc.id, store.submit_incident(inc)))
        for _, f in futs:
            f.result(WAIT)
        return [i for i, _ in futs]

    with ThreadPoolExecutor(threads) as pool:
        ids = [i for chunk in pool.map(work, range(threads)) for i in chunk]
    assert len(set(ids)) == threads * per_thread
    with Reader(store.path) as r:
        stored = {row[0] for row in r.execute("SELECT id FROM incidents")}
        assert r.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stored == set(ids)
    stats = store.stats()
    assert stats.committed == len(ids)
    assert stats.batches < len(ids)                 # group commit happened


def test_queue_full_is_refused_loudly_and_nothing_queued_is_lost(db_path, make_incident):
    with Store.open(db_path, max_pending=5) as store:
        _, release, held = blocker(store)
        queued = [make_incident() for _ in range(5)]
        futs = [store.submit_incident(i) for i in queued]
        extra = make_incident()
        with pytest.raises(StoreFull, match="queue full"):
            store.submit_incident(extra)
        assert store.stats().rejected == 1 and store.stats().pending == 5
        release.set()
        for f in futs:
            f.result(WAIT)
        store.submit_incident(extra).result(WAIT)     # room again once drained
    with Reader(db_path) as r:
        assert {i.id for i in r.list_incidents()} == {i.id for i in queued} | {extra.id}


def test_close_drains_the_queue(db_path, make_incident):
    store = Store.open(db_path)
    store.start()
    _, release, held = blocker(store)
    incs = [make_incident() for _ in range(100)]
    futs = [store.submit_incident(i) for i in incs]
    closer = threading.Thread(target=store.close)
    closer.start()
    # close() must wait: the writer is still held inside its transaction
    closer.join(0.2)
    assert closer.is_alive()
    release.set()
    closer.join(WAIT)
    assert not closer.is_alive()
    assert all(f.done() and f.exception() is None for f in futs)
    with Reader(db_path) as r:
        assert len(r.list_incidents()) == 100
    with pytest.raises(StoreClosed):
        store.submit_incident(make_incident())
    store.close()                                    # idempotent


def test_close_with_a_timeout_reports_a_stuck_writer(db_path):
    store = Store.open(db_path)
    store.start()
    _, release, held = blocker(store)
    with pytest.raises(Exception, match="still draining"):
        store.close(timeout=0.05)
    release.set()
    store.close()
    assert held.result(WAIT) == "held"


def test_submit_before_start_is_refused(db_path, make_incident):
    store = Store.open(db_path)
    with pytest.raises(StoreClosed, match="is open"):
        store.submit_incident(make_incident())
    store.close()
    with pytest.raises(StoreClosed):
        store.start()


def test_a_cancelled_future_does_not_withdraw_the_write(store, make_incident):
    """The proxy's wait_for cancels on timeout; the user was blocked, so the incident stays."""
    _, release, held = blocker(store)
    inc = make_incident()
    fut = store.submit_incident(inc)
    assert fut.cancel()
    marker = store.submit_incident(make_incident())
    release.set()
    marker.result(WAIT)
    assert visible(store.path, inc.id)


def test_one_failing_write_does_not_sink_its_batch(store, make_incident, caplog):
    first = make_incident()
    store.add_incident(first)
    _, release, held = blocker(store)
    good1, dup, good2 = make_incident(), make_incident(id=first.id), make_incident()
    f1, fd, f2 = (store.submit_incident(i) for i in (good1, dup, good2))
    release.set()
    f1.result(WAIT)
    f2.result(WAIT)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        fd.result(WAIT)
    assert visible(store.path, good1.id) and visible(store.path, good2.id)
    assert store.stats().failed == 1
    assert f"incident {first.id} (confidential-to-social) failed" in caplog.text
    assert "***" not in caplog.text and "078" not in caplog.text   # no evidence in logs


def test_a_failed_commit_fails_every_write_of_the_batch(store, make_incident):
    """A deferred foreign-key violation makes COMMIT itself fail: all-or-nothing."""
    def setup(conn):
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child (p INTEGER REFERENCES parent (id) "
                     "DEFERRABLE INITIALLY DEFERRED)")
    store.submit(setup, label="setup").result(WAIT)
    _, release, held = blocker(store)
    inc = make_incident()
    f_inc = store.submit_incident(inc)
    f_bad = store.submit(lambda c: c.execute("INSERT INTO child VALUES (42)"), label="orphan")
    release.set()
    assert held.result(WAIT) == "held"          # its own, earlier transaction
    for f in (f_inc, f_bad):
        with pytest.raises(StoreWriteError, match="FOREIGN KEY constraint failed"):
            f.result(WAIT)
    assert not visible(store.path, inc.id)
    ok = make_incident()
    store.add_incident(ok)                            # the writer goes on
    assert visible(store.path, ok.id)


def test_generic_submit_returns_the_result_after_commit(store):
    store.submit(lambda c: c.execute("CREATE TABLE usage_hour (k TEXT PRIMARY KEY, n INTEGER)"),
                 label="ddl").result(WAIT)

    def bump(conn):
        conn.execute("INSERT INTO usage_hour VALUES ('jdoe/facebook', 1) "
                     "ON CONFLICT (k) DO UPDATE SET n = n + 1")
        return conn.execute("SELECT n FROM usage_hour").fetchone()[0]

    results = [store.submit(bump, label="usage").result(WAIT) for _ in range(3)]
    assert results == [1, 2, 3]


def test_a_failing_job_with_an_arbitrary_exception_is_isolated(store, make_incident):
    def boom(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("job bug")
    _, release, held = blocker(store)
    f_boom = store.submit(boom, label="boom")
    inc = make_incident()
    f_inc = store.submit_incident(inc)
    release.set()
    with pytest.raises(RuntimeError, match="job bug"):
        f_boom.result(WAIT)
    f_inc.result(WAIT)
    with Reader(store.path) as r:      # the failed job's own changes were rolled back
        assert r.execute("SELECT 1 FROM sqlite_master WHERE name='half_done'").fetchone() is None


def test_the_submitted_incident_is_a_snapshot(store, make_incident):
    _, release, held = blocker(store)
    inc = make_incident()
    fut = store.submit_incident(inc)
    inc.detections[0]["samples"].append("changed later")
    release.set()
    fut.result(WAIT)
    assert "changed later" not in store.get_incident(inc.id).detections[0]["samples"]


def test_submit_never_waits_for_the_disk(store, make_incident):
    _, release, held = blocker(store)           # the writer is busy in a transaction
    t0 = time.perf_counter()
    futs = [store.submit_incident(make_incident()) for _ in range(1000)]
    elapsed = time.perf_counter() - t0
    release.set()
    for f in futs:
        f.result(WAIT)
    assert elapsed < 1.0, f"1000 submits took {elapsed:.3f}s while the writer was busy"
