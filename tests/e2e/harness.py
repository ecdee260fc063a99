"""Real processes for end-to-end tests: the agent (`dlp-agent run`), the fake internet behind
it (mitmdump), and HTTPS clients (curl and Python's urllib) that trust the agent's test CA."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DLP_AGENT = str(VENV_BIN / "dlp-agent")
MITMDUMP = str(VENV_BIN / "mitmdump")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log.read_text() if log and log.exists() else ""
            raise RuntimeError(f"process exited with {proc.returncode} before listening:\n{out[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class FakeNet:
    port: int
    log: Path
    proc: subprocess.Popen

    def records(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def clear(self) -> None:
        self.log.write_text("")


def start_fakenet(tmp: Path, ws_port: int = 0) -> FakeNet:
    return start_recording_server(tmp, Path(__file__).with_name("fakenet.py"), "fakenet",
                                  ca_dir="fakenet-ca", fakenet_ws_port=str(ws_port))


def start_recording_server(tmp: Path, script: Path, name: str, ca_dir: str = "ca",
                           **options: str) -> FakeNet:
    """mitmdump running ``script`` on a free loopback port; the script records what arrives in
    ``<name>.jsonl`` (its ``<name>_log`` option); ``options`` are further --set values."""
    port = free_port()
    log = tmp / f"{name}.jsonl"
    log.write_text("")
    out = tmp / f"{name}.out"
    sets = [f"{name}_log={log}", "connection_strategy=lazy", f"confdir={tmp / ca_dir}",
            *(f"{k}={v}" for k, v in options.items())]
    proc = subprocess.Popen(
        [MITMDUMP, "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
         "-s", str(script), *(a for kv in sets for a in ("--set", kv))],
        stdout=out.open("w"), stderr=subprocess.STDOUT)
    wait_port(port, proc, log=out)
    return FakeNet(port, log, proc)


@dataclass
class Agent:
    proxy_port: int
    metrics_port: int
    confdir: Path
    db: Path
    rules: Path
    log: Path
    proc: subprocess.Popen
    extra: dict = field(default_factory=dict)

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name: str, **labels: str) -> float:
        """Value of one sample (0.0 when absent) from the live /metrics endpoint."""
        from prometheus_client.parser import text_string_to_metric_families

        for fam in text_string_to_metric_families(self.metrics()):
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        return 0.0

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def start_agent(tmp: Path, fakenet: FakeNet | None, rules: Path | None = None, args: list[str] = (),
                name: str = "agent") -> Agent:
    """Start `dlp-agent run`; with a fakenet it forwards everything there (upstream mode),
    without one it is a regular proxy (for loopback origins)."""
    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    proxy_port, metrics_port = free_port(), free_port()
    confdir = d / "ca"
    db = d / "dlp.sqlite"
    log = d / "agent.log"
    rules = rules or ROOT / "rules"
    cmd = [DLP_AGENT, "run", "--listen-host", "127.0.0.1", "--listen-port", str(proxy_port),
           "--metrics-port", str(metrics_port), "--rules", str(rules), "--db", str(db),
           "--confdir", str(confdir),
           *(["--set", f"mode=upstream:http://127.0.0.1:{fakenet.port}", "--set", "ssl_insecure=true"]
             if fakenet else []),
           *args]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=d)
    wait_port(proxy_port, proc, log=log)
    wait_port(metrics_port, proc, log=log)
    return Agent(proxy_port, metrics_port, confdir, db, rules, log, proc)


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def send(agent: Agent, method: str, url: str, body: bytes | None = None,
         headers: dict | None = None, auth: tuple[str, str] | None = None, timeout: float = 30) -> Reply:
    """One HTTPS (or HTTP) request through the agent with Python's urllib."""
    proxy = agent.proxy
    if auth:
        proxy = f"http://{auth[0]}:{auth[1]}@127.0.0.1:{agent.proxy_port}"
    ctx = ssl.create_default_context(cafile=str(agent.ca))
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": proxy, "https": proxy}),
        urllib.request.HTTPSHandler(context=ctx))
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=timeout) as r:
            return Reply(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, dict(e.headers), e.read())


def curl(agent: Agent, args: list[str], auth: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    """curl through the agent; returns the completed process (stdout = body)."""
    cmd = ["curl", "-sS", "--max-time", "60", "-x", agent.proxy, "--cacert", str(agent.ca)]
    if auth:
        cmd += ["--proxy-user", f"{auth[0]}:{auth[1]}"]
    return subprocess.run(cmd + args, capture_output=True, timeout=90,
                          env={**os.environ, "NO_PROXY": "", "no_proxy": ""})
