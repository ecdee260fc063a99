"""Fixtures for the usage report tests: one real store filled from the hand-computed dataset
(session-scoped: the tests only read it), a directory file, a users file and a live server."""

from __future__ import annotations

from pathlib import Path

import pytest
import usage_dataset as ds
from report_helpers import start_server, write_users


@pytest.fixture(scope="session")
def report_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("reports")
    db = ds.build_store(d / "state" / "usage.db")
    directory = ds.write_directory(d / "directory.yaml")
    return {"db": db, "directory": directory, "dir": d}


@pytest.fixture
def users_file(tmp_path) -> Path:
    return write_users(tmp_path / "report-users.yaml")


@pytest.fixture
def web(report_files, users_file, tmp_path):
    s = start_server(report_files["db"], users_file, report_files["directory"],
                     tmp_path / "audit.jsonl")
    yield s
    s.close()
