"""Shared fixtures: the generated test capture (built once per session) and a classifier."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_pcaps  # noqa: E402

from agent.apps import Catalogue, default_path  # noqa: E402
from agent.identity import Directory, DirectorySpec  # noqa: E402
from agent.passive.classify import Classifier  # noqa: E402
from agent.yamlload import parse_yaml  # noqa: E402

PROXY = make_pcaps.PROXY


@pytest.fixture(scope="session")
def capture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("passive")
    make_pcaps.build().write(out)
    return out


@pytest.fixture(scope="session")
def truth(capture_dir: Path) -> list[dict]:
    return json.loads((capture_dir / "truth.json").read_text())


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load(default_path())


@pytest.fixture(scope="session")
def directory() -> Directory:
    doc = parse_yaml(make_pcaps.DIRECTORY_YAML, "directory.yaml")
    return Directory(DirectorySpec.model_validate(doc.data))


@pytest.fixture
def classifier(catalogue: Catalogue, directory: Directory) -> Classifier:
    return Classifier(catalogue, directory, [PROXY])


@pytest.fixture(scope="session")
def classifier_factory(catalogue: Catalogue, directory: Directory):
    """For hypothesis tests, which may not use function-scoped fixtures."""
    return lambda: Classifier(catalogue, directory, [PROXY])
