"""End to end: a real `dlp-agent run` process, real HTTPS clients (urllib, curl) with TLS
interception by a test CA, production host names carried to a loopback stand-in for the
internet. Proves the contract: blocked bodies never reach upstream, allowed bodies arrive
byte-identical, incidents are stored with masked evidence, metrics move, exceptions work."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from harness import DLP_AGENT, ROOT, curl, free_port, start_agent, stop
from harness import send as _send

SSN = "219-44-1234"
CARD = "4539 1488 0343 6467"


@pytest.fixture(scope="module")
def agent(tmp_path_factory, fakenet):
    a = start_agent(tmp_path_factory.mktemp("agent"), fakenet,
                    args=["--set", "proxyauth=any", "--config", str(_config(tmp_path_factory))])
    yield a
    stop(a.proc)


def _config(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "config.yaml"
    p.write_text("contact: DoIT Security Operations test desk\n"
                 "tenant_restrictions:\n"
                 "  microsoft: {tenants: [westchestergov.com], context: 11111111-2222-3333-4444-555555555555}\n"
                 "  google: {domains: [westchestergov.com]}\n")
    return p


def send(agent, *args, auth=("tester", "pw"), **kw):
    """Every client of these agents authenticates (proxyauth=any records the user name)."""
    return _send(agent, *args, auth=auth, **kw)


def incidents(agent) -> list[dict]:
    out = subprocess.run([DLP_AGENT, "incidents", "list", "--db", str(agent.db), "--format", "jsonl"],
                         capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def arrived(fakenet, host: str) -> list[dict]:
    return [r for r in fakenet.records() if r["host"] == host]


def test_blocked_upload_never_reaches_upstream(agent, fakenet):
    before = agent.metric("dlp_policy_violations_total", rule="file-sharing-upload", action="block")
    earlier = len(arrived(fakenet, "content.dropboxapi.com"))   # fakenet is shared by modules
    body = f"client list\nMaria Lopez, SSN {SSN}\n".encode()
    r = send(agent, "POST", "https://content.dropboxapi.com/2/files/upload", body,
             {"Content-Type": "application/octet-stream", "Dropbox-API-Arg": '{"path": "/c.txt"}',
              "Accept": "application/json"}, auth=("jdoe", "pw"))
    assert r.status == 403
    info = r.json()
    assert info["rule"] == "file-sharing-upload" and info["policy_ref"] == "WC-P17-001 §11"
    assert info["incident_id"].startswith("INC-")
    assert len(arrived(fakenet, "content.dropboxapi.com")) == earlier
    # the incident is stored, evidence masked
    inc = next(i for i in incidents(agent) if i["id"] == info["incident_id"])
    assert (inc["user"], inc["app"], inc["category"], inc["host"], inc["action"]) == \
        ("jdoe", "dropbox", "file_sharing", "content.dropboxapi.com", "block")
    ssn = next(d for d in inc["detections"] if d["type"] == "SSN")
    assert ssn["count"] == 1 and ssn["samples"] == ["***-**-1234"]
    # metrics moved
    assert agent.metric("dlp_policy_violations_total", rule="file-sharing-upload", action="block") == before + 1
    assert agent.metric("dlp_detections_total", type="SSN", app="dropbox") >= 1
    assert agent.metric("dlp_uploads_total", app="dropbox", category="file_sharing", action="block") >= 1


def test_allowed_body_arrives_byte_identical(agent, fakenet):
    body = os.urandom(256) + b"weekly newsletter draft " * 40000 + os.urandom(256)
    r = send(agent, "POST", "https://api.example.org/v1/drafts", body,
             {"Content-Type": "application/octet-stream"})
    assert r.status == 200 and r.json()["received"] == len(body)
    rec = arrived(fakenet, "api.example.org")[-1]
    assert rec["sha256"] == hashlib.sha256(body).hexdigest() and rec["length"] == len(body)


def test_browser_gets_html_block_page_over_http2(agent, fakenet):
    earlier = len(arrived(fakenet, "api.x.com"))      # fakenet is shared by test modules
    p = curl(agent, auth=("tester", "pw"), args=["--http2", "-H", "Accept: text/html", "-H", "Content-Type: application/json",
                     "--data-binary", json.dumps({"text": f"my card {CARD} for the raffle"}),
                     "-w", "\n%{http_code} %{http_version}", "https://api.x.com/2/tweets"])
    assert p.returncode == 0, p.stderr
    page, status = p.stdout.decode().rsplit("\n", 1)
    assert status == "403 2"
    for s in ("social-confidential", "WC-P17-001 §6", "INC-", "DoIT Security Operations test desk", "CREDIT_CARD"):
        assert s in page
    assert "4539" not in page      # the page never echoes the value
    assert len(arrived(fakenet, "api.x.com")) == earlier


def test_social_post_without_confidential_data_passes(agent, fakenet):
    r = send(agent, "POST", "https://graph.facebook.com/v19.0/555000111/feed",
             b"message=Farmers+market+on+Saturday", {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200
    assert arrived(fakenet, "graph.facebook.com")


def test_alert_lets_request_through_and_records_incident(agent, fakenet):
    body = b"email=jdoe%40westchestergov.com&password=Spring2026%21Tulips"
    r = send(agent, "POST", "https://login.evil-example.com/signin", body,
             {"Content-Type": "application/x-www-form-urlencoded"}, auth=("jdoe", "pw"))
    assert r.status == 200
    assert arrived(fakenet, "login.evil-example.com")[-1]["sha256"] == hashlib.sha256(body).hexdigest()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hits = [i for i in incidents(agent) if i["rule"] == "county-credentials-offsite"]
        if hits:
            break
        time.sleep(0.1)
    assert hits and hits[0]["action"] == "alert"
    assert all("Tulips" not in s for d in hits[0]["detections"] for s in d["samples"])


def test_tenant_restriction_headers_overwrite_client_copies(agent, fakenet):
    send(agent, "GET", "https://login.microsoftonline.com/common/oauth2/authorize",
         headers={"Restrict-Access-To-Tenants": "evil.onmicrosoft.com"})
    rec = arrived(fakenet, "login.microsoftonline.com")[-1]
    assert rec["headers"]["restrict-access-to-tenants"] == "westchestergov.com"
    assert rec["headers"]["restrict-access-context"] == "11111111-2222-3333-4444-555555555555"
    send(agent, "GET", "https://accounts.google.com/ServiceLogin")
    assert arrived(fakenet, "accounts.google.com")[-1]["headers"]["x-googapps-allowed-domains"] == "westchestergov.com"
    send(agent, "GET", "https://www.example.com/page2")
    assert arrived(fakenet, "www.example.com")[-1]["headers"] == {}


def test_no_raw_values_or_passwords_in_what_the_agent_wrote(agent):
    # after the tests above: the raw SSN, card digits and proxy password never hit the disk or the log
    written = agent.output().encode()
    for f in agent.db.parent.iterdir():
        if f.is_file():
            written += f.read_bytes()
    for secret in (SSN.encode(), SSN.replace("-", "").encode(), b"4539148803436467", b"Tulips"):
        assert secret not in written
    assert b"***-**-1234" in written   # the masked form is there, so the search looked in the right place


@pytest.fixture()
def rules_copy(tmp_path) -> Path:
    d = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", d)
    return d


def test_exception_lets_the_upload_through_and_is_recorded(tmp_path, fakenet, rules_copy):
    (rules_copy / "exceptions.yaml").write_text(
        "exceptions:\n"
        "  - id: EXC-2026-014\n"
        "    description: Finance shares audit workpapers with the auditor\n"
        "    approved_by: [R. Roe Commissioner of Finance, M. Beirne CIO]\n"
        "    approved_on: 2026-01-01\n"
        "    expires: 2099-12-31\n"
        "    scope: {users: [jdoe], apps: [dropbox], rules: [file-sharing-upload]}\n")
    a = start_agent(tmp_path, fakenet, rules=rules_copy, args=["--set", "proxyauth=any"])
    try:
        body = b"audit workpapers, nothing personal"
        hdr = {"Content-Type": "application/octet-stream", "Accept": "application/json"}
        r = send(a, "POST", "https://content.dropboxapi.com/2/files/upload", body, hdr, auth=("jdoe", "x"))
        assert r.status == 200
        assert arrived(fakenet, "content.dropboxapi.com")[-1]["sha256"] == hashlib.sha256(body).hexdigest()
        # someone else is still blocked
        assert send(a, "POST", "https://content.dropboxapi.com/2/files/upload", body, hdr,
                    auth=("asmith", "x")).status == 403
        time.sleep(0.5)
        incs = {i["user"]: i for i in incidents(a)}
        assert incs["jdoe"]["exception"] == "EXC-2026-014" and incs["jdoe"]["action"] == "log"
        assert incs["asmith"]["action"] == "block" and incs["asmith"]["exception"] is None
        assert a.metric("dlp_policy_violations_total", rule="file-sharing-upload", action="log") == 1
        assert a.metric("dlp_exceptions", state="active") == 1
    finally:
        stop(a.proc)


def test_bad_rule_file_on_reload_keeps_old_rules(tmp_path, fakenet, rules_copy):
    a = start_agent(tmp_path, fakenet, rules=rules_copy, args=["--set", "dlp_reload_interval=0.3"])
    try:
        hdr = {"Content-Type": "application/octet-stream", "Accept": "application/json"}
        url = "https://content.dropboxapi.com/2/files/upload"
        assert send(a, "POST", url, b"x", hdr).status == 403
        policy = rules_copy / "wc-p17-001.yaml"
        good = policy.read_text()
        policy.write_text(good.replace("    action: block\n", "    action: blokc\n", 1))
        _wait(lambda: a.metric("dlp_rule_reload_failures_total") == 1)
        assert "wc-p17-001.yaml:" in a.output() and "action" in a.output()
        assert send(a, "POST", url, b"x", hdr).status == 403        # old rules in force
        # a valid change applies: drop the file-sharing rule
        policy.write_text(good.replace("  - id: file-sharing-upload", "  - id: file-sharing-upload\n    enabled: false", 1))
        _wait(lambda: a.metric("dlp_rules_loaded") == 8)
        assert send(a, "POST", url, b"x", hdr).status == 200
    finally:
        stop(a.proc)


def test_sighup_reloads(tmp_path, fakenet, rules_copy):
    a = start_agent(tmp_path, fakenet, rules=rules_copy, args=["--set", "dlp_reload_interval=0"])
    try:
        policy = rules_copy / "wc-p17-001.yaml"
        policy.write_text(policy.read_text().replace("  - id: file-sharing-upload",
                                                     "  - id: file-sharing-upload\n    enabled: false", 1))
        time.sleep(0.5)
        assert a.metric("dlp_rules_loaded") == 9       # no polling: nothing yet
        a.proc.send_signal(1)                          # SIGHUP
        _wait(lambda: a.metric("dlp_rules_loaded") == 8)
    finally:
        stop(a.proc)


def _wait(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("args,msg", [
    (["--set", "no_such_option=1"], "no_such_option"),
    (["--set", "connection_strategy=sometimes"], "connection_strategy"),
    (["--set", "dlp_reload_interval=abc"], "dlp_reload_interval"),
])
def test_option_errors_are_fatal(tmp_path, args, msg):
    p = subprocess.run([DLP_AGENT, "run", "--listen-port", str(free_port()), "--metrics-port", "0",
                        "--db", str(tmp_path / "d.sqlite"), "--confdir", str(tmp_path / "ca"), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and msg in p.stderr


def test_invalid_rules_at_start_are_fatal_and_named(tmp_path, rules_copy):
    (rules_copy / "extra.yaml").write_text("rules:\n  - id: x\n    description: d\n    policy_ref: WC-P17-001 §6\n"
                                           "    severity: high\n    action: block\n    match: {categoriess: [paste]}\n")
    p = subprocess.run([DLP_AGENT, "run", "--listen-port", str(free_port()), "--metrics-port", "0",
                        "--rules", str(rules_copy), "--db", str(tmp_path / "d.sqlite"),
                        "--confdir", str(tmp_path / "ca")], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "extra.yaml:7: rules[0].match.categoriess: unknown field" in p.stdout + p.stderr


def test_ca_key_is_private(agent):
    key = agent.confdir / "mitmproxy-ca.pem"
    assert key.exists() and (key.stat().st_mode & 0o077) == 0


def test_addon_loads_the_mitmproxy_way(tmp_path, fakenet):
    """`mitmdump -s agent/addon.py --set dlp_rules=...` enforces the same policy."""
    from harness import MITMDUMP, Agent, wait_port

    port, mport = free_port(), free_port()
    log = tmp_path / "mitmdump.log"
    proc = subprocess.Popen(
        [MITMDUMP, "-s", str(ROOT / "agent" / "addon.py"), "--listen-host", "127.0.0.1",
         "--listen-port", str(port), "--set", f"dlp_rules={ROOT / 'rules'}",
         "--set", f"dlp_db={tmp_path / 'd.sqlite'}", "--set", f"dlp_metrics_port={mport}",
         "--set", f"confdir={tmp_path / 'ca'}", "--set", f"mode=upstream:http://127.0.0.1:{fakenet.port}",
         "--set", "ssl_insecure=true"], stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, log=log)
        wait_port(mport, proc, log=log)
        a = Agent(port, mport, tmp_path / "ca", tmp_path / "d.sqlite", ROOT / "rules", log, proc)
        r = _send(a, "POST", "https://content.dropboxapi.com/2/files/upload", b"notes",
                  {"Content-Type": "application/octet-stream", "Accept": "application/json"})
        assert r.status == 403 and r.json()["rule"] == "file-sharing-upload"
        assert a.metric("dlp_policy_violations_total", rule="file-sharing-upload", action="block") == 1
    finally:
        stop(proc)


@pytest.mark.parametrize("what", ["ca", "hmac"])
def test_refuses_secret_files_readable_by_others(tmp_path, agent, what):
    args = []
    if what == "ca":
        ca = tmp_path / "ca"
        shutil.copytree(agent.confdir, ca)
        os.chmod(ca / "mitmproxy-ca.pem", 0o644)
        confdir = ca
    else:
        confdir = tmp_path / "ca2"
        key = tmp_path / "hmac.key"
        key.write_bytes(os.urandom(32))
        os.chmod(key, 0o640)
        args = ["--hmac-key-file", str(key)]
    p = subprocess.run([DLP_AGENT, "run", "--listen-port", str(free_port()), "--metrics-port", "0",
                        "--db", str(tmp_path / "d.sqlite"), "--confdir", str(confdir), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "chmod 600" in p.stdout + p.stderr


def test_privacy_bypass_is_not_intercepted_but_counted(tmp_path, fakenet):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("privacy_bypass: [mybank.example]\n")
    a = start_agent(tmp_path, fakenet, args=["--config", str(cfg)])
    try:
        # the agent does not intercept: the client sees the far end's certificate, not the agent's
        p = curl(a, ["-o", "/dev/null", "-w", "%{http_code}", "https://www.mybank.example/login"])
        assert p.returncode != 0 or p.stdout != b"200"       # not our CA: no intercepted answer
        assert not [r for r in fakenet.records() if r["host"].endswith("mybank.example")]
        assert a.metric("dlp_privacy_bypass_connections_total", app="other", category="other",
                        department="unassigned") >= 1
        # everything else is still intercepted
        assert send(a, "GET", "https://www.example.com/page-bypass").status == 200
    finally:
        stop(a.proc)
