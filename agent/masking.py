"""Masking and keyed hashing of detected values: the one place evidence is made safe.

Incidents, logs, metrics, alerts and reports only ever see what ``mask`` returns, plus an
HMAC of the canonical value that lets analysts correlate "the same SSN in 12 uploads" without
the database holding anything reversible (an unkeyed hash of a 9-digit SSN is reversible by
enumeration in seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

from agent.detect import entities as E


def _last(digits: str, n: int) -> str:
    return digits[-n:] if len(digits) > n else ""


def mask(entity_type: str, norm: str) -> str:
    """Masked evidence for a canonical value (digits only for numbers)."""
    d = "".join(c for c in norm if c.isdigit())
    if entity_type in (E.SSN, E.US_ITIN):
        return f"***-**-{_last(d, 4) or '****'}"
    if entity_type == E.CREDIT_CARD:
        return "*" * max(len(d) - 4, 4) + _last(d, 4)
    if entity_type in (E.BANK_ACCOUNT, E.ABA_ROUTING, E.US_PASSPORT, E.DRIVER_LICENSE_NY,
                       E.NPI, E.MRN):
        tail = _last(norm, 3) if len(norm) > 5 else ""
        return "*" * max(len(norm) - len(tail), 3) + tail
    if entity_type == E.DEA:
        return norm[:1] + "*" * 6 + _last(norm, 2) if len(norm) >= 9 else "*********"
    if entity_type == E.PHONE:
        return f"(***) ***-{_last(d, 4) or '****'}"
    if entity_type == E.EMAIL:
        local, _, domain = norm.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    if entity_type == E.ICD10_MEDICAL:
        return norm[:1] + "**"
    if entity_type == E.AWS_ACCESS_KEY:
        return norm[:4] + "*" * 12 + norm[-4:] if len(norm) == 20 else "AKIA****"
    if entity_type == E.PRIVATE_KEY:
        return "-----BEGIN PRIVATE KEY----- [redacted]"
    if entity_type == E.GENERIC_API_TOKEN:
        return (norm[:4] if len(norm) >= 20 else "") + "****[redacted]"
    if entity_type == E.CONFIDENTIAL_MARKING:
        return norm  # the marking itself is the evidence; it is not a secret
    # PASSWORD and anything unknown (EDM/IDM values included): reveal nothing.
    return "[redacted]"


def check_private_file(path: str | Path, what: str) -> None:
    """Refuse secrets files that group or others can read (0600 or stricter)."""
    st = os.stat(path)
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PermissionError(
            f"{what} {path} has mode {stat.S_IMODE(st.st_mode):04o}; it must not be readable by "
            f"group or others: run 'chmod 600 {path}'"
        )


class Hasher:
    """Keyed hashes (HMAC-SHA256, truncated) of canonical values for correlation."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("HMAC key must be at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:  # never print the key
        return "Hasher(<key>)"

    @classmethod
    def from_file(cls, path: str | Path) -> Hasher:
        check_private_file(path, "HMAC key file")
        return cls(Path(path).read_bytes().strip())

    def digest(self, entity_type: str, norm: str) -> str:
        msg = f"{entity_type}\x00{norm}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:24]
