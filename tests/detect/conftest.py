"""Shared fixtures: one Scanner with the shipped rules (compiling is the expensive part)."""

from __future__ import annotations

import pytest

from agent.detect import Scanner
from agent.extract.model import Segment, TableLayout


@pytest.fixture(scope="session")
def scanner() -> Scanner:
    return Scanner()


@pytest.fixture(scope="session")
def scan(scanner):
    """scan(text, **segment_fields) -> [(type, matched text, verdict)] for one segment."""

    def _scan(text: str | bytes, field: str | None = None, table: TableLayout | None = None):
        data = text.encode() if isinstance(text, str) else text
        result = scanner.scan([Segment(data, "test", field=field, table=table)])
        assert not result.timed_out
        return [(f.type, data[f.start:f.end].decode("utf-8", "replace"), f.verdict)
                for f in result.findings]

    return _scan


@pytest.fixture(scope="session")
def types(scan):
    """types(text, ...) -> list of entity types found, in order."""

    def _types(text, **kw):
        return [t for t, _, _ in scan(text, **kw)]

    return _types
