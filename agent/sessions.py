"""Chunked upload sessions (Dropbox upload_session, Google resumable, OneDrive/Graph upload
sessions), reassembled on disk so the whole file is inspected before the request that commits it
is forwarded.

A docx split into chunks is not a document in any one chunk; chunk-by-chunk inspection misses
it. Chunks are spooled to a private directory (mode 0700, files 0600) shared by every worker
process on the host, bounded per session and in total, and expire. The commit (Dropbox
`finish`, the last byte range of a resumable upload) is held until the assembled file has
been inspected; a block answers it with the block page, so the file never materialises.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("dlp")

_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True, slots=True)
class Chunk:
    """Where one request's bytes belong in its session."""

    key: str              # session key (protocol:id)
    offset: int
    commit: bool          # this request completes the upload
    total: int | None = None


def content_range(value: str | None) -> tuple[int, int, int | None] | None:
    m = _RANGE.match(value or "")
    if not m:
        return None
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


def dropbox_chunk(path: str, api_arg: str | None, body_len: int) -> Chunk | None:
    """append/append_v2/finish carry the cursor in the Dropbox-API-Arg header (JSON)."""
    try:
        arg = json.loads(api_arg or "{}")
    except ValueError:
        return None
    cursor = arg.get("cursor") if isinstance(arg, dict) else None
    if not isinstance(cursor, dict) or not isinstance(cursor.get("session_id"), str):
        return None
    try:
        offset = int(cursor.get("offset", 0))
    except (TypeError, ValueError):
        return None
    return Chunk(f"dropbox:{cursor['session_id']}", offset, path.endswith("/finish"))


def ranged_chunk(protocol: str, session_id: str, content_range_header: str | None, body_len: int) -> Chunk | None:
    """Google resumable and OneDrive PUTs: Content-Range says where the bytes go and whether
    they are the last ones."""
    r = content_range(content_range_header)
    if r is None:
        # no range: a single PUT of the whole content
        return Chunk(f"{protocol}:{session_id}", 0, True, body_len)
    start, end, total = r
    return Chunk(f"{protocol}:{session_id}", start, total is not None and end + 1 >= total, total)


class SessionSpool:
    """Chunks on disk, keyed by session; safe to share between processes on one host."""

    def __init__(self, directory: str | Path, max_session_bytes: int = 2 * 1024**3,
                 max_total_bytes: int = 20 * 1024**3, ttl_seconds: float = 24 * 3600):
        self.dir = Path(directory)
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self.max_session_bytes = max_session_bytes
        self.max_total_bytes = max_total_bytes
        self.ttl = ttl_seconds

    def _path(self, key: str) -> Path:
        return self.dir / hashlib.sha256(key.encode()).hexdigest()[:32]

    def session_bytes(self, key: str) -> int:
        d = self._path(key)
        return sum(f.stat().st_size for f in d.glob("*.part")) if d.is_dir() else 0

    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.dir.glob("*/*.part"))

    def add(self, key: str, offset: int, data: bytes) -> bool:
        """Spool one chunk; False when a bound would be exceeded (the session is then poisoned)."""
        d = self._path(key)
        d.mkdir(mode=0o700, exist_ok=True)
        if (d / "overflow").exists():
            return False
        if self.session_bytes(key) + len(data) > self.max_session_bytes or \
                self.total_bytes() + len(data) > self.max_total_bytes:
            (d / "overflow").touch(mode=0o600)
            return False
        tmp = d / f".{offset:020d}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, d / f"{offset:020d}.part")    # atomic: a reader never sees half a chunk
        return True

    def rename(self, old: str, new: str) -> None:
        """A session whose id became known only from the service's reply (Dropbox start)."""
        src, dst = self._path(old), self._path(new)
        if src.is_dir() and not dst.exists():
            os.replace(src, dst)

    def overflowed(self, key: str) -> bool:
        return (self._path(key) / "overflow").exists()

    def assemble(self, key: str, final_offset: int | None = None, final: bytes = b"") -> tuple[bytes, bool]:
        """The file so far (chunks in offset order, then ``final``) and whether it is contiguous."""
        d = self._path(key)
        parts = sorted(d.glob("*.part")) if d.is_dir() else []
        out = bytearray()
        contiguous = True
        for p in parts:
            off = int(p.name.split(".")[0])
            if off != len(out):
                contiguous = contiguous and off <= len(out)
                if off < len(out):          # a retried chunk: later copy wins for the overlap
                    del out[off:]
            out += p.read_bytes()
        if final:
            if final_offset is not None and final_offset != len(out):
                contiguous = contiguous and final_offset <= len(out)
                del out[final_offset:]
            out += final
        return bytes(out), contiguous

    def drop(self, key: str) -> None:
        shutil.rmtree(self._path(key), ignore_errors=True)

    def expire(self, now: float | None = None) -> int:
        now = now or time.time()
        n = 0
        for d in self.dir.iterdir():
            try:
                if d.is_dir() and now - d.stat().st_mtime > self.ttl:
                    shutil.rmtree(d, ignore_errors=True)
                    n += 1
            except OSError:
                continue
        return n
