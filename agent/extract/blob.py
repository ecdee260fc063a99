"""A piece of a body on its way through extraction, and what handlers may ask of the walker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent.extract.budget import Budget


@dataclass(slots=True)
class Blob:
    data: bytes = b""
    path: str = ""                 # provenance; "" is the body itself
    depth: int = 0                 # containers around this blob
    name: str | None = None        # filename as sent (multipart part, archive member)
    mime: str | None = None        # declared media type: a hint for text formats, never for files
    charset: str | None = None     # declared charset
    boundary: str | None = None    # multipart boundary from the declared type
    field: str | None = None       # form field / JSON key holding this value
    charged: bool = False          # bytes already counted against the byte budget
    truncated: bool = False        # cut short by a limit upstream: parse errors are expected
    is_file: bool = False          # record a FileInfo for it


class Walker(Protocol):
    """What container handlers call back into (implemented by ``dispatch.Job``)."""

    budget: Budget

    def open(self, blob: Blob) -> None:
        """Inspect a nested blob; problems are recorded against ``blob.path``, never raised."""

    def value(self, data: bytes, path: str, field: str | None, depth: int,
              charset: str | None = None) -> None:
        """A text value (form field, JSON string) that may itself be JSON or base64."""
