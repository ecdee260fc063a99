"""The supervisor web view: a read-only HTTP server for usage reports (stdlib http.server).

    GET  /login                  sign-in form
    POST /login                  user name + password -> session cookie -> the reports
    POST /logout
    GET  /                       departments the signed-in person may see (DoIT: all)
    GET  /report/<department>?from=YYYY-MM-DD&to=YYYY-MM-DD&format=html|csv|json
                                 &source=all|proxy|passive

Access is decided here, on the server, for every request: a supervisor asking for a
department that is not theirs gets 403 however the URL was made. Every request that reaches
a page (views, denials, sign-ins, failed sign-ins) is written to the audit log first; a
request that cannot be audited is refused.

Hardening, each for a stated reason:
- session cookie: random, HttpOnly (no script can read it), SameSite=Strict (no other site
  can make the browser send it, which also makes the GET-only views CSRF-safe), Secure and
  ``__Host-`` prefixed when serving TLS;
- POST only for sign-in/out, with Origin / Sec-Fetch-Site checked (login CSRF);
- Host header checked against the names the server is known by (DNS rebinding against a
  loopback service);
- CSP ``default-src 'none'``: no script runs at all; the one stylesheet is allowed by hash;
- X-Frame-Options DENY and frame-ancestors 'none' (no clickjacking), Cache-Control no-store
  (reports name people: nothing stays in shared caches or the browser's back history).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
import ssl
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from agent.identity import DEPT_RE, Directory
from agent.reports import FORMATS, SOURCES, Period, ReportQuery, UnknownDepartment, file_name
from agent.reports.data import check_schema, known_departments, load_report
from agent.reports.html_report import STYLE_HASH, render_html
from agent.reports.period import parse_date
from agent.store import Reader, StoreError
from agent.usage import SessionSettings
from agent.web import pages
from agent.web.audit import AuditLog
from agent.web.sessions import Sessions, Throttle
from agent.web.users import ReportUser, ReportUsersFile, UsersFile, check_login

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30                # a report without dates covers the last 30 days
MAX_FORM_BYTES = 8 * 1024
MAX_PASSWORD_CHARS = 1024        # longer is refused before hashing: no scrypt work for junk
IP_LIMIT_FACTOR = 4              # an address may fail this many times more than one user name

CSP = ("default-src 'none'; "
       f"style-src '{STYLE_HASH}'; "
       "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    # Not no-referrer: with it browsers send "Origin: null" on form posts, and the sign-in
    # form's Origin check could not tell our own form from a sandboxed foreign one.
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


Headers = Sequence[tuple[str, str]]


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    client_ip: str
    raw_query: str = ""
    form: dict[str, str] = field(default_factory=dict)

    def cookie(self, name: str) -> str | None:
        for header in self.headers.get_all("Cookie") or ():
            for part in header.split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
        return None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a local path only (no //host, no scheme, no backslash)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x21 for c in value):
        return "/"
    return value


def _first_values(qs: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(qs, keep_blank_values=True, max_num_fields=20).items()}


class ReportApp:
    """Everything a request needs, shared by the handler threads (all of it thread-safe)."""

    def __init__(self, db_path: str | Path, users: ReportUsersFile | UsersFile, directory: Directory,
                 audit: AuditLog, *, settings: SessionSettings | None = None, tls: bool = False,
                 allowed_hosts: frozenset[str] | None = None, trusted_proxies: Networks = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db_path = Path(db_path)
        self._users = users
        self.directory = directory
        self.audit = audit
        self.settings = settings or SessionSettings()
        self.tls = tls
        self.allowed_hosts = allowed_hosts
        self.trusted_proxies: Networks = trusted_proxies
        first = users.spec if isinstance(users, UsersFile) else users
        self.sessions = Sessions(first.session_minutes * 60, first.session_max_hours * 3600, clock)
        self.throttle = Throttle(first.max_failed_logins, first.lockout_minutes * 60, clock)
        self.cookie_name = "__Host-dlp_reports" if tls else "dlp_reports"

    @property
    def users(self) -> ReportUsersFile:
        """The report users in force (re-read by a ``UsersFile`` when the file changes)."""
        if isinstance(self._users, UsersFile):
            return self._users.current()
        return self._users

    def _users_events(self) -> None:
        if isinstance(self._users, UsersFile):
            for event, detail in self._users.take_events():
                if event == "reload_failed":
                    log.error("report users file %s not reloaded, previous users stay in "
                              "force: %s", self._users.path, detail)
                else:
                    log.info("report users file %s reloaded: %s", self._users.path, detail)
                self.audit.write(f"users_{event}", result=event, detail=detail[:500])

    # -- plumbing --------------------------------------------------------------------------

    def _html(self, status: int, text: str, headers: Headers = ()) -> Response:
        return Response(status, text.encode("utf-8"), "text/html; charset=utf-8", list(headers))

    def _redirect(self, location: str, headers: Headers = ()) -> Response:
        return Response(303, b"", "text/plain; charset=utf-8", [("Location", location), *headers])

    def _not_found(self, req: Request, base: dict[str, Any]) -> Response:
        self._audit(req, "not_found", 404, "no such department", **base)
        return self._html(404, pages.error_page(404, "Not Found", "There is no such department."))

    def _cookie(self, token: str, max_age: int) -> tuple[str, str]:
        secure = "; Secure" if self.tls else ""
        return ("Set-Cookie", f"{self.cookie_name}={token}; Path=/; HttpOnly; SameSite=Strict; "
                              f"Max-Age={max_age}{secure}")

    def _audit(self, req: Request, event: str, status: int, result: str, **fields: Any) -> None:
        self.audit.write(event, status=status, result=result, client_ip=req.client_ip, **fields)

    def _signed_in(self, req: Request) -> tuple[str, ReportUser] | None:
        s = self.sessions.get(req.cookie(self.cookie_name))
        if s is None:
            return None
        user = self.users.users.get(s.user)
        return None if user is None else (s.user, user)

    # -- dispatch --------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        self.users  # noqa: B018 - picks up a changed users file before anything reads it
        self._users_events()
        if self.allowed_hosts is not None:
            host = (req.headers.get("Host") or "").strip().lower()
            if host not in self.allowed_hosts:
                self._audit(req, "bad_request", 421, "unknown host", detail=f"host {host[:100]!r}")
                return self._html(421, pages.error_page(421, "Misdirected Request",
                                                        "This server does not answer to that name.",
                                                        signed_in=False))
        if req.method == "POST":
            problem = self._cross_site(req)
            if problem:
                self._audit(req, "bad_request", 403, "cross-site request", detail=problem)
                return self._html(403, pages.error_page(403, "Forbidden", problem, signed_in=False))
            if req.path == "/login":
                return self._login(req)
            if req.path == "/logout":
                return self._logout(req)
        elif req.method == "GET":
            if req.path == "/login":
                if self._signed_in(req):
                    return self._redirect("/")
                return self._html(200, pages.login_page(next_path=safe_next(req.query.get("next"))))
            if req.path == "/favicon.ico":       # browsers ask on their own: not a view
                return Response(404, b"", "text/plain; charset=utf-8")
            if req.path == "/":
                return self._index(req)
            if req.path.startswith("/report/"):
                return self._report(req, unquote(req.path[len("/report/"):]))
        else:
            return Response(405, b"method not allowed\n", "text/plain; charset=utf-8",
                            [("Allow", "GET, POST")])
        who = self._signed_in(req)
        self._audit(req, "not_found", 404, "not found", who=who[0] if who else None,
                    detail=req.path[:200])
        return self._html(404, pages.error_page(404, "Not Found", "There is no such page.",
                                                signed_in=who is not None))

    def _cross_site(self, req: Request) -> str | None:
        if (req.headers.get("Sec-Fetch-Site") or "").lower() == "cross-site":
            return "cross-site form submissions are refused"
        origin = req.headers.get("Origin")
        if origin is not None:
            scheme = "https" if self.tls else "http"
            expected = f"{scheme}://{(req.headers.get('Host') or '').lower()}"
            if origin.lower() != expected:
                return "the form was sent from another site"
        return None

    # -- sign-in ---------------------------------------------------------------------------

    def _login(self, req: Request) -> Response:
        username = req.form.get("username", "").strip().lower()[:128]
        password = req.form.get("password", "")
        next_path = safe_next(req.form.get("next"))
        user = self.users.users.get(username)
        who = username if user is not None else None
        detail = None if user is not None else "unknown user name"
        wait = max(self.throttle.wait(("user", username)),
                   self.throttle.wait(("ip", req.client_ip),
                                      self.throttle.limit * IP_LIMIT_FACTOR))
        if wait > 0:
            minutes = max(1, int(wait // 60) + 1)
            self._audit(req, "login_throttled", 429, "refused", who=who, detail=detail)
            return self._html(429, pages.login_page(
                f"Too many failed sign-ins. Try again in {minutes} minutes.", next_path, username),
                [("Retry-After", str(int(wait) + 1))])
        ok = len(password) <= MAX_PASSWORD_CHARS and check_login(user, password)
        if not ok:
            self.throttle.fail(("user", username))
            self.throttle.fail(("ip", req.client_ip))
            self._audit(req, "login_failed", 401, "failed", who=who, detail=detail)
            return self._html(401, pages.login_page("The user name or password is wrong.",
                                                    next_path, username))
        self.throttle.clear(("user", username))
        self.sessions.drop(req.cookie(self.cookie_name))     # never keep a pre-login token
        token = self.sessions.create(username)
        self._audit(req, "login", 303, "ok", who=username, role=user.role)
        return self._redirect(next_path, [self._cookie(token, self.users.session_max_hours * 3600)])

    def _logout(self, req: Request) -> Response:
        who = self._signed_in(req)
        self.sessions.drop(req.cookie(self.cookie_name))
        self._audit(req, "logout", 303, "ok", who=who[0] if who else None)
        return self._redirect("/login", [self._cookie("", 0)])

    def _unauthenticated(self, req: Request, wants_data: bool, **fields: Any) -> Response:
        if wants_data:
            self._audit(req, "unauthenticated", 401, "sign-in required", **fields)
            body = json.dumps({"error": "sign in first at /login"}).encode() + b"\n"
            return Response(401, body, "application/json")
        self._audit(req, "unauthenticated", 303, "sign-in required", **fields)
        full = req.path if not req.raw_query else f"{req.path}?{req.raw_query}"
        return self._redirect(f"/login?next={quote(full, safe='')}")

    # -- views -----------------------------------------------------------------------------

    def _department_names(self, ids: list[str]) -> list[tuple[str, str]]:
        return [(d, self.directory.department_spec(d).name) for d in ids]

    def _index(self, req: Request) -> Response:
        who = self._signed_in(req)
        if who is None:
            return self._unauthenticated(req, False)
        username, user = who
        if user.role == "doit_admin":
            try:
                with Reader(self.db_path) as reader:
                    check_schema(reader)
                    ids = known_departments(reader, self.directory)
            except StoreError as e:
                log.error("report index: %s", e)
                self._audit(req, "index", 503, "store unavailable", who=username, role=user.role)
                return self._html(503, pages.error_page(503, "Service Unavailable",
                                                        "The usage database cannot be read."))
        else:
            ids = sorted(user.departments)
            if len(ids) == 1:
                self._audit(req, "index", 303, "ok", who=username, role=user.role)
                return self._redirect(f"/report/{quote(ids[0])}")
        self._audit(req, "index", 200, "ok", who=username, role=user.role)
        return self._html(200, pages.index_page(username, user, self._department_names(ids)))

    def _period(self, req: Request, timezone: str) -> Period:
        """from/to as given; a missing end is today, a missing start 30 days before the end."""
        first, last = req.query.get("from"), req.query.get("to")
        end = parse_date(last, "to") if last else Period.ending_today(1, timezone).last
        start = parse_date(first, "from") if first else end - timedelta(days=DEFAULT_DAYS - 1)
        return Period(start, end)

    def _report(self, req: Request, department: str) -> Response:
        fmt = req.query.get("format", "html")
        wants_data = fmt in ("csv", "json")
        source = req.query.get("source", "all")
        view = {"department": department[:64], "format": fmt[:16], "source": source[:16],
                "from": req.query.get("from", "")[:32] or None,
                "to": req.query.get("to", "")[:32] or None}
        who = self._signed_in(req)
        if who is None:
            return self._unauthenticated(req, wants_data, **view)
        username, user = who
        base = {"who": username, "role": user.role, **view}
        if not re.fullmatch(DEPT_RE, department):
            return self._not_found(req, base)
        # Access before anything else: a supervisor learns nothing about other departments,
        # not even whether they exist.
        if not user.may_view(department):
            self._audit(req, "denied", 403, "not your department", **base)
            return self._html(403, pages.error_page(
                403, "Forbidden", "You may see the reports of your own department(s) only. "
                                  "This attempt has been recorded."))
        if fmt not in FORMATS or source not in SOURCES:
            self._audit(req, "bad_request", 400, "bad format or source", **base)
            return self._html(400, pages.error_page(400, "Bad Request",
                                                    f"format is one of {', '.join(FORMATS)}; "
                                                    f"source one of {', '.join(SOURCES)}."))
        try:
            period = self._period(req, self.directory.department_spec(department).timezone)
        except ValueError as e:
            self._audit(req, "bad_request", 400, "bad period", **base)
            return self._html(400, pages.error_page(400, "Bad Request", str(e)))
        base.update({"from": period.first.isoformat(), "to": period.last.isoformat()})
        try:
            with Reader(self.db_path) as reader:
                report = load_report(reader, ReportQuery(department, period, source),
                                     self.directory, settings=self.settings)
        except UnknownDepartment:
            return self._not_found(req, base)
        except StoreError as e:
            log.error("report %s: %s", department, e)
            self._audit(req, "view", 503, "store unavailable", **base)
            return self._html(503, pages.error_page(503, "Service Unavailable",
                                                    "The usage database cannot be read."))
        if fmt == "html":
            body = render_html(report, pages.nav(username, user, department, period, source))
            headers: list[tuple[str, str]] = []
        else:
            body = FORMATS[fmt].render(report)
            disposition = "attachment" if fmt == "csv" else "inline"
            headers = [("Content-Disposition",
                        f'{disposition}; filename="{file_name(report, fmt)}"')]
        self._audit(req, "view", 200, "ok", **base)
        return Response(200, body.encode("utf-8"), FORMATS[fmt].media_type, headers)


class ReportHandler(BaseHTTPRequestHandler):
    server: ReportServer
    timeout = 30                      # a client that stops sending does not hold a thread

    def version_string(self) -> str:
        return "dlp-agent-reports"       # no Python version for scanners to match on

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # The TLS handshake happens here, in the request's own thread with its timeout,
            # not in the accept loop where one silent client would stall every other.
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:   # noqa: A002 - base signature
        log.debug("%s %s", self.client_address[0], format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        self._send(Response(405, b"", "text/plain; charset=utf-8", [("Allow", "GET, POST")]),
                   head=True)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        peer = client_address(self.client_address[0], self.headers.get("X-Forwarded-For"),
                              self.server.app.trusted_proxies)
        req = Request(method, parts.path, _first_values(parts.query), self.headers, peer,
                      parts.query)
        if method == "POST":
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_FORM_BYTES:
                self._send(Response(413, b"form too large\n", "text/plain; charset=utf-8"))
                return
            raw = self.rfile.read(length)
            req.form = _first_values(raw.decode("utf-8", "replace"))
        try:
            resp = self.server.app.handle(req)
        except OSError as e:
            # Most likely the audit log could not be written: refuse rather than serve unaudited.
            log.error("request refused: %s: %s", type(e).__name__, e)
            resp = Response(500, b"internal error\n", "text/plain; charset=utf-8")
        self._send(resp)

    def _send(self, resp: Response, head: bool = False) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        if self.server.app.tls:
            self.send_header("Strict-Transport-Security", "max-age=31536000")
        for name, value in resp.headers:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(resp.body)


class ReportServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: ReportApp,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        super().__init__(address, ReportHandler)
        if tls_context is not None:
            self.socket = tls_context.wrap_socket(self.socket, server_side=True,
                                                  do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: tuple[str, int]) -> None:
        # One line, not a traceback on stderr: failed handshakes and dropped connections are
        # routine on a network-facing port.
        exc = sys.exc_info()[1]
        log.warning("request from %s failed: %s: %s", client_address[0], type(exc).__name__, exc)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def trusted_networks(specs: list[str]) -> Networks:
    """``--trusted-proxy`` values (addresses or CIDRs); ValueError names a bad one."""
    out = []
    for spec in specs:
        try:
            out.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            raise ValueError(f"--trusted-proxy {spec!r} is not an IP address or network") from None
    return tuple(out)


def client_address(peer: str, forwarded_for: str | None, trusted: Networks) -> str:
    """The client behind trusted reverse proxies: the right-most X-Forwarded-For address that
    is not itself a trusted proxy. Only a trusted peer's header is read (anyone can send one),
    and only as far as the chain stays trusted."""
    def trusted_ip(addr: str) -> bool | None:
        """Whether ``addr`` is a trusted proxy; None when it is no IP address."""
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return None
        return any(ip in net for net in trusted)

    if not trusted or not forwarded_for or not trusted_ip(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",")]
    for hop in reversed(hops):
        is_proxy = trusted_ip(hop)
        if is_proxy is None:
            return peer          # a malformed chain: keep the address that certainly connected
        if not is_proxy:
            return hop
    return hops[0] or peer


def allowed_hosts(host: str, port: int, extra: list[str]) -> frozenset[str] | None:
    """Host header values to accept. On a loopback address: the loopback names plus ``extra``;
    elsewhere only ``extra`` if given, else no check (a reverse proxy sets the name)."""
    names = {h.lower() for h in extra}
    if host in LOOPBACK:
        names.update({f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"})
        if port in (80, 443):
            names.update({"127.0.0.1", "localhost", "[::1]"})
    elif not names:
        return None
    return frozenset(names)
