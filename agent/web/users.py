"""Who may read reports: the report-users file (YAML, mode 0600) and scrypt password hashes.

    session_minutes: 30            # idle time before a login expires
    users:
      rroe:
        name: Richard Roe
        role: supervisor           # sees only the departments listed
        departments: [finance]
        password: "scrypt$n=32768,r=8,p=1$<salt>$<hash>"   # dlp-agent serve-reports --hash-password
      kchen:
        name: Kim Chen
        role: doit_admin           # DoIT administrators see every department

A password is stored only as ``scrypt$n=N,r=R,p=P$<salt base64>$<key base64>``: the salt and
cost parameters are recorded with each hash, so they can be raised later without breaking
existing entries.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent import yamlload
from agent.identity import DEPT_RE
from agent.masking import check_private_file

# Cost: 32 MiB and ~0.1 s per check on one core. Enough to make an offline guess expensive,
# cheap enough for a login form that is also throttled.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
# Limits on parameters read from the file, so a bad entry cannot make one login eat the machine.
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
USERNAME_RE = r"^[a-z0-9][a-z0-9._@-]{0,63}$"
_HASH_RE = re.compile(r"^scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$")

Role = Literal["supervisor", "doit_admin"]


def _maxmem(n: int, r: int, p: int) -> int:
    return 128 * r * (n + p + 2) + 1024 * 1024


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P,
                  salt: bytes | None = None) -> str:
    """The stored form of ``password`` with a fresh random salt."""
    if not password:
        raise ValueError("the password is empty")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                         maxmem=_maxmem(n, r, p))
    return (f"scrypt$n={n},r={r},p={p}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(key).decode()}")


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, key) of a stored hash; ValueError saying what the form should be."""
    m = _HASH_RE.match(stored)
    if not m:
        raise ValueError("not a password hash; expected scrypt$n=N,r=R,p=P$<salt>$<key> "
                         "(make one with: dlp-agent serve-reports --hash-password)")
    n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
        raise ValueError(f"scrypt parameters out of range (n a power of 2 up to {MAX_N}, "
                         f"r 1..{MAX_R}, p 1..{MAX_P})")
    salt, key = base64.b64decode(m.group(4)), base64.b64decode(m.group(5))
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("salt or key too short")
    return n, r, p, salt, key


def verify_password(stored: str, password: str) -> bool:
    n, r, p, salt, key = parse_hash(stored)
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(key),
                         maxmem=_maxmem(n, r, p))
    return hmac.compare_digest(got, key)


# A hash of nothing anyone knows: checked for unknown user names so that a login for a
# name that does not exist takes as long as one with a wrong password.
@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_login(user: ReportUser | None, password: str) -> bool:
    if user is None:
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(user.password, password)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportUser(_Strict):
    name: str = Field(min_length=1, description="display name")
    role: Role
    departments: list[str] = Field(default_factory=list,
                                   description="department ids a supervisor may see")
    password: str = Field(repr=False, description="scrypt hash from --hash-password")

    @field_validator("password")
    @classmethod
    def _hash(cls, v: str) -> str:
        parse_hash(v)
        return v

    @field_validator("departments")
    @classmethod
    def _depts(cls, v: list[str]) -> list[str]:
        for d in v:
            if not re.fullmatch(DEPT_RE, d):
                raise ValueError(f"department id {d!r} must match {DEPT_RE}")
        return v

    @model_validator(mode="after")
    def _scope(self) -> ReportUser:
        if self.role == "supervisor" and not self.departments:
            raise ValueError("a supervisor needs 'departments' (the department ids they may see)")
        if self.role == "doit_admin" and self.departments:
            raise ValueError("a doit_admin sees every department; remove 'departments'")
        return self

    def may_view(self, department: str) -> bool:
        return self.role == "doit_admin" or department in self.departments


class ReportUsersFile(_Strict):
    session_minutes: int = Field(30, ge=1, le=24 * 60, description="idle time before logout")
    session_max_hours: int = Field(12, ge=1, le=7 * 24,
                                   description="a login lasts at most this long")
    max_failed_logins: int = Field(5, ge=1, le=100,
                                   description="failures per user name before logins pause")
    lockout_minutes: int = Field(15, ge=1, le=24 * 60,
                                 description="how long failures are remembered")
    users: dict[str, ReportUser] = Field(default_factory=dict)

    def cross_check(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("users", u), f"user name {u!r} must match {USERNAME_RE} (lower case)")
                for u in self.users if not re.fullmatch(USERNAME_RE, u)]


def load_users(path: str | Path, known_departments: set[str] | None = None) -> ReportUsersFile:
    """Load and validate the users file; PermissionError when group or others can read it,
    ConfigError (file:line: field: problem) for anything wrong inside it.

    With ``known_departments`` (from the directory), a supervisor's department that does not
    exist is an error too: a typo would otherwise silently show them nothing.
    """
    check_private_file(path, "report users file")
    doc = yamlload.load_yaml(path)
    spec = yamlload.validate(doc, ReportUsersFile, data=doc.data or {})
    if known_departments is not None:
        issues = [doc.issue(("users", u, "departments", i), f"unknown department {d!r}")
                  for u, spec_u in spec.users.items() for i, d in enumerate(spec_u.departments)
                  if d not in known_departments]
        if issues:
            raise yamlload.ConfigError(issues)
    return spec


class UsersFile:
    """The users file of a running server, re-read when it changes.

    Removing a supervisor or moving them to another department must take effect without a
    restart: ``current()`` compares the file's identity (inode, size, mtime) at most every
    ``interval`` seconds and loads a changed file. A new version that fails to load (bad YAML,
    an unknown department, a group-readable mode) leaves the previous users in force; the error
    is returned once through ``last_error`` for the caller to log and audit. Session and lockout
    settings stay those the server started with.
    """

    def __init__(self, path: str | Path, known_departments: set[str] | None = None, *,
                 interval: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.known = known_departments
        self.interval = interval
        self._clock = clock
        self.spec = load_users(self.path, known_departments)
        self._identity = self._stat()
        self._next = self._clock() + interval
        self._lock = threading.Lock()
        self.events: list[tuple[str, str]] = []     # ("reloaded" | "reload_failed", detail)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def current(self) -> ReportUsersFile:
        if self._clock() < self._next:
            return self.spec
        with self._lock:
            if self._clock() < self._next:
                return self.spec
            self._next = self._clock() + self.interval
            identity = self._stat()
            if identity == self._identity:
                return self.spec
            self._identity = identity
            try:
                self.spec = load_users(self.path, self.known)
            except (yamlload.ConfigError, PermissionError, OSError) as e:
                self.events.append(("reload_failed", str(e)))
            else:
                self.events.append(("reloaded", f"{len(self.spec.users)} users"))
        return self.spec

    def take_events(self) -> list[tuple[str, str]]:
        with self._lock:
            out, self.events = self.events, []
        return out
