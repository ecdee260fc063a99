"""The shipped Prometheus files: valid for promtool, every alert unit-tested by promtool, labels
and annotations complete, runbook anchors present, the rule catalogue in step with rules/."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from stack import DEPLOY, MISSING, PROMTOOL, ROOT, SKIP_REASON

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
CATALOGUE = DEPLOY / "prometheus" / "catalogue.yml"
UNIT_TESTS = ROOT / "tests" / "monitoring" / "alerts_test.yml"
RUNBOOK = DEPLOY / "RUNBOOK.md"

ROUTING_SEVERITIES = {"critical", "warning", "info"}
TEAMS = {"doit_security", "supervisors"}
POLICY_REF = re.compile(r"^WC-P17-001 §\d+$")

needs_promtool = pytest.mark.skipif("promtool" in MISSING, reason=SKIP_REASON)


def alert_rules() -> list[dict]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


@needs_promtool
@pytest.mark.parametrize("path", [ALERTS, CATALOGUE], ids=lambda p: p.name)
def test_promtool_check_rules(path):
    r = promtool("check", "rules", str(path))
    assert r.returncode == 0, r.stdout + r.stderr


@needs_promtool
def test_promtool_check_config():
    r = promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert r.returncode == 0, r.stdout + r.stderr


@needs_promtool
def test_promtool_unit_tests_pass():
    r = promtool("test", "rules", str(UNIT_TESTS))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


@needs_promtool
def test_promtool_unit_tests_can_fail(tmp_path):
    """A wrong expected label must fail the suite: the unit tests really compare labels."""
    broken = UNIT_TESTS.read_text().replace("policy_ref: WC-P17-001 §11\n",
                                            "policy_ref: WC-P17-001 §99\n", 1)
    assert broken != UNIT_TESTS.read_text()
    copy = tmp_path / "alerts_test.yml"
    copy.write_text(broken.replace("../../deploy/", f"{DEPLOY}/"))
    r = promtool("test", "rules", str(copy))
    assert r.returncode != 0 and "§99" in r.stdout + r.stderr


def test_every_alert_has_a_firing_unit_test():
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]
    fired = {c["alertname"] for c in cases if c.get("exp_alerts")}
    silent = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    names = {r["alert"] for r in alert_rules()}
    assert names - fired == set(), "alerts never shown firing in alerts_test.yml"
    assert names - silent == set(), "alerts without a near miss (exp_alerts: []) in alerts_test.yml"
    assert fired | silent <= names, "unit tests name alerts that do not exist"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_alert_labels_and_annotations(rule):
    labels, ann = rule.get("labels", {}), rule.get("annotations", {})
    assert rule["alert"].startswith("DLP")
    assert labels.get("severity") in ROUTING_SEVERITIES
    assert {"summary", "description", "runbook_url"} <= ann.keys()
    assert ann["runbook_url"] == f"deploy/RUNBOOK.md#{rule['alert'].lower()}"
    # team and policy_ref: static, or taken from the rule catalogue by the expression
    joined = "rule:dlp_policy_catalogue:info" in rule["expr"]
    assert labels.get("team") in TEAMS or (joined and "team" in rule["expr"])
    assert (POLICY_REF.match(labels.get("policy_ref", ""))
            or (joined and "policy_ref" in rule["expr"]))
    # the metric label `severity` is the rule's; the routing label must not be read from it
    assert "$labels.severity" not in labels.get("severity", "")
    if labels.get("team") == "supervisors":
        assert labels["severity"] != "critical", "supervisors' alerts never page"


def test_runbook_has_a_section_per_alert():
    headings = {m.lower() for m in re.findall(r"^## (\w+)\s*$", RUNBOOK.read_text(), re.M)}
    names = {r["alert"].lower() for r in alert_rules()}
    assert names <= headings, f"missing runbook sections: {sorted(names - headings)}"


def test_catalogue_matches_the_shipped_rules():
    sys.path.insert(0, str(DEPLOY / "prometheus"))
    try:
        import catalogue
    finally:
        sys.path.remove(str(DEPLOY / "prometheus"))
    from agent.ruleset import load_ruleset

    rs = load_ruleset(ROOT / "rules")
    entries = catalogue.catalogue_entries(rs.rules, rs.policy.usage_rules)
    assert CATALOGUE.read_text() == catalogue.render(entries, "rules/"), \
        "stale: .venv/bin/python deploy/prometheus/catalogue.py > deploy/prometheus/catalogue.yml"
    ids = [e["rule"] for e in entries]
    # a duplicate id would make every `* on (rule) group_left` join fail at evaluation time
    assert len(ids) == len(set(ids))
    assert {e["team"] for e in entries} <= TEAMS
    crit = {e["rule"] for e in entries if e["policy_severity"] == "critical"}
    assert crit == {"bulk-personal-records", "secrets-to-public-sites"}
