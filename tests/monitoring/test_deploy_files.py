"""deploy/ for administrators: systemd units (systemd-analyze verify and an offline security
score), the container image definition, the compose file, Grafana provisioning and the configs
the image ships. No container engine runs here: the image and compose file are checked by
structure, not built."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from stack import DEPLOY, MISSING, PROMTOOL, ROOT, SKIP_REASON

UNITS = ["dlp-agent.service", "dlp-sniff.service"]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze not installed")


def unit_settings(text: str) -> dict[str, list[str]]:
    """Key -> values of a unit file (keys may repeat; continuation lines joined)."""
    out: dict[str, list[str]] = {}
    text = re.sub(r"\\\n\s*", " ", text)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def _unit_copy(tmp_path, name: str, text: str | None = None):
    """The unit with ExecStart's binary replaced by a stub that exists (verify checks it)."""
    stub = tmp_path / "dlp-agent"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    text = text if text is not None else (DEPLOY / "systemd" / name).read_text()
    path = tmp_path / name
    path.write_text(text.replace("/opt/dlp-agent/bin/dlp-agent", str(stub)))
    return path


@needs_systemd
@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify(tmp_path, name):
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", str(_unit_copy(tmp_path, name))],
                       capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and bad values too, but prints them: no output allowed
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


@needs_systemd
def test_systemd_analyze_verify_reports_a_bad_key(tmp_path):
    text = (DEPLOY / "systemd" / "dlp-agent.service").read_text().replace(
        "ProtectHome=yes", "ProtectHome=yes\nProtectHomes=yes")
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", str(_unit_copy(tmp_path, "x.service", text))],
                       capture_output=True, text=True, timeout=60)
    assert "ProtectHomes" in r.stdout + r.stderr


@needs_systemd
@pytest.mark.parametrize("name", UNITS)
def test_systemd_security_exposure_is_low(tmp_path, name):
    """`systemd-analyze security` offline: exposure <= 2.0 of 10 ("OK")."""
    r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=true", "--threshold=20",
                        str(_unit_copy(tmp_path, name))],
                       capture_output=True, text=True, timeout=60)
    if "--offline" in r.stderr and "unrecognized" in r.stderr:
        pytest.skip("systemd-analyze too old for --offline (needs systemd >= 250)")
    assert r.returncode == 0, r.stdout[-1500:]


@needs_systemd
def test_systemd_security_threshold_rejects_an_unhardened_unit(tmp_path):
    keep = ("[", "Description", "ExecStart", "User", "Group", "Type")
    lines = (DEPLOY / "systemd" / "dlp-agent.service").read_text().splitlines()
    bare = "\n".join(line for line in lines if line.startswith(keep))
    r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=true", "--threshold=20",
                        str(_unit_copy(tmp_path, "bare.service", bare))],
                       capture_output=True, text=True, timeout=60)
    if "--offline" in r.stderr and "unrecognized" in r.stderr:
        pytest.skip("systemd-analyze too old for --offline")
    assert r.returncode != 0


@pytest.mark.parametrize("name", UNITS)
def test_units_run_unprivileged_and_hardened(name):
    s = unit_settings((DEPLOY / "systemd" / name).read_text())
    assert s["User"] == ["dlp-agent"] and s["Group"] == ["dlp-agent"]
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("PrivateDevices", "yes"),
                       ("RestrictSUIDSGID", "yes"), ("SystemCallArchitectures", "native")]:
        assert s.get(key) == [value], key
    assert "@system-service" in s["SystemCallFilter"]
    assert s["RestrictAddressFamilies"]
    assert s["StateDirectory"] == ["dlp-agent"]


def test_inline_agent_has_no_capabilities_and_writes_only_its_state():
    s = unit_settings((DEPLOY / "systemd" / "dlp-agent.service").read_text())
    assert s["CapabilityBoundingSet"] == [""] and s["AmbientCapabilities"] == [""]
    assert s["ReadWritePaths"] == ["/var/lib/dlp-agent"]
    assert "AF_PACKET" not in s["RestrictAddressFamilies"][0]
    assert s["ExecStart"] == [
        "/opt/dlp-agent/bin/dlp-agent run --config /etc/dlp-agent/config.yaml"]


def test_passive_monitor_gets_only_capture_capabilities():
    s = unit_settings((DEPLOY / "systemd" / "dlp-sniff.service").read_text())
    assert set(s["CapabilityBoundingSet"][0].split()) == {"CAP_NET_RAW", "CAP_NET_ADMIN"}
    assert "AF_PACKET" in s["RestrictAddressFamilies"][0]
    assert "--metrics-host 127.0.0.1" in s["ExecStart"][0]


# ------------------------------------------------------------------------------------ container
def containerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "container" / "Containerfile").read_text())
    return [tuple(line.strip().split(None, 1)) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_container_build_compiles_the_c_module():
    """pip builds agent/fingerprint/_fast.c from setup.py, with the build stage's gcc; a host's
    .so never enters the build context."""
    steps = containerfile()
    build = steps[:max(i for i, (op, _) in enumerate(steps) if op == "FROM")]
    copied = " ".join(arg for op, arg in build if op == "COPY")
    assert "setup.py" in copied.split() and "agent" in copied.split()
    assert any(op == "RUN" and "gcc" in arg for op, arg in build)
    for ignore in (".containerignore", ".dockerignore"):
        assert "**/*.so" in (DEPLOY.parent / ignore).read_text().splitlines()


def test_container_runs_as_an_unprivileged_user_with_only_the_venv():
    steps = containerfile()
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM"):]
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    copies = [arg for op, arg in final if op == "COPY"]
    from_build = [c for c in copies if c.startswith("--from=build")]
    assert from_build == ["--from=build /opt/dlp-agent /opt/dlp-agent"]
    # besides the venv, only rules and config: no source tree, no tests
    for c in copies:
        if c not in from_build:
            src = c.split()[-2]
            assert src in ("rules", "deploy/container/config.yaml"), c
            assert (ROOT / src).exists()
    assert ("ENTRYPOINT", '["dlp-agent", "run"]') in final


@pytest.mark.parametrize("path", ["container/config.yaml", "config.example.yaml"])
def test_shipped_agent_configs_validate(path):
    from agent.config import load_config

    cfg = load_config(DEPLOY / path)
    assert cfg.metrics_port == 9464 and cfg.listen_port == 8080


# ------------------------------------------------------------------------------------ compose
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_has_the_four_services():
    assert set(COMPOSE["services"]) == {"dlp-agent", "prometheus", "alertmanager", "grafana"}


@pytest.mark.parametrize("service", ["dlp-agent", "prometheus", "alertmanager", "grafana"])
def test_compose_ports_are_loopback_unless_for_clients(service):
    s = COMPOSE["services"][service]
    for port in s.get("ports", []):
        if service == "dlp-agent" and port == "8080:8080":
            continue                      # the proxy itself, for County clients
        assert port.startswith("127.0.0.1:"), f"{service}: {port} published beyond loopback"
    assert s["cap_drop"] == ["ALL"] and "no-new-privileges:true" in s["security_opt"]
    if "image" in s:
        assert not s["image"].endswith(":latest") and ":" in s["image"].rsplit("/", 1)[-1]
    for vol in s.get("volumes", []):
        src = vol.split(":")[0]
        if src.startswith("."):
            assert (DEPLOY / src).exists(), f"{service}: {src} missing"


def test_compose_wires_the_shipped_files_together():
    s = COMPOSE["services"]
    assert (DEPLOY / ".." / s["dlp-agent"]["build"]["dockerfile"]).resolve() == \
        (DEPLOY / "container" / "Containerfile").resolve()
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/dlp.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"../dashboards:{path}:ro" in s["grafana"]["volumes"]
    assert s["grafana"]["environment"]["DLP_PROMETHEUS_URL"] == "http://prometheus:9090"
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus"
    assert ds["datasources"][0]["url"] == "${DLP_PROMETHEUS_URL}"
    assert "--cluster.listen-address=" in s["alertmanager"]["command"]


@pytest.mark.skipif("promtool" in MISSING, reason=SKIP_REASON)
def test_compose_prometheus_config_matches_the_main_one():
    main = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    comp = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.compose.yml").read_text())
    assert comp["rule_files"] == main["rule_files"]
    assert [j["job_name"] for j in comp["scrape_configs"]] == \
        [j["job_name"] for j in main["scrape_configs"]]
    r = subprocess.run([PROMTOOL, "check", "config",
                        str(DEPLOY / "prometheus" / "prometheus.compose.yml")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
