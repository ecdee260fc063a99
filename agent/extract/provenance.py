"""Provenance strings: where in a body a piece of text was found, never what it said."""

from __future__ import annotations

import re

MAX_NAME = 100

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(name: str | bytes | None, limit: int = MAX_NAME) -> str:
    """A filename, field name or key made safe to show: printable and at most ``limit`` chars."""
    if name is None:
        return ""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    name = _UNPRINTABLE.sub("?", name)
    if len(name) > limit:
        name = name[: limit - 1] + "…"
    return name


def join(parent: str, child: str) -> str:
    """Path of ``child`` inside ``parent``; the empty path is the body itself."""
    return f"{parent}/{child}" if parent else child
