"""Store errors. Messages name paths, ids and counts only, never incident content."""

from __future__ import annotations


class StoreError(Exception):
    """Anything the incident store refuses or fails to do."""


class StoreNotFound(StoreError):
    """A reader was pointed at a database file that does not exist (readers never create one)."""


class NotAStore(StoreError):
    """The file exists but is not an incident database (not SQLite, or no incidents table)."""


class StoreFull(StoreError):
    """The write queue is at its bound: the caller must count this, the write did not happen."""


class StoreClosed(StoreError):
    """A write was submitted to a store that is not started, closing or closed."""


class StoreWriteError(StoreError):
    """A transaction failed to commit; every write in that batch failed with it."""
