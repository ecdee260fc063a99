import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import start_fakenet, stop  # noqa: E402


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def wsecho():
    from wsecho import EchoServer

    server = EchoServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def fakenet(tmp_path_factory, wsecho):
    fn = start_fakenet(tmp_path_factory.mktemp("fakenet"), ws_port=wsecho.port)
    yield fn
    stop(fn.proc)
