"""Proof that nothing was fetched: a bait file watched with inotify and a listening socket that
counts who connects. An XXE that the agent resolved would open the one or dial the other.

inotify (through ctypes: the standard library has no binding) reports opens and reads of the
file by any process on the machine, so the check does not depend on how the agent is built;
the file name is unique to one tripwire, so nothing else has a reason to touch it.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from pathlib import Path

_IN_ACCESS, _IN_OPEN, _IN_NONBLOCK = 0x1, 0x20, 0o4000


class Tripwire:
    def __init__(self, directory: Path, content: bytes):
        self.path = directory / f"bait-{os.getpid()}-{id(self):x}.txt"
        self.path.write_bytes(content)
        libc = ctypes.CDLL(None, use_errno=True)
        self._fd = libc.inotify_init1(_IN_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self._fd, str(self.path).encode(), _IN_ACCESS | _IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def file_url(self) -> str:
        return self.path.as_uri()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dtd"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def file_events(self) -> int:
        """Opens and reads of the bait file since the last call."""
        n = 0
        while True:
            try:
                data = os.read(self._fd, 4096)
            except BlockingIOError:
                return n
            pos = 0
            while pos + 16 <= len(data):
                name_len = int.from_bytes(data[pos + 12:pos + 16], "little")
                n += 1
                pos += 16 + name_len

    def close(self) -> None:
        self._sock.close()
        os.close(self._fd)
        self.path.unlink(missing_ok=True)
