"""The incident record: what was decided about one request, with masked evidence only.

Pure values and conversions (no sqlite here): the store, the CLI, the ECS export and the
reports all read the same ``Incident``. Fields of the DESIGN.md incidents contract keep their
names; anything added later is added with a default.
"""

from __future__ import annotations

import dataclasses
import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.policy.model import SEVERITIES

# Crockford base32: no I, L, O, U, so an id read aloud over the phone is unambiguous.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_RANDOM_CHARS = 8   # 40 random bits per day per node; collisions are caught by the primary key

_DETECTION_KEYS = ("type", "count", "distinct", "samples", "where", "verdicts", "hashes")


def new_incident_id(now: float | None = None) -> str:
    """``INC-20261127-7K3M9QXA``: UTC date of ``now`` plus 8 random Crockford base32 characters.

    Random rather than a per-node counter so several agents (and a restarted one) never hand out
    the same id without coordinating; the date prefix keeps ids sortable and readable by phone.
    """
    day = datetime.fromtimestamp(now if now is not None else datetime.now(UTC).timestamp(), UTC)
    bits = secrets.randbits(5 * _ID_RANDOM_CHARS)
    chars = "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in range(_ID_RANDOM_CHARS))
    return f"INC-{day:%Y%m%d}-{chars}"


def iso_utc(t: float, timespec: str = "milliseconds") -> str:
    """Epoch seconds -> ``2026-11-27T14:03:11.123Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def _plain(item: Any) -> dict[str, Any]:
    """Accept the agent's value objects (Detection, FileInfo, Uninspectable) or plain dicts."""
    if isinstance(item, Mapping):
        return dict(item)
    to_dict = getattr(item, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    raise TypeError(f"expected a mapping or a dataclass, got {type(item).__name__}")


def _detection(item: Any) -> dict[str, Any]:
    d = _plain(item)
    if not isinstance(d.get("type"), str) or not isinstance(d.get("count"), int):
        # Name the field only: the values around it may be evidence.
        raise ValueError("Incident.detections entries need a string 'type' and an integer 'count'")
    out = {"type": d["type"], "count": d["count"], "distinct": int(d.get("distinct", 0)),
           "samples": list(d.get("samples", ())), "where": list(d.get("where", ())),
           "verdicts": dict(d.get("verdicts", {})), "hashes": list(d.get("hashes", ()))}
    out.update((k, v) for k, v in d.items() if k not in _DETECTION_KEYS)   # forward compatible
    return out


def strip_query(path: str) -> str:
    """The store never keeps a query string or fragment: they carry search terms and tokens."""
    for sep in ("?", "#"):
        path = path.split(sep, 1)[0]
    return path


@dataclass(slots=True, kw_only=True)
class Incident:
    """One rule decision worth recording (log, alert, block, or allowed under an exception).

    ``detections`` hold masked samples and keyed hashes only (agent.masking); the store keeps
    exactly what it is given and never logs more than ``id`` and ``rule``.
    """

    id: str
    time: float                               # epoch seconds, UTC
    rule: str                                 # the deciding (most restrictive) rule id
    severity: str                             # low | medium | high | critical
    action: str                               # allow | log | alert | block (effective)
    policy_ref: str = ""                      # "WC-P17-001 §11"
    description: str = ""                     # the rule's description
    user: str = "unknown"
    department: str = "unassigned"
    client_ip: str = ""
    app: str = "other"
    category: str = "other"
    host: str = ""
    method: str = ""
    path: str = "/"                           # without query string (enforced)
    exception: str | None = None              # id of the exception that applied
    expired_exception: str | None = None      # id of an exception that would have, but expired
    why: list[str] = field(default_factory=list)         # content-free reasons
    rules: list[str] = field(default_factory=list)       # every matched rule id
    detections: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)          # {where,name,type,size}
    uninspectable: list[dict[str, Any]] = field(default_factory=list)  # {reason,where,detail}
    bytes: int = 0                            # request body size
    node: str = ""                            # host name of the agent that decided

    def __post_init__(self) -> None:
        if not self.id or not isinstance(self.id, str):
            raise ValueError("Incident.id must be a non-empty string")
        if not isinstance(self.time, int | float) or not math.isfinite(self.time):
            raise ValueError(f"Incident {self.id}: time must be finite epoch seconds")
        self.time = float(self.time)
        if self.severity not in SEVERITIES:
            raise ValueError(f"Incident {self.id}: severity must be one of {', '.join(SEVERITIES)}")
        self.path = strip_query(self.path or "/")
        self.why = [str(w) for w in self.why]
        self.rules = [str(r) for r in self.rules] or [self.rule]
        self.detections = [_detection(d) for d in self.detections]
        self.files = [_plain(f) for f in self.files]
        self.uninspectable = [_plain(u) for u in self.uninspectable]
        self.bytes = int(self.bytes)

    @property
    def detection_types(self) -> list[str]:
        return [d["type"] for d in self.detections]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the incidents contract (``time`` as ISO 8601 UTC), plus extras."""
        return {
            "id": self.id, "time": iso_utc(self.time), "user": self.user,
            "department": self.department, "client_ip": self.client_ip, "app": self.app,
            "category": self.category, "host": self.host, "method": self.method,
            "path": self.path, "rule": self.rule, "description": self.description,
            "severity": self.severity, "action": self.action, "policy_ref": self.policy_ref,
            "exception": self.exception, "expired_exception": self.expired_exception,
            "why": list(self.why), "rules": list(self.rules),
            "detections": [dict(d) for d in self.detections],
            "files": [dict(f) for f in self.files],
            "uninspectable": [dict(u) for u in self.uninspectable],
            "bytes": self.bytes, "node": self.node,
        }

    def to_row(self) -> dict[str, Any]:
        """Column values for the ``incidents`` table; lists are stored as JSON text."""
        row: dict[str, Any] = {c: getattr(self, c) for c in SCALAR_COLUMNS}
        for c in JSON_COLUMNS:
            row[c] = json.dumps(getattr(self, c), ensure_ascii=False, separators=(",", ":"))
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Incident:
        kw = {c: row[c] for c in SCALAR_COLUMNS}
        kw.update({c: json.loads(row[c]) for c in JSON_COLUMNS})
        return cls(**kw)


SCALAR_COLUMNS: tuple[str, ...] = (
    "id", "time", "user", "department", "client_ip", "app", "category", "host", "method", "path",
    "rule", "description", "severity", "action", "policy_ref", "exception", "expired_exception",
    "bytes", "node",
)
JSON_COLUMNS: tuple[str, ...] = ("why", "rules", "detections", "files", "uninspectable")
COLUMNS: tuple[str, ...] = SCALAR_COLUMNS + JSON_COLUMNS


def severities_at_least(minimum: str) -> tuple[str, ...]:
    if minimum not in SEVERITIES:
        raise ValueError(f"unknown severity {minimum!r}; known: {', '.join(SEVERITIES)}")
    return SEVERITIES[SEVERITIES.index(minimum):]
