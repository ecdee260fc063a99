"""The report view's audit log: one JSON object per line, appended, file mode 0600.

    {"time": "2026-11-27T14:03:11.201Z", "event": "view", "who": "rroe", "role": "supervisor",
     "department": "finance", "from": "2026-11-01", "to": "2026-11-27", "format": "html",
     "status": 200, "result": "ok", "client_ip": "127.0.0.1"}

Events: login, login_failed, login_throttled, logout, index, view, denied, unauthenticated,
bad_request, not_found. A password is never written; for a failed login the attempted name
is written only if it is a known user (people type passwords into the name field).
Failure policy: if a line cannot be written the caller refuses the request (a view that
cannot be audited is not shown).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIELDS = ("time", "event", "who", "role", "department", "from", "to", "format", "source",
          "status", "result", "client_ip", "detail")


class AuditLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: each line is one write() at the end, also with several processes.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        mode = stat.S_IMODE(os.fstat(self._fd).st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.fchmod(self._fd, 0o600)       # it names people and what they looked at

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record: dict[str, Any] = {"time": now, "event": event}
        for k in FIELDS[2:]:
            v = fields.get(k)
            if v is not None:
                record[k] = v
        unknown = set(fields) - set(FIELDS)
        if unknown:     # a programming error, not input: fail loudly rather than drop fields
            raise TypeError(f"unknown audit fields: {sorted(unknown)}")
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)
        return record

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
