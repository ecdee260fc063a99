"""Logins in memory: random session tokens with idle and absolute expiry, and a throttle on
failed logins per user name and per client address.

In memory on purpose: a restart logs everyone out, which is the safe direction, and nothing
secret is ever written to disk. Tokens are kept only as SHA-256 digests, so a memory dump
or a debug print of the table does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_SESSIONS = 10_000          # bounds memory if something logs in in a loop


@dataclass(slots=True)
class Session:
    user: str
    created: float
    last_seen: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Sessions:
    def __init__(self, idle_seconds: float, max_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle_seconds
        self.max = max_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._by_digest: dict[str, Session] = {}

    def _alive(self, s: Session, now: float) -> bool:
        return now - s.last_seen < self.idle and now - s.created < self.max

    def create(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            if len(self._by_digest) >= MAX_SESSIONS:
                self._prune(now)
            if len(self._by_digest) >= MAX_SESSIONS:     # all alive: drop the oldest
                oldest = min(self._by_digest, key=lambda k: self._by_digest[k].last_seen)
                del self._by_digest[oldest]
            self._by_digest[_digest(token)] = Session(user, now, now)
        return token

    def get(self, token: str | None) -> Session | None:
        """The live session for ``token`` (and mark it used), or None."""
        if not token:
            return None
        now = self._clock()
        key = _digest(token)
        with self._lock:
            s = self._by_digest.get(key)
            if s is None:
                return None
            if not self._alive(s, now):
                del self._by_digest[key]
                return None
            s.last_seen = now
            return s

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._by_digest.pop(_digest(token), None)

    def drop_user(self, user: str) -> None:
        with self._lock:
            for k in [k for k, s in self._by_digest.items() if s.user == user]:
                del self._by_digest[k]

    def _prune(self, now: float) -> None:
        for k in [k for k, s in self._by_digest.items() if not self._alive(s, now)]:
            del self._by_digest[k]

    def __len__(self) -> int:
        return len(self._by_digest)


class Throttle:
    """At most ``limit`` failures per key within ``window`` seconds; then the key waits.

    Keys are ("user", name) and ("ip", address). While a key is over its limit, logins for it
    are refused without checking the password, so guessing costs the guesser time, not us
    scrypt work.
    """

    MAX_KEYS = 100_000

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and now - q[0] >= self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def wait(self, key: tuple[str, str], limit: int | None = None) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        limit = self.limit if limit is None else limit
        now = self._clock()
        with self._lock:
            q = self._recent(key, now)
            if len(q) < limit:
                return 0.0
            return max(0.0, q[-limit] + self.window - now)

    def fail(self, key: tuple[str, str]) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:
                for k in list(self._failures):
                    self._recent(k, now)
            q = self._failures.setdefault(key, deque())
            q.append(now)
            while len(q) > 1000:
                q.popleft()

    def clear(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)
