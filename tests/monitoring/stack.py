"""Real Prometheus and Alertmanager (Debian packages) on loopback with temp dirs, configured
from the shipped deploy/ files, and a webhook receiver Alertmanager posts to."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
MISSING = [n for n, p in (("prometheus", PROMETHEUS), ("promtool", PROMTOOL),
                          ("prometheus-alertmanager", ALERTMANAGER), ("amtool", AMTOOL)) if not p]
SKIP_REASON = (f"{', '.join(MISSING)} not installed (Debian: apt-get install "
               "--no-install-recommends prometheus prometheus-alertmanager; .ci/run does it)")


def wait_for(cond: Callable[[], object], timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f}s")
        time.sleep(every)


def get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def post_json(url: str, payload, timeout: float = 5.0) -> int:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


# ---------------------------------------------------------------------------- webhook receiver
@dataclass
class Received:
    receiver: str
    status: str
    labels: dict
    annotations: dict
    at: float


class Webhook:
    """Collects Alertmanager webhook notifications (one POST per alert group)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._got: list[Received] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook._add(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:   # quiet test output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _add(self, payload: dict) -> None:
        now = time.monotonic()
        with self._lock:
            for a in payload.get("alerts", []):
                self._got.append(Received(payload["receiver"], a["status"], a["labels"],
                                          a["annotations"], now))

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._got)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------- configs
def shipped(path: str) -> dict:
    return yaml.safe_load((DEPLOY / path).read_text())


def alertmanager_config(cfg: dict, webhook_url: str, wait: str = "1s") -> dict:
    """The shipped routing tree and inhibition, unchanged; every receiver becomes a webhook
    (named after it, so a test sees which receiver got what) and waits are shortened."""
    cfg = copy.deepcopy(cfg)
    cfg["global"] = {k: v for k, v in cfg.get("global", {}).items() if not k.startswith("smtp_")}
    cfg["receivers"] = [{"name": r["name"], "webhook_configs": [
        {"url": f"{webhook_url}/{r['name']}", "send_resolved": True}]} for r in cfg["receivers"]]

    def shorten(route: dict) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route and route[key] not in ("0s", "0"):
                route[key] = wait
        for sub in route.get("routes", []):
            shorten(sub)

    shorten(cfg["route"])
    return cfg


def prometheus_config(cfg: dict, agent_target: str, alertmanager_target: str,
                      interval: str = "1s") -> dict:
    """The shipped config with 1 s scrape/evaluation, the test agent as the only dlp-agent
    target, absolute rule-file paths and the test Alertmanager."""
    cfg = copy.deepcopy(cfg)
    cfg["global"].update(scrape_interval=interval, evaluation_interval=interval,
                         scrape_timeout=interval)
    cfg["rule_files"] = [str(DEPLOY / "prometheus" / f) for f in cfg["rule_files"]]
    cfg["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager_target]}]}]
    jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == "dlp-agent"]
    assert jobs, "shipped prometheus.yml has no dlp-agent job"
    jobs[0]["static_configs"] = [{"targets": [agent_target]}]
    cfg["scrape_configs"] = jobs
    return cfg


# ---------------------------------------------------------------------------- processes
@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _start(name: str, cmd: list[str], port: int, log: Path, ready_path: str) -> Server:
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    server = Server(name, port, proc, log)
    try:
        wait_for(lambda: proc.poll() is not None or _ready(server.url + ready_path), 30,
                 f"{name} ready")
    except AssertionError:
        server.stop()
        raise
    if proc.poll() is not None:
        raise RuntimeError(f"{name} exited with {proc.returncode}:\n{server.output()[-3000:]}")
    return server


def start_alertmanager(d: Path, cfg: dict, port: int) -> Server:
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "alertmanager.yml"
    conf.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return _start("alertmanager", [
        ALERTMANAGER, f"--config.file={conf}", f"--storage.path={d / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",          # no gossip port (it would listen on 0.0.0.0:9094)
    ], port, d / "alertmanager.log", "/-/ready")


def start_prometheus(d: Path, cfg: dict, port: int) -> Server:
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "prometheus.yml"
    conf.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return _start("prometheus", [
        PROMETHEUS, f"--config.file={conf}", f"--storage.tsdb.path={d / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ], port, d / "prometheus.log", "/-/ready")


class PromAPI:
    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **params) -> dict:
        q = urllib.parse.urlencode(params)
        try:
            body = get_json(f"{self.url}{path}?{q}" if q else f"{self.url}{path}")
        except urllib.error.HTTPError as e:      # 400/422: PromQL errors come back as JSON
            body = json.loads(e.read())
        return body

    def query(self, expr: str, at: float | None = None) -> dict:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.get("/api/v1/query", **params)

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict:
        return self.get("/api/v1/query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                         step=f"{step}")

    def alerts(self) -> list[dict]:
        return self.get("/api/v1/alerts")["data"]["alerts"]

    def rule_groups(self) -> list[dict]:
        return self.get("/api/v1/rules")["data"]["groups"]

    def active_alertmanagers(self) -> list[dict]:
        return self.get("/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
