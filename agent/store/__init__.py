"""Incident store: SQLite (WAL) with one batching writer thread, read-only readers, ECS export.

    store = Store.open(path)            # dir 0700, file 0600, schema migrated
    store.start()
    fut = store.submit_incident(inc)    # concurrent.futures.Future, resolved after COMMIT
    ...
    store.close()                       # drains the queue, then closes

Readers (CLI, reports) use ``Reader(path)``, which never creates a database.
"""

from agent.store.db import MIGRATIONS, SYNCHRONOUS, Migration, migrate
from agent.store.errors import (
    NotAStore,
    StoreClosed,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreWriteError,
)
from agent.store.incident import Incident, iso_utc, new_incident_id
from agent.store.query import IncidentFilter, Reader, build_query
from agent.store.writer import Store, StoreStats

__all__ = [
    "MIGRATIONS", "SYNCHRONOUS", "Incident", "IncidentFilter", "Migration", "NotAStore", "Reader",
    "Store", "StoreClosed", "StoreError", "StoreFull", "StoreNotFound", "StoreStats",
    "StoreWriteError", "build_query", "iso_utc", "migrate", "new_incident_id",
]
