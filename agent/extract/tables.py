"""Delimited tables: CSV/TSV bodies pass through whole, with their header row for detectors."""

from __future__ import annotations

import csv

from agent.extract.budget import Budget
from agent.extract.model import TableLayout

MAX_COLUMNS = 1000
MAX_HEADER = 100


def header(first_line: str | bytes, delimiter: bytes) -> tuple[str, ...]:
    """Column names of a header line: unquoted, stripped, lower-cased, bounded."""
    if isinstance(first_line, bytes):
        first_line = first_line[:65536].decode("utf-8", "replace")
    first_line = first_line.lstrip("\ufeff").rstrip("\r\n")
    try:
        row = next(csv.reader([first_line], delimiter=delimiter.decode("ascii")), [])
    except csv.Error:
        row = first_line.split(delimiter.decode("ascii"))
    return tuple(c.strip().lower()[:MAX_HEADER] for c in row[:MAX_COLUMNS])


def first_line(data: bytes) -> bytes:
    for line in data[:1 << 20].split(b"\n", 50):
        if line.strip():
            return line
    return b""


def emit_table(data: bytes, delimiter: bytes, budget: Budget, path: str, charged: bool,
               field: str | None = None) -> None:
    """One segment for the whole table: the bytes as sent, no copy."""
    layout = TableLayout(delimiter, header(first_line(data), delimiter))
    budget.emit(data, path, field, layout, charged=charged)
