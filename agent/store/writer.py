"""The store: one writer thread owns the write connection and commits queued writes in batches.

Why a thread: the proxy runs on an asyncio event loop, and a commit with synchronous=FULL waits
for an fsync. Callers only append to a bounded in-memory queue and get a
``concurrent.futures.Future`` back; the proxy awaits it (``asyncio.wrap_future``) with its own
timeout before it sends a block page. The writer takes everything queued (up to ``batch_max``)
into one transaction, so under load many incidents share one fsync (group commit).

Failure policy, stated once:
- queue at its bound -> ``submit`` raises ``StoreFull``; nothing is dropped silently, the caller
  counts it.
- one write fails (e.g. a duplicate id) -> only that write is rolled back (SAVEPOINT) and only its
  future fails; the rest of the batch commits.
- COMMIT fails (disk full, I/O error) -> every future of the batch fails with StoreWriteError.
- a caller that cancels its future (a timed-out ``wait_for`` does) does not withdraw the write:
  the incident is still recorded, because the user was blocked either way.
Log lines name the write's label (incident id and rule) and the SQLite error, never content.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from agent.store import db
from agent.store.errors import StoreClosed, StoreError, StoreFull, StoreWriteError
from agent.store.incident import COLUMNS, Incident
from agent.store.query import IncidentFilter, Reader

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_PENDING = 10_000   # ~ minutes of a violation storm; memory per entry is ~1-2 KB
DEFAULT_BATCH_MAX = 256        # bounds one transaction's size and hence one commit's latency

_INSERT = (f"INSERT INTO incidents ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join(':' + c for c in COLUMNS)})")


def insert_incident(row: dict[str, Any], conn: sqlite3.Connection) -> None:
    conn.execute(_INSERT, row)


def _describe(e: BaseException) -> str:
    """Content-free description: SQLite messages name tables/constraints, not bound values."""
    if isinstance(e, sqlite3.Error | StoreError):
        return f"{type(e).__name__}: {e}"
    return type(e).__name__


@dataclass(slots=True)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: Future
    label: str
    notify: bool = True     # False once the caller cancelled: write anyway, resolve nothing


@dataclass(frozen=True, slots=True)
class StoreStats:
    pending: int        # queued, not yet taken by the writer
    committed: int      # writes committed since start
    failed: int         # writes whose future got an exception
    rejected: int       # submits refused with StoreFull
    batches: int        # transactions committed


class Store:
    """Incident (and later usage) database with a single batching writer thread.

    Life cycle: ``Store.open(path)`` (creates, migrates) -> ``start()`` -> ``submit*`` ...
    -> ``close()`` (drains the queue, then closes). Also a context manager doing start/close.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, *,
                 max_pending: int = DEFAULT_MAX_PENDING,
                 batch_max: int = DEFAULT_BATCH_MAX) -> None:
        if max_pending < 1 or batch_max < 1:
            raise ValueError("max_pending and batch_max must be at least 1")
        self.path = path
        self._conn = conn
        self._max_pending = max_pending
        self._batch_max = batch_max
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._state = "open"     # open -> running -> closing -> closed
        self._committed = self._failed = self._rejected = self._batches = 0

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, max_pending: int = DEFAULT_MAX_PENDING,
             batch_max: int = DEFAULT_BATCH_MAX,
             busy_timeout: float = db.BUSY_TIMEOUT_SECONDS) -> Store:
        """Create (dir 0700, file 0600) or open the database and migrate it; not yet started."""
        p = Path(path)
        conn = db.open_writer(p, busy_timeout)
        try:
            db.migrate(conn)
        except BaseException:
            conn.close()
            raise
        return cls(p, conn, max_pending=max_pending, batch_max=batch_max)

    def __enter__(self) -> Store:
        if self._state == "open":
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread.

        It is a daemon thread so a forgotten ``close()`` cannot hang interpreter exit; what is
        still queued then is lost, but none of it was acknowledged (no future had resolved).
        """
        with self._cond:
            if self._state != "open":
                raise StoreClosed(f"incident store {self.path} is {self._state}; cannot start")
            self._state = "running"
            self._thread = threading.Thread(target=self._run, name="dlp-store-writer",
                                            daemon=True)
            self._thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting writes, commit everything already queued, close the connection.

        Idempotent. With a ``timeout`` that runs out, the writer keeps draining in the
        background and this raises StoreError (the caller should not exit silently).
        """
        with self._cond:
            if self._state == "open":           # never started: nothing queued
                self._state = "closed"
                self._conn.close()
                return
            if self._state == "running":
                self._state = "closing"
                self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                raise StoreError(f"incident store {self.path}: writer still draining "
                                 f"{len(self._queue)} writes after {timeout}s")

    # -- writes ----------------------------------------------------------------------------

    def submit(self, fn: Callable[[sqlite3.Connection], T], *, label: str = "write") -> Future[T]:
        """Queue ``fn(conn)`` to run in the writer's next transaction; never blocks.

        ``fn`` runs on the writer thread inside a savepoint: it must not BEGIN/COMMIT itself and
        must not keep the connection. The future resolves to its return value once the
        transaction has COMMITTED, or to its exception. ``label`` appears in logs: keep it
        content-free. Raises StoreFull when ``max_pending`` writes are queued, StoreClosed when
        the store is not running.
        """
        fut: Future[T] = Future()
        with self._cond:
            if self._state != "running":
                raise StoreClosed(f"incident store {self.path} is {self._state}")
            if len(self._queue) >= self._max_pending:
                self._rejected += 1
                raise StoreFull(f"incident store {self.path}: write queue full "
                                f"({self._max_pending} pending); {label} not queued")
            self._queue.append(_Job(fn, fut, label))
            self._cond.notify()
        return fut

    def submit_incident(self, incident: Incident) -> Future[None]:
        """Queue an incident; the future resolves (to None) once it is committed.

        The row is built here, on the caller's thread, so a malformed incident fails now
        (ValueError/TypeError) and later changes to the object do not alter what is stored.
        """
        row = incident.to_row()
        return self.submit(partial(insert_incident, row),
                           label=f"incident {incident.id} ({incident.rule})")

    def add_incident(self, incident: Incident, timeout: float | None = 30.0) -> None:
        """Synchronous helper (tests, tools): submit and wait for the commit."""
        self.submit_incident(incident).result(timeout)

    # -- reads (own connection per call; for tools and tests) -------------------------------

    def reader(self) -> Reader:
        return Reader(self.path)

    def get_incident(self, incident_id: str) -> Incident | None:
        with self.reader() as r:
            return r.get_incident(incident_id)

    def list_incidents(self, flt: IncidentFilter | None = None) -> list[Incident]:
        with self.reader() as r:
            return r.list_incidents(flt)

    def stats(self) -> StoreStats:
        with self._cond:
            return StoreStats(len(self._queue), self._committed, self._failed, self._rejected,
                              self._batches)

    # -- the writer thread -----------------------------------------------------------------

    def _take(self) -> list[_Job] | None:
        with self._cond:
            while not self._queue and self._state == "running":
                self._cond.wait()
            if not self._queue:
                return None                      # closing and drained
            n = min(len(self._queue), self._batch_max)
            return [self._queue.popleft() for _ in range(n)]

    def _run(self) -> None:
        try:
            while (batch := self._take()) is not None:
                for job in batch:
                    # After this, cancel() fails: a caller can no longer be told "cancelled"
                    # for a write that then commits. A job cancelled while queued is written
                    # anyway (see module docstring), just not reported.
                    job.notify = job.future.set_running_or_notify_cancel()
                try:
                    self._write(batch)
                except Exception as e:  # noqa: BLE001 - broken connection or a bug: fail this
                    self._fail_batch(batch, e)  # batch loudly, keep serving the next one
        finally:
            with self._cond:
                self._state = "closed"
                left = list(self._queue)
                self._queue.clear()
            for job in left:                     # only if the loop died of a bug
                self._settle(job, exc=StoreClosed(f"incident store {self.path} closed"))
            try:
                self._conn.execute("PRAGMA optimize")
            except sqlite3.Error as e:
                log.warning("incident store: PRAGMA optimize failed: %s", _describe(e))
            self._conn.close()

    def _write(self, batch: list[_Job]) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self._fail_batch(batch, e)
            return
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        for job in batch:
            try:
                conn.execute("SAVEPOINT job")
                result = job.fn(conn)
                conn.execute("RELEASE job")
                outcomes.append((job, result, None))
            except Exception as e:  # noqa: BLE001 - isolate one bad write; it is reported below
                if not conn.in_transaction:
                    # SQLite rolled the whole transaction back (e.g. disk full): nothing of this
                    # batch is committed, so every future must fail.
                    self._fail_batch(batch, e)
                    return
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                log.error("incident store: %s failed: %s", job.label, _describe(e))
                outcomes.append((job, None, e))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._fail_batch(batch, e)
            return
        with self._cond:
            self._batches += 1
            self._committed += sum(1 for _, _, e in outcomes if e is None)
            self._failed += sum(1 for _, _, e in outcomes if e is not None)
        for job, result, err in outcomes:
            self._settle(job, result, err)

    def _fail_batch(self, batch: list[_Job], cause: BaseException) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error as e:
            log.error("incident store: rollback failed: %s", _describe(e))
        log.error("incident store: transaction of %d writes failed: %s (first: %s)",
                  len(batch), _describe(cause), batch[0].label)
        with self._cond:
            self._failed += len(batch)
        for job in batch:
            err = StoreWriteError(f"incident store {self.path}: transaction failed: "
                                  f"{_describe(cause)}")
            err.__cause__ = cause
            self._settle(job, exc=err)

    @staticmethod
    def _settle(job: _Job, result: Any = None, exc: BaseException | None = None) -> None:
        if not job.notify:
            return
        try:
            if exc is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(exc)
        except InvalidStateError:   # settled already (only possible for the left-over path)
            pass
