"""A real agent to throw hostile requests at, and the instruments that watch it.

``Rig`` starts the fake internet (tests/e2e/fakenet.py, run by mitmdump) and a real
`dlp-agent run` forwarding to it, with a configuration file whose limits are stated, plus a
bystander: another client that keeps sending ordinary requests through the same agent the
whole time, so every hostile case is also measured by how long an innocent user waited.

``Rig.send`` sends one request over a real TLS connection through the proxy (CONNECT, then
HTTP/1.1 over TLS; chunked when asked; raw bytes for requests no library will write; curl for
HTTP/2) and returns an ``Outcome``: status, whether the connection was cut, seconds, what the
agent's processes used (VmRSS/VmHWM from /proc), and the bystander's worst wait.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from harness import (  # noqa: E402
    DLP_AGENT,
    Agent,
    FakeNet,
    start_agent,
    start_recording_server,
    stop,
)

_FAILURES = re.compile(r'^dlp_inspection_failures_total\{reason="([a-z_]+)"\} (\S+)$', re.M)

# What an ordinary user must never wait longer than while the agent digests a hostile body.
BYSTANDER_MAX_SECONDS = 5.0
# A hostile flow's decision may take the inspection budget plus this (queueing behind the
# bystander, worker start-up, the incident commit).
DECISION_SLACK_SECONDS = 10.0
CLIENT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Request:
    """One request as the client sends it. ``raw`` (for transport "raw") is written verbatim
    on the TLS connection after CONNECT: malformed framing no HTTP library will produce."""

    method: str
    host: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = field(default=b"", repr=False)
    transport: str = "https"          # https | chunked | raw | h2
    raw: bytes | None = field(default=None, repr=False)
    plain: bool = False               # raw: plain HTTP to the proxy (absolute-form target)
    half_close: bool = False          # raw + plain: shut the write side after sending
    wait: float | None = None         # raw: give up waiting for a response after this

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


@dataclass
class Outcome:
    status: int | None               # HTTP status, None when no response arrived
    cut: bool                        # connection closed or reset without a (complete) response
    hung: bool                       # nothing within CLIENT_TIMEOUT
    seconds: float
    headers: dict = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)
    error: str = ""
    bystander_max: float = 0.0       # worst bystander latency during the case
    bystander_failures: int = 0
    rss_kb: int = 0                  # agent (main process) VmRSS after the case
    hwm_kb: int = 0                  # agent (main process) VmHWM so far
    worker_hwm_kb: int = 0           # largest VmHWM among the agent's child processes
    alive: bool = True
    held: bool = False               # raw request with ``wait``: the proxy is still waiting

    @property
    def incident_id(self) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get("x-dlp-incident")

    @property
    def kind(self) -> str:
        """blocked (403 with an incident), passed (2xx), refused (another 4xx from the proxy),
        error (5xx), cut (connection dropped), held (still waiting for promised bytes), hung."""
        if self.held:
            return "held"
        if self.hung:
            return "hung"
        if self.status is None:
            return "cut"
        if self.status == 403 and self.incident_id:
            return "blocked"
        if 200 <= self.status < 300:
            return "passed"
        if 400 <= self.status < 500:
            return "refused"
        return "error"


# ------------------------------------------------------------------ /proc
def proc_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def children(pid: int) -> list[int]:
    """All descendants (inspection workers are spawned children, with their own children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tids = Path(f"/proc/{p}/task").iterdir()
            kids = []
            for t in tids:
                try:
                    kids += [int(c) for c in (t / "children").read_text().split()]
                except OSError:
                    pass
        except OSError:
            continue
        out += kids
        todo += kids
    return out


# ------------------------------------------------------------------ clients
def _tunnel(proxy_port: int, host: str, ca: Path, timeout: float) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("proxy closed the CONNECT")
        head += chunk
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        raise ConnectionError(f"CONNECT refused: {head[:40]!r}")
    ctx = ssl.create_default_context(cafile=str(ca))
    return ctx.wrap_socket(sock, server_hostname=host)


class _TunnelConnection(http.client.HTTPSConnection):
    """http.client over our own CONNECT tunnel (keeps header names and order as given)."""

    def __init__(self, sock: ssl.SSLSocket, host: str, timeout: float):
        super().__init__(host, 443, timeout=timeout)
        self.sock = sock

    def connect(self) -> None:  # already connected
        pass


def _read_raw_response(sock: socket.socket, timeout: float) -> tuple[int | None, dict, bytes, bool]:
    """Status, headers, body of the first response on ``sock``; cut=True if the connection
    ended before a complete header block."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None, {}, data, True
            data += chunk
    except TimeoutError:
        return None, {}, data, True
    except (ConnectionError, ssl.SSLError, OSError):
        return None, {}, data, True
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, data, True
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    n = int(headers.get("content-length") or headers.get("Content-Length") or 0)
    try:
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    return status, headers, rest[:n] if n else rest, False


def send_request(agent: Agent, req: Request, timeout: float = CLIENT_TIMEOUT) -> Outcome:
    t0 = time.monotonic()
    try:
        if req.transport == "h2":
            return _send_h2(agent, req, timeout, t0)
        if req.plain:
            sock = socket.create_connection(("127.0.0.1", agent.proxy_port), timeout=timeout)
        else:
            sock = _tunnel(agent.proxy_port, req.host, agent.ca, timeout)
    except TimeoutError:
        return Outcome(None, False, True, time.monotonic() - t0, error="timeout before request")
    except (ConnectionError, ssl.SSLError, OSError) as e:
        return Outcome(None, True, False, time.monotonic() - t0, error=type(e).__name__)
    try:
        if req.transport == "raw":
            try:
                sock.sendall(req.raw or b"")
                if req.half_close:
                    sock.shutdown(socket.SHUT_WR)
            except (ConnectionError, ssl.SSLError, OSError) as e:
                return Outcome(None, True, False, time.monotonic() - t0, error=type(e).__name__)
            wait = req.wait or timeout
            status, headers, body, cut = _read_raw_response(sock, wait)
            late = cut and time.monotonic() - t0 >= wait
            return Outcome(status, cut and not late, late and not req.wait,
                           time.monotonic() - t0, headers, body, held=late and bool(req.wait))
        conn = _TunnelConnection(sock, req.host, timeout)
        try:
            conn.putrequest(req.method, req.path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", req.host)
            for k, v in req.headers:
                conn.putheader(k, v)
            if req.transport == "chunked":
                conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
                step = 64 * 1024
                for i in range(0, len(req.body), step):
                    piece = req.body[i:i + step]
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.send(b"0\r\n\r\n")
            else:
                if req.body or req.method in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(req.body)))
                conn.endheaders()
                if req.body:
                    conn.send(req.body)
            r = conn.getresponse()
            body = r.read()
            return Outcome(r.status, False, False, time.monotonic() - t0, dict(r.getheaders()),
                           body)
        except TimeoutError:
            return Outcome(None, False, True, time.monotonic() - t0, error="timeout")
        except (ConnectionError, http.client.HTTPException, ssl.SSLError, OSError) as e:
            return Outcome(None, True, False, time.monotonic() - t0, error=type(e).__name__)
    finally:
        sock.close()


def _send_h2(agent: Agent, req: Request, timeout: float, t0: float) -> Outcome:
    import tempfile

    with tempfile.NamedTemporaryFile() as body:
        body.write(req.body)
        body.flush()
        cmd = ["curl", "-sS", "--http2", "--max-time", str(int(timeout)), "-x", agent.proxy,
               "--cacert", str(agent.ca), "-X", req.method, "-o", "-", "-D", "/dev/stderr",
               "-w", "", "--data-binary", f"@{body.name}"]
        for k, v in req.headers:
            cmd += ["-H", f"{k}: {v}"]
        p = subprocess.run(cmd + [req.url], capture_output=True, timeout=timeout + 10)
    err = p.stderr.decode("latin-1")
    status, headers = None, {}
    for line in err.splitlines():
        if line.startswith("HTTP/"):
            parts = line.split()
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            headers = {}
        elif ":" in line and status is not None:
            k, _, v = line.partition(":")
            headers[k.strip()] = v.strip()
    hung = p.returncode == 28
    if p.returncode and not hung:
        status = None                # the last status line seen was the proxy's CONNECT reply
    cut = status is None and not hung
    return Outcome(status, cut, hung, time.monotonic() - t0, headers, p.stdout,
                   error=f"curl exit {p.returncode}" if p.returncode else "")


# ------------------------------------------------------------------ the bystander
class Bystander:
    """Ordinary traffic through the agent the whole time: a page view (no body) and a small
    clean form post (inspected in-process), alternately, back to back."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.log: list[tuple[float, float, bool]] = []    # (start, seconds, ok)
        self._inflight: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bystander", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            if n % 2:
                req = Request("GET", "www.example.com", f"/page/bystander/{n}")
            else:
                req = Request("POST", "api.example.org", f"/bystander/{n}",
                              (("Content-Type", "application/x-www-form-urlencoded"),),
                              b"name=Pat&comment=see+you+at+the+library+on+Tuesday")
            t = time.monotonic()
            self._inflight = t
            out = send_request(self.agent, req, timeout=60)
            self._inflight = None
            self.log.append((t, out.seconds, out.status == 200))
            self._stop.wait(0.05)

    def worst_since(self, t0: float) -> tuple[float, int]:
        """Longest wait within [t0, now] of any request, and failures among those that ran in
        it: a request stuck before t0 counts only from t0 on."""
        now = time.monotonic()
        worst, failures = 0.0, 0
        for start, secs, ok in list(self.log):
            if start + secs >= t0:
                worst = max(worst, min(start + secs, now) - max(start, t0))
                failures += not ok
        inflight = self._inflight
        if inflight is not None:
            worst = max(worst, now - max(inflight, t0))
        return worst, failures

    def waiting(self) -> float:
        """How long the request in flight has been waiting (0 when none is)."""
        inflight = self._inflight
        return 0.0 if inflight is None else time.monotonic() - inflight

    def served_since(self, t0: float) -> int:
        return sum(1 for start, _, ok in list(self.log) if start >= t0 and ok)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(70)


# ------------------------------------------------------------------ the rig
def write_config(path: Path, limits: dict, processes: int = 2) -> Path:
    """An agent configuration file; ``limits`` overrides the shipped ones (empty: shipped)."""
    lines = [f"inspection_processes: {processes}"]
    if limits:
        lines += ["limits:", *(f"  {k}: {v}" for k, v in limits.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_origin(tmp: Path) -> FakeNet:
    """tests/hostile/origin.py under mitmdump, recording what arrives like the e2e fakenet."""
    tmp.mkdir(parents=True, exist_ok=True)
    return start_recording_server(tmp, Path(__file__).with_name("origin.py"), "origin")


class Rig:
    def __init__(self, tmp: Path, limits: dict, processes: int = 2):
        self.tmp = tmp
        self.limits = limits
        self.fakenet: FakeNet = start_origin(tmp / "origin")
        cfg = write_config(tmp / "config.yaml", limits, processes)
        self.agent: Agent = start_agent(tmp, self.fakenet, args=["--config", str(cfg)])
        self.bystander = Bystander(self.agent)

    @property
    def pid(self) -> int:
        return self.agent.proc.pid

    def alive(self) -> bool:
        return self.agent.proc.poll() is None

    @property
    def max_seconds(self) -> float:
        return float(self.limits.get("max_seconds", 10.0))

    def hwm(self) -> tuple[int, int]:
        """VmHWM of the proxy process and the largest among its descendants (kB)."""
        return (proc_status(self.pid).get("VmHWM", 0),
                max((proc_status(c).get("VmHWM", 0) for c in children(self.pid)), default=0))

    def send(self, req: Request, timeout: float = CLIENT_TIMEOUT) -> Outcome:
        t0 = time.monotonic()
        out = send_request(self.agent, req, timeout)
        out.bystander_max, out.bystander_failures = self.bystander.worst_since(t0)
        out.rss_kb = proc_status(self.pid).get("VmRSS", 0)
        out.hwm_kb, out.worker_hwm_kb = self.hwm()
        out.alive = self.alive()
        return out

    def arrived(self, host: str, path: str) -> list[dict]:
        return [r for r in self.fakenet.records() if r["host"] == host and r["path"] == path]

    def incidents(self) -> list[dict]:
        """Every incident, through the operators' command (`dlp-agent incidents list`)."""
        p = subprocess.run([DLP_AGENT, "incidents", "list", "--db", str(self.agent.db),
                            "--format", "jsonl"], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def failures(self) -> dict[str, float]:
        """dlp_inspection_failures_total by reason, from the live /metrics endpoint (read with
        a regular expression: the full exposition is ~70 KB and parsing it twice a case cost
        more than most cases)."""
        out: dict[str, float] = {}
        for m in _FAILURES.finditer(self.agent.metrics()):
            out[m.group(1)] = float(m.group(2))
        return out

    def close(self) -> None:
        self.bystander.stop()
        stop(self.agent.proc)
        stop(self.fakenet.proc)
