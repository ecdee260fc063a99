"""Helpers for the report tests: a users file, a real server on loopback, a small HTTP client
that keeps its cookie and never follows redirects (so each hop can be asserted), and an
HTML table reader (stdlib html.parser)."""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

from agent.identity import Directory
from agent.web import AuditLog, ReportApp, ReportServer, allowed_hosts, hash_password, load_users
from agent.web.users import UsersFile

# Low scrypt cost for speed in tests; the format records it, verification reads it back.
TEST_N = 2**12
PASSWORDS = {
    "rroe": "finance-supervisor-pw",
    "asmith": "dss-supervisor-pw-123",
    "multi": "two-departments-pw-1",
    "kchen": "doit-admin-password-9",
}


def users_yaml(extra: str = "") -> str:
    def h(u: str) -> str:
        return hash_password(PASSWORDS[u], n=TEST_N)
    return f"""\
session_minutes: 30
max_failed_logins: 3
lockout_minutes: 15
users:
  rroe:
    name: Richard Roe
    role: supervisor
    departments: [finance]
    password: "{h('rroe')}"
  asmith:
    name: Ann Smith
    role: supervisor
    departments: [dss]
    password: "{h('asmith')}"
  multi:
    name: Morgan Multi
    role: supervisor
    departments: [finance, dss]
    password: "{h('multi')}"
  kchen:
    name: Kim Chen
    role: doit_admin
    password: "{h('kchen')}"
{extra}"""


def write_users(path: Path, text: str | None = None, mode: int = 0o600) -> Path:
    path.write_text(users_yaml() if text is None else text)
    path.chmod(mode)
    return path


@dataclass
class RunningServer:
    server: ReportServer
    app: ReportApp
    thread: threading.Thread
    audit_path: Path

    @property
    def port(self) -> int:
        return self.server.port

    def client(self) -> Client:
        return Client(self.port)

    def audit_lines(self) -> list[dict]:
        import json
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
        self.app.audit.close()


def start_server(db: Path, users_file: Path, directory_file: Path,
                 audit_path: Path, reload_interval: float | None = None) -> RunningServer:
    """The report server on a free loopback port; with ``reload_interval`` it re-reads the
    users file as ``serve-reports`` does."""
    directory = Directory.load(directory_file)
    known = set(directory.spec.departments)
    users = (load_users(users_file, known) if reload_interval is None
             else UsersFile(users_file, known, interval=reload_interval))
    audit = AuditLog(audit_path)
    app = ReportApp(db, users, directory, audit)
    server = ReportServer(("127.0.0.1", 0), app)
    app.allowed_hosts = allowed_hosts("127.0.0.1", server.port, [])
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True)
    t.start()
    return RunningServer(server, app, t, audit_path)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Client:
    port: int
    cookie: str | None = None
    host: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Host": self.host or f"127.0.0.1:{self.port}", **self.extra_headers,
             **(headers or {})}
        if self.cookie:
            h["Cookie"] = self.cookie
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            reply = Reply(r.status, r.headers, r.read())
        finally:
            conn.close()
        for value in reply.headers.get_all("Set-Cookie") or ():
            pair = value.split(";", 1)[0]
            name, _, token = pair.partition("=")
            self.cookie = f"{name}={token}" if token else None
        return reply

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, fields: dict[str, str],
             headers: dict[str, str] | None = None) -> Reply:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, urlencode(fields).encode(), {**form, **(headers or {})})

    def login(self, user: str, password: str | None = None, next_path: str = "/") -> Reply:
        pw = PASSWORDS[user] if password is None else password
        return self.post("/login", {"username": user, "password": pw, "next": next_path})


class TableReader(HTMLParser):
    """Rows of every <table> (cell text), and every <title> inside SVG (bar tooltips)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.titles: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_title = False
        self._svg = 0
        self._details = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "svg":
            self._svg += 1
        elif tag == "title" and self._svg:
            self._in_title = True
            self.titles.append("")
        elif tag == "br" and self._cell is not None:
            self._cell.append(", ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "svg":
            self._svg -= 1
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.titles[-1] += data
        elif self._cell is not None and not self._svg:
            self._cell.append(data)


def read_html(text: str) -> TableReader:
    r = TableReader()
    r.feed(text)
    r.close()
    return r
