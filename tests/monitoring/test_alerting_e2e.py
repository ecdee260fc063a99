"""End to end: a real `dlp-agent run` behind a fake internet, scraped every second by a real
Prometheus loading the shipped rules, which sends to a real Alertmanager using the shipped
routing tree, whose receivers post to a webhook here. A bulk SSN upload must page DoIT
security with the right labels within a bounded time; clean traffic must raise nothing; every
dashboard query must run against this Prometheus, and the panels for this traffic show it.

One stack for the module: Prometheus waits ~5 s before its first scrape and before it uses an
Alertmanager (reference/prometheus.md, gotcha 1), so the tests wait for both, not for a clock.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime

import dashjson
import pytest
from harness import DLP_AGENT, ROOT, Agent, FakeNet, free_port, send, start_fakenet, stop, wait_port
from stack import (
    MISSING,
    SKIP_REASON,
    PromAPI,
    Server,
    Webhook,
    alertmanager_config,
    prometheus_config,
    shipped,
    start_alertmanager,
    start_prometheus,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON)]

AUTH = ("jdoe", "pw")                     # finance, per the directory below
SCRAPE_S = 1.0
ALERT_BOUND_S = 20.0                      # upload -> webhook; measured ~1.5 s here
PAGE = {"alertname": "DLPCriticalViolation", "severity": "critical", "team": "doit_security",
        "rule": "bulk-personal-records", "policy_ref": "WC-P17-001 §11",
        "policy_severity": "critical"}

NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1",
       "Accept": "text/html"}


@dataclass
class Stack:
    agent: Agent
    fakenet: FakeNet
    prometheus: Server
    alertmanager: Server
    webhook: Webhook
    api: PromAPI
    started: float                        # wall clock, for query_range


def start_agent(d, fakenet: FakeNet, metrics_port: int, args: list[str]) -> Agent:
    """harness.start_agent with a metrics port chosen in advance (Prometheus is configured,
    and already waiting out its discovery delay, before the agent starts)."""
    d.mkdir(parents=True, exist_ok=True)
    proxy_port, log = free_port(), d / "agent.log"
    cmd = [DLP_AGENT, "run", "--listen-host", "127.0.0.1", "--listen-port", str(proxy_port),
           "--metrics-port", str(metrics_port), "--rules", str(ROOT / "rules"),
           "--db", str(d / "dlp.sqlite"), "--confdir", str(d / "ca"),
           "--set", f"mode=upstream:http://127.0.0.1:{fakenet.port}", "--set", "ssl_insecure=true",
           *args]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=d)
    wait_port(proxy_port, proc, log=log)
    wait_port(metrics_port, proc, log=log)
    return Agent(proxy_port, metrics_port, d / "ca", d / "dlp.sqlite", ROOT / "rules", log, proc)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("monitoring")
    (tmp / "directory.yaml").write_text(
        "departments:\n  finance:\n    name: Finance\n    timezone: America/New_York\n"
        "    working_hours: {days: [mon, tue, wed, thu, fri, sat, sun],\n"
        "                    start: '00:00', end: '23:59:59'}\n"
        "  dss:\n    name: Social Services\n"
        "users:\n  jdoe: {department: finance}\n")
    (tmp / "config.yaml").write_text(
        "usage: {gap_seconds: 1, allowance_seconds: 1, weak_window_seconds: 1,\n"
        "        flush_seconds: 0.3}\n"
        "tenant_restrictions:\n"
        "  microsoft: {tenants: [westchestergov.com],\n"
        "              context: 11111111-2222-3333-4444-555555555555}\n")
    started = time.time()
    hook = Webhook()
    servers: list[Server] = []
    fakenet = agent = None
    try:
        am_port, prom_port, metrics_port = free_port(), free_port(), free_port()
        am_cfg = alertmanager_config(shipped("alertmanager/alertmanager.yml"), hook.url)
        am = start_alertmanager(tmp / "alertmanager", am_cfg, am_port)
        servers.append(am)
        # Prometheus before the agent: its discovery delay overlaps the agent's start-up.
        prom_cfg = prometheus_config(shipped("prometheus/prometheus.yml"),
                                     f"127.0.0.1:{metrics_port}", f"127.0.0.1:{am_port}",
                                     interval=f"{SCRAPE_S:g}s")
        prom = start_prometheus(tmp / "prometheus", prom_cfg, prom_port)
        servers.append(prom)
        fakenet = start_fakenet(tmp)
        agent = start_agent(tmp / "agent", fakenet, metrics_port, [
            "--set", "proxyauth=any",
            "--config", str(tmp / "config.yaml"), "--directory", str(tmp / "directory.yaml")])
        api = PromAPI(prom.url)
        wait_for(api.active_alertmanagers, 30, "Prometheus uses the Alertmanager")
        wait_for(lambda: api.query('dlp_build_info{job="dlp-agent"}')["data"]["result"], 30,
                 "first scrape of the agent")
        yield Stack(agent, fakenet, prom, am, hook, api, started)
    finally:
        for s in reversed(servers):
            s.stop()
        if agent:
            stop(agent.proc)
        if fakenet:
            stop(fakenet.proc)
        hook.close()


def _scraped(api: PromAPI, expr: str) -> float:
    """Wait until Prometheus has scraped a sample making `expr` true; its wall-clock time."""
    wait_for(lambda: api.query(expr)["data"]["result"], 15, f"scraped: {expr}")
    return time.time()


def _evaluated_after(api: PromAPI, t: float) -> None:
    """Wait until every rule group has been evaluated after wall-clock time t."""
    def done() -> bool:
        return all(datetime.fromisoformat(g["lastEvaluation"]).timestamp() > t + 0.05
                   for g in api.rule_groups())
    wait_for(done, 10, "rule evaluation after the scrape")


@pytest.fixture(scope="module")
def clean_traffic(stack):
    """Browsing, a clean upload and a clean post; returns the alerts seen after evaluation."""
    a = stack.agent
    assert send(a, "GET", "https://www.facebook.com/page1", headers=NAV, auth=AUTH).status == 200
    csv = b"item,qty\nstaplers,4\npaper,20\n"
    r = send(a, "POST", "https://slack.com/api/files.upload", csv,
             {"Content-Type": "text/csv", "Accept": "application/json"}, auth=AUTH)
    assert r.status == 200, r.body[:300]
    tweet = json.dumps({"text": "Parks open at 9"}).encode()
    r = send(a, "POST", "https://api.x.com/2/tweets", tweet,
             {"Content-Type": "application/json", "Accept": "application/json"}, auth=AUTH)
    assert r.status == 200, r.body[:300]
    send(a, "GET", "https://login.microsoftonline.com/common/oauth2/authorize", auth=AUTH)
    time.sleep(1.0)
    assert send(a, "GET", "https://www.facebook.com/page2", headers=NAV, auth=AUTH).status == 200
    api = stack.api
    t = _scraped(api, 'sum(dlp_uploads_total{job="dlp-agent", action="allow"}) >= 2')
    t = max(t, _scraped(api, 'sum(dlp_active_seconds_total{category="social_media"}) > 0'))
    _evaluated_after(api, t)
    return {"prometheus": api.alerts(), "webhook": stack.webhook.received()}


@pytest.fixture(scope="module")
def violation(stack, clean_traffic):
    """A 60-row CSV of distinct SSNs uploaded to Dropbox; returns (sent at, reply)."""
    # again, now that the first one was scraped: dlp_tenant_restriction_headers_total{control}
    # is created by its first use (not pre-created), so only a second one shows as a rate
    send(stack.agent, "GET", "https://login.microsoftonline.com/common/oauth2/authorize", auth=AUTH)
    return _upload_ssn_csv(stack)


def _upload_ssn_csv(stack):
    rows = "\n".join(f"Resident {i},{100 + i:03d}-{10 + i % 80:02d}-{2000 + i:04d}"
                     for i in range(60))
    body = ("name,ssn\n" + rows + "\n").encode()
    t0 = time.monotonic()
    r = send(stack.agent, "POST", "https://content.dropboxapi.com/2/files/upload", body,
             {"Content-Type": "application/octet-stream", "Accept": "application/json",
              "Dropbox-API-Arg": '{"path": "/residents.csv"}'}, auth=AUTH)
    return t0, r


def _page(stack) -> list:
    return [x for x in stack.webhook.received()
            if x.labels.get("alertname") == "DLPCriticalViolation" and x.status == "firing"]


# ------------------------------------------------------------------------------------ alerts
def test_clean_traffic_raises_no_alert(clean_traffic):
    assert clean_traffic["prometheus"] == []          # not even pending
    assert clean_traffic["webhook"] == []


def test_bulk_ssn_upload_pages_doit_security(stack, violation):
    t0, reply = violation
    assert reply.status == 403 and reply.json()["rule"] == "bulk-personal-records"
    assert stack.fakenet.records() and not [r for r in stack.fakenet.records()
                                            if r["host"] == "content.dropboxapi.com"]
    got = wait_for(lambda: _page(stack), ALERT_BOUND_S, "DLPCriticalViolation at the webhook")
    latency = got[0].at - t0
    print(f"\nupload -> webhook: {latency:.2f}s")
    alert = got[0]
    assert {k: alert.labels.get(k) for k in PAGE} == PAGE
    assert alert.receiver == "doit-security-pager"
    assert "bulk-personal-records" in alert.annotations["summary"]
    assert alert.annotations["runbook_url"] == "deploy/RUNBOOK.md#dlpcriticalviolation"
    assert re.match(r"^1 request\(s\) matched", alert.annotations["description"])
    # `continue: true`: the same alert also opens a ticket; and never reaches the supervisors
    wait_for(lambda: [x for x in stack.webhook.received() if x.receiver == "doit-security-ticket"
                      and x.labels.get("alertname") == "DLPCriticalViolation"], 10, "ticket copy")
    assert not [x for x in stack.webhook.received() if x.receiver == "supervisors"]


def test_blocked_dropbox_upload_opens_a_ticket_naming_the_app(stack, violation):
    got = wait_for(lambda: [x for x in stack.webhook.received()
                            if x.labels.get("alertname") == "DLPFileSharingUploadBlocked"],
                   ALERT_BOUND_S, "DLPFileSharingUploadBlocked at the webhook")
    assert {x.receiver for x in got} == {"doit-security-ticket"}
    assert got[0].labels["app"] == "dropbox" and got[0].labels["severity"] == "warning"
    assert got[0].labels["policy_ref"] == "WC-P17-001 §11"


def test_every_rule_evaluates_without_error(stack, violation):
    wait_for(lambda: _page(stack), ALERT_BOUND_S, "page")
    bad = [(g["name"], r.get("name"), r.get("lastError")) for g in stack.api.rule_groups()
           for r in g["rules"] if r["health"] != "ok"]
    assert bad == []
    # the catalogue join gave the page its policy_ref (not the fallback branch)
    firing = {a["labels"]["alertname"]: a for a in stack.api.alerts() if a["state"] == "firing"}
    assert firing["DLPCriticalViolation"]["labels"]["policy_ref"] == "WC-P17-001 §11"


# ------------------------------------------------------------------------------------ dashboards
# Panels allowed to be EMPTY while the metric they read has no sample on this agent's /metrics
# (no passive monitor here; process metrics missing from the agent's registry; series created
# by their first event). The exemption lapses by itself once the metric shows up.
EMPTY_WHILE_ABSENT = {
    "dlp_proxy_bypass_total": "passive monitor (dlp-agent sniff) not part of this stack",
    "dlp_passive_packets_total": "passive monitor not part of this stack",
    "dlp_passive_capture_drops_total": "passive monitor not part of this stack",
    "dlp_passive_flows_active": "passive monitor not part of this stack",
    "dlp_passive_flows_evicted_total": "passive monitor not part of this stack",
    "process_resident_memory_bytes": "agent's private registry has no ProcessCollector",
    "process_cpu_seconds_total": "agent's private registry has no ProcessCollector",
    "dlp_incident_write_failures_total": "{reason} series appear with the first failure",
    "dlp_expired_exception_hits_total": "{exception} series appear with the first hit",
}

# Panels that must show the traffic driven above: (dashboard uid, panel, refId) ->
# (labels the series must have, at least this value somewhere in the range).
SEC, USE, HEALTH = "dlp-security-overview", "dlp-productivity-usage", "dlp-agent-health"
SHOWS_TRAFFIC = {
    (SEC, "Firing DLP alerts", "A"): ({}, 1),
    (SEC, "Critical violations", "A"): ({}, 1.5),
    (SEC, "Blocked uploads", "A"): ({}, 1.5),
    (SEC, "Firing alerts", "A"): ({"alertname": "DLPCriticalViolation"}, 1),
    (SEC, "Violations by rule", "A"): ({"rule": "bulk-personal-records"}, 1e-9),
    (SEC, "Violations by severity", "A"): ({"severity": "critical"}, 1e-9),
    (SEC, "Violations by department", "A"): ({"department": "finance"}, 1e-9),
    (SEC, "Violations by app", "A"): ({"app": "dropbox", "action": "block"}, 1e-9),
    (SEC, "Blocked uploads by app", "A"): ({"app": "dropbox"}, 1e-9),
    (SEC, "Detections by type", "A"): ({"type": "SSN"}, 1e-9),
    (SEC, "Violations by rule and action", "A"):
        ({"rule": "bulk-personal-records", "action": "block"}, 0.5),
    # 120 = both uploads: the first created the series, which plain increase() would miss
    (SEC, "Detections by type and app", "A"): ({"type": "SSN", "app": "dropbox"}, 119),
    (USE, "People active, by category", "A"): ({"category": "social_media"}, 1e-9),
    (USE, "People active, by department", "A"): ({"department": "finance"}, 1e-9),
    (USE, "Active time by department", "A"): ({"department": "finance"}, 0.5),
    (USE, "Active time by category", "A"): ({"category": "social_media"}, 0.5),
    (USE, "Top apps by active time", "A"): ({"app": "facebook"}, 0.5),
    (USE, "Requests by category", "A"): ({"category": "file_sharing"}, 1e-9),
    (USE, "Bytes by category and direction", "A"):
        ({"category": "file_sharing", "direction": "up"}, 1e-9),
    (HEALTH, "Agents up", "A"): ({}, 1),
    (HEALTH, "Rules in force", "A"): ({}, 5),
    (HEALTH, "Requests by action", "A"): ({"action": "block"}, 1e-9),
    (HEALTH, "Inspection latency", "A"): ({}, 1e-6),
    (HEALTH, "Inspections", "A"): ({}, 1e-9),
    (HEALTH, "Tenant-restriction headers", "A"): ({"control": "microsoft"}, 1e-9),
}

TARGETS = [t for p in dashjson.DASHBOARDS for t in dashjson.targets(dashjson.load(p))]


def _present(agent: Agent) -> set[str]:
    names = set()
    for line in agent.metrics().splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.fixture(scope="module")
def panel_results(stack, violation):
    """Every target's query as Grafana would run it, after the page reached the webhook."""
    wait_for(lambda: _page(stack), ALERT_BOUND_S, "page")
    # The same upload again once the first was scraped. Series created by their first event
    # (dlp_detections_total{type,app}, dlp_bytes_total, dlp_department_requests_total: not
    # pre-created by the agent) start at their first value, and rate() over them shows
    # nothing until a second event; the range totals must count both (>= 120 SSNs below).
    _scraped(stack.api, 'sum(dlp_detections_total{type="SSN", app="dropbox"}) >= 60')
    assert _upload_ssn_csv(stack)[1].status == 403
    _scraped(stack.api, 'sum(dlp_detections_total{type="SSN", app="dropbox"}) >= 120')
    # range steps are start + k * step: end one step ahead so the last step is past that scrape
    end = time.time() + SCRAPE_S
    out = {}
    for path in dashjson.DASHBOARDS:
        dash = dashjson.load(path)
        values = dashjson.grafana_values(dash, SCRAPE_S, end - stack.started)
        for t in dashjson.targets(dash):
            expr = dashjson.substitute(t.expr, values)
            if t.instant:
                out[t.key] = (expr, stack.api.query(expr, at=end))
            else:
                out[t.key] = (expr, stack.api.query_range(expr, stack.started, end, SCRAPE_S))
    return out, _present(stack.agent)


def _values(result: dict) -> list[tuple[dict, float]]:
    data = result["data"]
    if data["resultType"] == "matrix":
        return [(s["metric"], float(v)) for s in data["result"] for _, v in s["values"]]
    if data["resultType"] == "vector":
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]
    return [({}, float(data["result"][1]))]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.key)
def test_dashboard_query_runs_and_has_data(panel_results, target):
    results, present = panel_results
    expr, res = results[target.key]
    assert res.get("status") == "success", f"{expr}\n{res.get('errorType')}: {res.get('error')}"
    values = _values(res)
    if not values:
        absent = [m for m in EMPTY_WHILE_ABSENT
                  if re.search(rf"\b{m}\b", expr) and m not in present]
        if absent:
            pytest.skip(f"EMPTY allowed: {EMPTY_WHILE_ABSENT[absent[0]]} ({absent[0]})")
        pytest.fail(f"EMPTY (wrong metric or label name?): {expr}")
    want = SHOWS_TRAFFIC.get((target.dashboard, target.panel, target.ref_id))
    if want:
        labels, at_least = want
        hits = [v for m, v in values if all(m.get(k) == w for k, w in labels.items())
                and not math.isnan(v) and v >= at_least]
        assert hits, f"no {labels} >= {at_least} in {expr}: {values[:10]}"


def test_dashboard_traffic_expectations_name_real_panels():
    keys = {(t.dashboard, t.panel, t.ref_id) for t in TARGETS}
    assert set(SHOWS_TRAFFIC) <= keys


@pytest.mark.parametrize("path", dashjson.DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_variables_have_values(stack, violation, path):
    """Each `label_values(...)` variable query returns values from this Prometheus."""
    wait_for(lambda: _page(stack), ALERT_BOUND_S, "page")
    dash = dashjson.load(path)
    values = dashjson.grafana_values(dash, SCRAPE_S, time.time() - stack.started)
    for v in dashjson.variables(dash):
        if v["type"] != "query":
            continue
        m = dashjson.LABEL_VALUES_RE.match(v["query"])
        assert m, f"unsupported variable query {v['query']!r}"
        selector, label = m.group(1), m.group(2)
        params = {"start": f"{stack.started:.0f}", "end": f"{time.time():.0f}"}
        if selector:
            params["match[]"] = dashjson.substitute(selector, values)
        res = stack.api.get(f"/api/v1/label/{label}/values", **params)
        assert res["status"] == "success" and res["data"], f"{v['name']}: {v['query']} -> {res}"
