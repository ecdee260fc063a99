from __future__ import annotations

import pytest

from .runner import BAIT, FAST_LIMITS, SHIPPED_LIMITS, InProcess
from .tripwire import Tripwire


def pytest_collection_modifyitems(items):
    for item in items:
        if "/hostile/test_agent" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def inproc() -> InProcess:
    """The shipped rules with the fast suite's limits, evaluated without a proxy."""
    return InProcess(FAST_LIMITS)


@pytest.fixture(scope="session")
def inproc_shipped(inproc) -> InProcess:
    """The shipped rules with the shipped limits (the slow cases, as the bench runs them)."""
    return InProcess(SHIPPED_LIMITS, inproc.ruleset)


@pytest.fixture(scope="session")
def wire(tmp_path_factory):
    w = Tripwire(tmp_path_factory.mktemp("tripwire"), BAIT)
    yield w
    w.close()
