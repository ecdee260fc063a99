"""hyperscan helpers shared by the scanner, the context-word matcher and the table path."""

from __future__ import annotations

import threading

import hyperscan


class ThreadScratch:
    """One scratch space per thread for a database: a scratch must never be used by two
    scans at once, and the proxy inspects on several threads."""

    def __init__(self, db: hyperscan.Database):
        self._proto = hyperscan.Scratch(db)
        self._local = threading.local()
        self._lock = threading.Lock()

    def get(self) -> hyperscan.Scratch:
        s = getattr(self._local, "scratch", None)
        if s is None:
            with self._lock:
                s = self._proto.clone()
            self._local.scratch = s
        return s
