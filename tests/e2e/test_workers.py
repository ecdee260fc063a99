"""`dlp-agent run --workers N`: N proxy processes, each enforcing, each with its own metrics,
restarted when they die, reloaded and stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from harness import DLP_AGENT, Agent, free_port, send, stop, wait_port


def free_pair() -> int:
    """A port p with p + 1 free too (worker i listens on base + i): a lone free port's neighbour
    can be some client's ephemeral port, and the second worker then cannot bind."""
    for _ in range(200):
        p = free_port()
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", p + 1))
        except OSError:
            continue
        return p
    raise RuntimeError("no two free ports in a row")


def test_two_workers(tmp_path, fakenet):
    base, mbase = free_pair(), free_pair()
    while abs(base - mbase) < 2:
        mbase = free_pair()
    log = tmp_path / "sup.log"
    proc = subprocess.Popen([DLP_AGENT, "run", "--workers", "2", "--listen-port", str(base),
                             "--metrics-port", str(mbase), "--db", str(tmp_path / "d.sqlite"),
                             "--confdir", str(tmp_path / "ca"),
                             "--set", f"mode=upstream:http://127.0.0.1:{fakenet.port}", "--set", "ssl_insecure=true"],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        for p in (base, base + 1, mbase, mbase + 1):
            wait_port(p, proc, timeout=60, log=log)
        agents = [Agent(base + i, mbase + i, tmp_path / "ca", tmp_path / "d.sqlite", None, log, proc) for i in range(2)]
        for a in agents:
            r = send(a, "POST", "https://content.dropboxapi.com/2/files/upload", b"notes",
                     {"Content-Type": "application/octet-stream", "Accept": "application/json"})
            assert r.status == 403
            assert a.metric("dlp_policy_violations_total", rule="file-sharing-upload", action="block") == 1
        # a worker that dies is restarted on its port
        pids = [int(line.split("pid ")[1].rstrip(")")) for line in log.read_text().splitlines() if "started (pid" in line]
        os.kill(pids[1], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "worker 1 exited" not in log.read_text():
            time.sleep(0.2)
        time.sleep(1.5)
        wait_port(base + 1, proc, timeout=60, log=log)
        assert send(agents[1], "GET", "https://www.example.com/page-w").status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            stop(proc)
            raise
    assert proc.returncode == 0
    out = log.read_text()
    assert out.count("started (pid") == 3
