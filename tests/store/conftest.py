"""Fixtures for the incident store tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from incident_factory import build_incident

from agent.store import Incident, Store


@pytest.fixture
def make_incident() -> Callable[..., Incident]:
    return build_incident


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "incidents.db"


@pytest.fixture
def store(db_path: Path):
    s = Store.open(db_path)
    s.start()
    yield s
    s.close()
