"""The shipped Alertmanager configuration: valid for amtool, routes every alert to the right
receivers (amtool's own routing), and inhibits as documented (a real Alertmanager, alerts
posted to its API)."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from harness import free_port
from stack import (
    AMTOOL,
    DEPLOY,
    MISSING,
    SKIP_REASON,
    Webhook,
    alertmanager_config,
    get_json,
    post_json,
    shipped,
    start_alertmanager,
    wait_for,
)

pytestmark = pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON)
CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
PAGER, TICKET, SUPERVISORS = "doit-security-pager", "doit-security-ticket", "supervisors"


def routes(**labels: str) -> list[str]:
    r = subprocess.run([AMTOOL, "config", "routes", "test", f"--config.file={CONFIG}",
                        *(f"{k}={v}" for k, v in labels.items())],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().split(",")


def test_amtool_check_config():
    r = subprocess.run([AMTOOL, "check-config", str(CONFIG)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("labels, receivers", [
    ({"alertname": "DLPCriticalViolation", "severity": "critical", "team": "doit_security",
      "rule": "bulk-personal-records"}, [PAGER, TICKET]),
    ({"alertname": "DLPAgentDown", "severity": "critical", "team": "doit_security"},
     [PAGER, TICKET]),
    ({"alertname": "DLPFileSharingUploadBlocked", "severity": "warning", "team": "doit_security"},
     [TICKET]),
    ({"alertname": "DLPExceptionsExpiringSoon", "severity": "info", "team": "doit_security"},
     [TICKET]),
    ({"alertname": "DLPExcessiveSocialMediaUse", "severity": "info", "team": "supervisors"},
     [SUPERVISORS]),
    # near misses: supervisors are never paged; no team falls back to DoIT's ticket queue
    ({"alertname": "X", "severity": "critical", "team": "supervisors"}, [SUPERVISORS]),
    ({"alertname": "DLPPolicyViolation", "severity": "warning"}, [TICKET]),
    ({"alertname": "X", "severity": "critical"}, [TICKET]),
])
def test_routing(labels, receivers):
    assert routes(**labels) == receivers


def test_every_shipped_alert_routes_where_its_labels_say():
    doc = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    for rule in (r for g in doc["groups"] for r in g["rules"] if "alert" in r):
        labels = {"alertname": rule["alert"], **rule["labels"]}
        labels.pop("policy_severity", None)
        labels.setdefault("team", "doit_security")   # from the catalogue for per-rule alerts
        want = ([SUPERVISORS] if labels["team"] == "supervisors" else
                [PAGER, TICKET] if labels["severity"] == "critical" else [TICKET])
        assert routes(**labels) == want, rule["alert"]


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    hook = Webhook()
    am = start_alertmanager(tmp_path_factory.mktemp("am-inhibit"),
                            alertmanager_config(shipped("alertmanager/alertmanager.yml"), hook.url),
                            free_port())
    yield am
    am.stop()
    hook.close()


def _post(am, *alerts: dict) -> None:
    assert post_json(f"{am.url}/api/v2/alerts", [{"labels": a} for a in alerts]) == 200


def _state(am, **match: str) -> dict:
    found = [a for a in get_json(f"{am.url}/api/v2/alerts")
             if all(a["labels"].get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]["status"]


def test_agent_down_inhibits_that_agents_health_alerts_only(alertmanager):
    doit = {"team": "doit_security", "job": "dlp-agent"}
    reload = {"alertname": "DLPRuleReloadFailing", "severity": "warning", **doit}
    _post(alertmanager,
          {"alertname": "DLPAgentDown", "severity": "critical", "instance": "a:9464", **doit},
          {**reload, "instance": "a:9464"}, {**reload, "instance": "b:9464"},
          {"alertname": "DLPCriticalViolation", "severity": "critical", "team": "doit_security",
           "rule": "bulk-personal-records", "policy_ref": "WC-P17-001 §11"})
    muted = wait_for(lambda: _state(alertmanager, alertname="DLPRuleReloadFailing",
                                     instance="a:9464")["inhibitedBy"], 10, "inhibition")
    assert muted
    other = _state(alertmanager, alertname="DLPRuleReloadFailing", instance="b:9464")
    assert other["state"] == "active" and not other["inhibitedBy"]
    # violations are summed over all agents: a dead node never mutes the others' pages
    assert _state(alertmanager, alertname="DLPCriticalViolation")["state"] == "active"
    assert _state(alertmanager, alertname="DLPAgentDown", instance="a:9464")["state"] == "active"


def test_no_agent_scraped_inhibits_the_per_agent_down_alerts(alertmanager):
    doit = {"team": "doit_security", "severity": "critical", "job": "dlp-agent-site2"}
    _post(alertmanager, {"alertname": "DLPAgentNotScraped", **doit},
          {"alertname": "DLPAgentDown", "instance": "c:9464", **doit})
    assert wait_for(lambda: _state(alertmanager, alertname="DLPAgentDown",
                                   instance="c:9464")["inhibitedBy"], 10, "inhibition")
    assert _state(alertmanager, alertname="DLPAgentNotScraped", job="dlp-agent-site2")["state"] \
        == "active"
