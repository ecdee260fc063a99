"""The supervisor web view over real HTTP on loopback: sign-in, scoping, audit, hardening."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import usage_dataset as ds
from report_helpers import PASSWORDS, Client, write_users

from agent.web.sessions import Sessions, Throttle
from agent.web.users import verify_password

Q = f"from={ds.PERIOD[0]}&to={ds.PERIOD[1]}"
DLP_AGENT = Path(sys.executable).parent / "dlp-agent"


def signed_in(web, user: str) -> Client:
    c = web.client()
    r = c.login(user)
    assert r.status == 303, r.text
    assert c.cookie and c.cookie.startswith("dlp_reports=")
    return c


# -- not signed in ---------------------------------------------------------------------------

def test_unauthenticated_page_redirects_to_sign_in(web):
    r = web.client().get(f"/report/finance?{Q}")
    assert r.status == 303
    assert r.header("Location") == "/login?next=" + quote(f"/report/finance?{Q}", safe="")
    assert web.client().get("/").status == 303
    last = web.audit_lines()[-1]
    assert last["event"] == "unauthenticated" and "who" not in last


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_unauthenticated_data_is_401(web, fmt):
    r = web.client().get(f"/report/finance?{Q}&format={fmt}")
    assert r.status == 401 and json.loads(r.body)["error"]
    assert b"jdoe" not in r.body


def test_sign_in_page(web):
    r = web.client().get("/login?next=/report/finance")
    assert r.status == 200
    assert 'name="next" value="/report/finance"' in r.text
    assert '<form method="post" action="/login">' in r.text


# -- signing in ----------------------------------------------------------------------------

def test_sign_in_sets_a_safe_cookie_and_lands_on_the_department(web):
    c = web.client()
    r = c.login("rroe")
    assert r.status == 303 and r.header("Location") == "/"
    cookie = r.header("Set-Cookie")
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        assert attr in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 40
    r = c.get("/")
    assert r.status == 303 and r.header("Location") == "/report/finance"   # one department
    r = c.get(f"/report/finance?{Q}")
    assert r.status == 200
    assert "Usage report: Department of Finance" in r.text
    assert "Richard Roe (rroe, supervisor)" in r.text
    assert "Jane Doe" in r.text and ">2:25<" in r.text           # jdoe's hand-computed 145 min
    assert f'href="/report/finance?{Q.replace("&", "&amp;")}&amp;format=csv"' in r.text


def test_sign_in_goes_to_the_requested_page_only_if_local(web):
    assert web.client().login("rroe", next_path=f"/report/finance?{Q}").header("Location") == \
        f"/report/finance?{Q}"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "report"):
        assert web.client().login("rroe", next_path=evil).header("Location") == "/"


def test_a_token_set_before_sign_in_is_not_kept(web):
    c = web.client()
    c.cookie = "dlp_reports=attacker-chosen-token"
    c.login("rroe")
    assert c.cookie != "dlp_reports=attacker-chosen-token"
    stale = Client(web.port, cookie="dlp_reports=attacker-chosen-token")
    assert stale.get(f"/report/finance?{Q}").status == 303


@pytest.mark.parametrize(("user", "password"), [
    ("rroe", "wrong-password"), ("rroe", ""), ("rroe", PASSWORDS["rroe"] + " "),
    ("rroe", PASSWORDS["asmith"]), ("nobody", "whatever-password"), ("RROE-", PASSWORDS["rroe"]),
])
def test_wrong_credentials_are_refused_and_audited_without_the_password(web, user, password):
    c = web.client()
    r = c.login(user, password)
    assert r.status == 401 and "The user name or password is wrong." in r.text
    assert c.cookie is None
    last = web.audit_lines()[-1]
    assert last["event"] == "login_failed" and last["result"] == "failed"
    assert last.get("who") == ("rroe" if user == "rroe" else None)
    text = web.audit_path.read_text()
    if password:
        assert password not in text
    if user != "rroe":
        assert user not in text and last["detail"] == "unknown user name"


def test_user_names_are_case_insensitive(web):
    assert web.client().login("RRoe", PASSWORDS["rroe"]).status == 303


def test_failed_sign_ins_are_throttled_per_user(web):
    c = web.client()
    for _ in range(3):                                    # max_failed_logins: 3
        assert c.login("rroe", "nope").status == 401
    r = c.login("rroe")                                   # right password, still refused
    assert r.status == 429 and int(r.header("Retry-After")) > 0
    assert "Too many failed sign-ins" in r.text
    assert web.audit_lines()[-1]["event"] == "login_throttled"
    assert web.client().login("asmith").status == 303      # another person, same address: fine


def test_failed_sign_ins_are_throttled_per_address(web):
    names = ["ghost1", "ghost2", "ghost3", "ghost4"]
    for i in range(12):                                   # 3 x 4 from one address
        assert web.client().login(names[i % 4], "nope").status == 401
    assert web.client().login("kchen").status == 429


def test_sign_out_ends_the_session(web):
    c = signed_in(web, "rroe")
    old = c.cookie
    r = c.post("/logout", {})
    assert r.status == 303 and r.header("Location") == "/login"
    assert "Max-Age=0" in r.header("Set-Cookie")
    assert web.audit_lines()[-1]["event"] == "logout"
    assert Client(web.port, cookie=old).get(f"/report/finance?{Q}").status == 303


# -- scoping -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/report/dss?{Q}", f"/report/dss?{Q}&format=csv", f"/report/dss?{Q}&format=json",
    "/report/dss", "/report/%64ss", f"/report/communications?{Q}",
    "/report/parks",          # not even existence is revealed to a supervisor
])
def test_supervisor_gets_403_for_another_department(web, path):
    c = signed_in(web, "rroe")
    r = c.get(path)
    assert r.status == 403
    assert b"asmith" not in r.body and b"Ann Smith" not in r.body
    last = web.audit_lines()[-1]
    assert (last["event"], last["who"], last["status"]) == ("denied", "rroe", 403)
    assert last["department"] in ("dss", "communications", "parks")


@pytest.mark.parametrize("path", [
    "/report/finance/../dss", "/report/..%2Fdss", "/report/finance%2F..%2Fdss", "/report/DSS",
    "/report/", "/report/dss/", "/reports/dss", "/report/dss%00",
])
def test_path_tricks_find_nothing(web, path):
    c = signed_in(web, "rroe")
    r = c.get(path)
    assert r.status in (403, 404)
    assert b"asmith" not in r.body and b"Ann Smith" not in r.body


def test_doit_admin_sees_every_department(web):
    c = signed_in(web, "kchen")
    r = c.get("/")
    assert r.status == 200
    for d in ("finance", "dss", "communications"):
        assert f'href="/report/{d}"' in r.text
    r = c.get(f"/report/dss?{Q}")
    assert r.status == 200 and "Ann Smith" in r.text
    assert c.get(f"/report/communications?{Q}").status == 200
    assert c.get(f"/report/parks?{Q}").status == 404


def test_supervisor_of_two_departments_gets_an_index_of_those(web):
    c = signed_in(web, "multi")
    r = c.get("/")
    assert r.status == 200
    assert 'href="/report/finance"' in r.text and 'href="/report/dss"' in r.text
    assert "communications" not in r.text
    assert c.get(f"/report/dss?{Q}").status == 200
    assert c.get(f"/report/communications?{Q}").status == 403


# -- reports over HTTP ---------------------------------------------------------------------

def test_csv_and_json_downloads(web):
    c = signed_in(web, "rroe")
    r = c.get(f"/report/finance?{Q}&format=csv")
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv")
    assert r.header("Content-Disposition") == \
        'attachment; filename="usage-finance-2026-11-02-2026-11-08.csv"'
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
    assert sum(float(x["active_minutes"]) for x in rows) == ds.TOTAL_ALL
    r = c.get(f"/report/finance?{Q}&format=json&source=proxy")
    assert r.status == 200 and r.header("Content-Type") == "application/json"
    assert json.loads(r.body)["totals"]["active_minutes"] == ds.TOTAL_PROXY


@pytest.mark.parametrize("query", [
    "from=2026-13-01&to=2026-11-08", "from=2026-11-09&to=2026-11-02", "format=pdf",
    "source=both", "from=yesterday",
])
def test_bad_parameters_are_400(web, query):
    c = signed_in(web, "rroe")
    assert c.get(f"/report/finance?{query}").status == 400
    assert web.audit_lines()[-1]["event"] == "bad_request"


def test_missing_dates_default_to_the_last_30_days(web):
    c = signed_in(web, "rroe")
    doc = json.loads(c.get("/report/finance?format=json").body)
    assert doc["period"]["days"] == 30
    doc = json.loads(c.get("/report/finance?format=json&to=2026-11-08").body)
    assert doc["period"] == {"from": "2026-10-10", "to": "2026-11-08", "days": 30}
    # the 30 days include 2026-11-01, jdoe's 5,000 s the week report left out
    assert doc["totals"]["active_minutes"] == pytest.approx(ds.TOTAL_ALL + 5000 / 60, abs=0.01)


# -- audit ---------------------------------------------------------------------------------

def test_every_view_is_audited(web):
    c = signed_in(web, "rroe")
    c.get(f"/report/finance?{Q}")
    c.get(f"/report/dss?{Q}")
    lines = web.audit_lines()
    assert stat.S_IMODE(web.audit_path.stat().st_mode) == 0o600
    events = [(x["event"], x.get("who"), x.get("department"), x["status"]) for x in lines]
    assert events == [("login", "rroe", None, 303), ("view", "rroe", "finance", 200),
                      ("denied", "rroe", "dss", 403)]
    view = lines[1]
    assert view["from"] == "2026-11-02" and view["to"] == "2026-11-08"
    assert view["format"] == "html" and view["role"] == "supervisor"
    assert view["client_ip"] == "127.0.0.1" and view["result"] == "ok"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", view["time"])
    for p in PASSWORDS.values():
        assert p not in web.audit_path.read_text()


def test_a_view_that_cannot_be_audited_is_not_shown(web):
    c = signed_in(web, "rroe")
    web.app.audit.close()                          # writes now fail (EBADF)
    r = c.get(f"/report/finance?{Q}")
    assert r.status == 500 and b"jdoe" not in r.body


# -- hardening -----------------------------------------------------------------------------

def test_security_headers_and_the_style_hash(web):
    c = signed_in(web, "rroe")
    for r in (web.client().get("/login"), c.get(f"/report/finance?{Q}")):
        csp = r.header("Content-Security-Policy")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert r.header("X-Frame-Options") == "DENY"
        assert r.header("Cache-Control") == "no-store"
        assert r.header("X-Content-Type-Options") == "nosniff"
        assert r.header("Referrer-Policy") == "same-origin"     # not no-referrer: see server.py
        assert r.header("Server") == "dlp-agent-reports"
        style = re.search(r"<style>(.*?)</style>", r.text, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp                # the one stylesheet is allowed


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "null"},
])
def test_cross_site_sign_in_is_refused(web, headers):
    c = web.client()
    r = c.post("/login", {"username": "rroe", "password": PASSWORDS["rroe"]}, headers)
    assert r.status == 403 and c.cookie is None


def test_same_origin_sign_in_is_accepted(web):
    c = web.client()
    r = c.post("/login", {"username": "rroe", "password": PASSWORDS["rroe"]},
               {"Origin": f"http://127.0.0.1:{web.port}", "Sec-Fetch-Site": "same-origin"})
    assert r.status == 303 and c.cookie


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.2:1", ""])
def test_unknown_host_names_are_refused(web, host):
    c = signed_in(web, "rroe")
    c.host = host or " "
    assert c.get(f"/report/finance?{Q}").status == 421


def test_oversized_form_is_refused(web):
    r = web.client().post("/login", {"username": "rroe", "password": "x" * 20_000})
    assert r.status == 413


# -- sessions and throttle (fake clock) ------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_sessions_expire_when_idle_and_at_the_maximum():
    clock = Clock()
    s = Sessions(idle_seconds=60, max_seconds=300, clock=clock)
    token = s.create("rroe")
    for _ in range(5):
        clock.t += 59
        assert s.get(token).user == "rroe"               # use keeps it alive...
    clock.t += 10
    assert s.get(token) is None                           # ...but not past the maximum (305 s)
    other = s.create("rroe")
    clock.t += 61
    assert s.get(other) is None                           # idle too long
    assert s.get("") is None and s.get("made-up") is None


def test_throttle_window():
    clock = Clock()
    t = Throttle(limit=2, window=100, clock=clock)
    key = ("user", "rroe")
    t.fail(key)
    assert t.wait(key) == 0
    clock.t += 10
    t.fail(key)
    assert t.wait(key) == pytest.approx(90)               # until the first failure ages out
    clock.t += 90
    assert t.wait(key) == 0
    t.clear(key)
    assert t.wait(key) == 0


# -- the command -------------------------------------------------------------------------------

def test_serve_reports_refuses_a_readable_users_file(report_files, tmp_path):
    users = write_users(tmp_path / "u.yaml", mode=0o644)
    p = subprocess.run([str(DLP_AGENT), "serve-reports", "--db", str(report_files["db"]),
                        "--users", str(users), "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "chmod 600" in p.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--db", "/nonexistent.db"], "does not exist"),
    (["--users", "/nonexistent.yaml"], "does not exist"),
    ([], ""),
])
def test_serve_reports_bad_usage(report_files, tmp_path, args, message):
    users = write_users(tmp_path / "u.yaml")
    base = {"--db": str(report_files["db"]), "--users": str(users)}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    argv = [str(DLP_AGENT), "serve-reports", "--port", "0"]
    if args:
        for k, v in base.items():
            argv += [k, v]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert message in p.stderr if message else "--db and --users are required" in p.stderr


def test_hash_password_command():
    p = subprocess.run([str(DLP_AGENT), "serve-reports", "--hash-password"],
                       input="a long enough password\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    assert verify_password(p.stdout.strip(), "a long enough password")
    p = subprocess.run([str(DLP_AGENT), "serve-reports", "--hash-password"],
                       input="short\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "at least 12" in p.stderr


# -- TLS -------------------------------------------------------------------------------------

def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_tls_secure_cookie_and_hsts(report_files, users_file, tmp_path):
    import http.client
    import socket
    import ssl
    import threading

    from agent.commands.serve_reports import _tls_context
    from agent.identity import Directory
    from agent.web import AuditLog, ReportApp, ReportServer, allowed_hosts, load_users

    cert, key = _self_signed(tmp_path)
    app = ReportApp(report_files["db"], load_users(users_file),
                    Directory.load(report_files["directory"]), AuditLog(tmp_path / "a.jsonl"),
                    tls=True)
    server = ReportServer(("127.0.0.1", 0), app, _tls_context(str(cert), str(key)))
    app.allowed_hosts = allowed_hosts("127.0.0.1", server.port, [])
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    # a client that connects and says nothing does not stop others being served
    silent = socket.create_connection(("127.0.0.1", server.port))
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
        body = f"username=rroe&password={PASSWORDS['rroe']}"
        conn.request("POST", "/login", body, {"Host": f"127.0.0.1:{server.port}",
                                              "Content-Type": "application/x-www-form-urlencoded",
                                              "Origin": f"https://127.0.0.1:{server.port}"})
        r = conn.getresponse()
        r.read()
        assert r.status == 303
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith("__Host-dlp_reports=") and "; Secure" in cookie
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        silent.close()
        server.shutdown()
        server.server_close()
        app.audit.close()


def test_tls_key_must_be_private(tmp_path):
    from agent.cli import UsageError
    from agent.commands.serve_reports import _tls_context

    cert, key = _self_signed(tmp_path)
    key.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        _tls_context(str(cert), str(key))
    with pytest.raises(UsageError, match="go together"):
        _tls_context(str(cert), None)


# -- the users file changes while the server runs ------------------------------------------

def test_users_file_changes_apply_to_signed_in_sessions(report_files, users_file, tmp_path):
    from report_helpers import start_server, users_yaml

    web = start_server(report_files["db"], users_file, report_files["directory"],
                       tmp_path / "audit.jsonl", reload_interval=0)
    try:
        c = signed_in(web, "rroe")
        assert c.get(f"/report/finance?{Q}").status == 200
        # moved to DSS: the open session follows the file, not what it was at sign-in
        write_users(users_file, users_yaml().replace("departments: [finance]\n    password",
                                                     "departments: [dss]\n    password", 1))
        assert c.get(f"/report/finance?{Q}").status == 403
        assert c.get(f"/report/dss?{Q}").status == 200
        events = [e for e in web.audit_lines() if e["event"].startswith("users_")]
        assert events[-1]["event"] == "users_reloaded"
        # a broken version: refused, the previous users stay in force, audited
        write_users(users_file, users_yaml() + "  bad entry without colon\n")
        assert c.get(f"/report/dss?{Q}").status == 200
        assert web.audit_lines()[-2]["event"] == "users_reload_failed"
        # made group-readable: refused the same way
        write_users(users_file, users_yaml(), mode=0o640)
        assert c.get(f"/report/dss?{Q}").status == 200
        failed = [e for e in web.audit_lines() if e["event"] == "users_reload_failed"]
        assert len(failed) == 2 and "report users file" in failed[-1]["detail"]
        # removed: the session no longer signs anyone in
        users_file.chmod(0o600)
        text = users_yaml()
        start = text.index("  rroe:")
        write_users(users_file, text[:start] + text[text.index("  asmith:"):])
        r = c.get(f"/report/dss?{Q}")
        assert r.status == 303 and r.header("Location").startswith("/login")
        assert c.login("rroe").status != 303
    finally:
        web.close()


# -- behind a reverse proxy ----------------------------------------------------------------

@pytest.mark.parametrize("peer, xff, trusted, expected", [
    ("10.0.0.5", "198.51.100.7", ["10.0.0.0/24"], "198.51.100.7"),
    ("10.0.0.5", "203.0.113.9, 198.51.100.7", ["10.0.0.0/24"], "198.51.100.7"),   # right-most
    ("10.0.0.5", "198.51.100.7, 10.0.0.4", ["10.0.0.0/24"], "198.51.100.7"),      # proxy chain
    ("192.0.2.1", "198.51.100.7", ["10.0.0.0/24"], "192.0.2.1"),     # untrusted peer: ignored
    ("10.0.0.5", "198.51.100.7", [], "10.0.0.5"),                    # no trusted proxies
    ("10.0.0.5", "not-an-ip", ["10.0.0.0/24"], "10.0.0.5"),
    ("10.0.0.5", None, ["10.0.0.0/24"], "10.0.0.5"),
    ("::1", "2001:db8::7", ["::1"], "2001:db8::7"),
])
def test_client_address_behind_trusted_proxies(peer, xff, trusted, expected):
    from agent.web.server import client_address, trusted_networks

    assert client_address(peer, xff, trusted_networks(trusted)) == expected


def test_trusted_proxy_header_is_audited_and_throttled_per_client(web):
    from agent.web.server import trusted_networks

    spoofed = web.client()
    spoofed.extra_headers["X-Forwarded-For"] = "198.51.100.7"
    spoofed.get("/")
    assert web.audit_lines()[-1]["client_ip"] == "127.0.0.1"      # not trusted yet: ignored
    web.app.trusted_proxies = trusted_networks(["127.0.0.1"])
    spoofed.get("/")
    assert web.audit_lines()[-1]["client_ip"] == "198.51.100.7"
    # failed sign-ins behind the proxy lock out that client, not everyone behind the proxy
    from agent.web.server import IP_LIMIT_FACTOR

    for i in range(web.app.throttle.limit * IP_LIMIT_FACTOR):
        spoofed.post("/login", {"username": f"guess{i}", "password": "x", "next": "/"})
    assert spoofed.login("asmith").status == 429
    other = web.client()
    other.extra_headers["X-Forwarded-For"] = "198.51.100.8"
    assert other.login("asmith").status == 303
