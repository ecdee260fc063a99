"""Shipped sample configuration validates; typos are rejected with file:line:field."""

from pathlib import Path

import pytest

from agent.config import load_config
from agent.identity import Directory
from agent.yamlload import ConfigError

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_sample_config_is_valid():
    cfg = load_config(DEPLOY / "config.example.yaml")
    assert cfg.metrics_host == "127.0.0.1" and cfg.tenant_restrictions.microsoft is not None


def test_sample_directory_is_valid():
    d = Directory.load(DEPLOY / "directory.example.yaml")
    assert d.identify(None, "10.30.4.17").user == "jdoe"
    assert "official_publishers" in d.identify("comms1", None).groups


def test_defaults_listen_on_loopback():
    cfg = load_config(None)
    assert cfg.listen_host == "127.0.0.1" and cfg.metrics_host == "127.0.0.1"


def test_typo_names_line_and_field(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("listen_port: 8080\nmetrics_prot: 9464\n")
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    (issue,) = ei.value.issues
    assert (issue.line, issue.field) == (2, "metrics_prot") and "unknown field" in issue.message


def test_several_errors_reported_together(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("listen_port: -1\nlimits:\n  max_seconds: 0\n  max_depht: 3\n")
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    fields = {i.field for i in ei.value.issues}
    assert fields == {"listen_port", "limits.max_seconds", "limits.max_depht"}
