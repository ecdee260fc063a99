"""Binary files we do not parse: printable strings where they carry text, ``unsupported`` where
the format is known but not read (policy decides what an unread image or .doc means).

Unknown binaries (protobuf and gRPC bodies, SQLite files, executables) keep their text as
plain runs, which is where a name or an SSN would sit; legacy Office files do too (Word 97
stores text as cp1252 or UTF-16 runs), but are still reported ``unsupported`` because tables,
numbers and fast-saved fragments are not recovered.
"""

from __future__ import annotations

import re

from agent.extract.blob import Blob, Walker
from agent.extract.budget import Unreadable

_ASCII_RUN = re.compile(rb"[\x20-\x7e\t]{6,}")
_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e]\x00){6,}")


def printable_runs(data: bytes) -> bytes:
    """Runs of printable ASCII and of UTF-16LE ASCII, one per line."""
    runs = _ASCII_RUN.findall(data)
    runs += [r.decode("utf-16-le").encode("ascii") for r in _UTF16_RUN.findall(data)]
    return b"\n".join(runs)


def strings(blob: Blob, walker: Walker, kind: str) -> None:
    walker.budget.emit(printable_runs(blob.data), blob.path, blob.field)


def legacy_office(blob: Blob, walker: Walker, kind: str) -> None:
    strings(blob, walker, kind)
    raise Unreadable("unsupported", f"legacy {kind} file: only printable strings read")


def encrypted_office(blob: Blob, walker: Walker, kind: str) -> None:
    raise Unreadable("encrypted", "password-protected Office document")


def unsupported(blob: Blob, walker: Walker, kind: str) -> None:
    raise Unreadable("unsupported", f"{kind} content is not read")


def sqlite(blob: Blob, walker: Walker, kind: str) -> None:
    strings(blob, walker, kind)
    raise Unreadable("unsupported", "sqlite database: only printable strings read")
