"""Proxy benchmark: browsing requests/s through `dlp-agent run` vs plain `mitmdump` (same run,
alternating rounds), and the latency a 1 MB upload decision adds.

Targets (issue 3): agent >= 0.9x mitmdump requests/s; added p50 latency for a 1 MB upload
<= 20 ms. Needs `wrk` (Debian package) for the load; run: .venv/bin/python bench/bench_proxy.py
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from harness import free_port, stop, wait_port  # noqa: E402

BIN = Path(sys.executable).parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))


def start(cmd: list[str], port: int, log: Path) -> subprocess.Popen:
    p = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_port(port, p, log=log)
    return p


def wrk_rps(proxy_port: int, up_port: int, tmp: Path, connections: int = 8) -> float:
    script = tmp / "proxy.lua"
    script.write_text(f'wrk.path = "http://127.0.0.1:{up_port}/page"\n'
                      f'wrk.headers["Host"] = "127.0.0.1:{up_port}"\n'
                      'wrk.headers["Accept"] = "text/html"\n'
                      'wrk.headers["Sec-Fetch-Mode"] = "navigate"\n')
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{SECONDS}s", "-s", str(script),
                          f"http://127.0.0.1:{proxy_port}"], capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not m or errors:
        raise RuntimeError(f"wrk failed:\n{out}")
    return float(m.group(1))


def upload_latencies(proxy_port: int, up_port: int, body: bytes, n: int = 40) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=60)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("POST", f"http://127.0.0.1:{up_port}/upload", body,
                     {"Content-Type": "text/plain; charset=utf-8", "Host": f"127.0.0.1:{up_port}"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"upload answered {r.status}")
        out.append((time.perf_counter() - t) * 1000)
    conn.close()
    return out[5:]   # warm-up


def prose(n: int) -> bytes:
    words = ("the county board reviewed budget plans for parks roads and libraries while residents "
             "asked about schedules permits and services at the next public meeting on tuesday").split()
    out, i = [], 0
    size = 0
    while size < n:
        w = words[i % len(words)]
        out.append(w)
        size += len(w) + 1
        i += 7
    return " ".join(out).encode()[:n]


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    up_port, agent_port, dump_port = free_port(), free_port(), free_port()
    procs = []
    try:
        procs.append(start([str(BIN / "python"), str(ROOT / "bench" / "upstream.py"), str(up_port)],
                           up_port, tmp / "up.log"))
        procs.append(start([str(BIN / "mitmdump"), "-q", "--listen-host", "127.0.0.1", "--listen-port",
                            str(dump_port), "--set", f"confdir={tmp / 'ca1'}"], dump_port, tmp / "dump.log"))
        procs.append(start([str(BIN / "dlp-agent"), "run", "-q", "--listen-port", str(agent_port),
                            "--metrics-port", "0", "--db", str(tmp / "dlp.sqlite"), "--confdir",
                            str(tmp / "ca2")], agent_port, tmp / "agent.log"))
        wrk_rps(dump_port, up_port, tmp, 2)
        wrk_rps(agent_port, up_port, tmp, 2)   # warm both
        agent, dump = [], []
        for r in range(ROUNDS):
            dump.append(wrk_rps(dump_port, up_port, tmp))
            agent.append(wrk_rps(agent_port, up_port, tmp))
            print(f"round {r + 1}: mitmdump {dump[-1]:7.1f} req/s   dlp-agent {agent[-1]:7.1f} req/s")
        ratio = statistics.median(agent) / statistics.median(dump)
        print(f"browsing (GET 2 KB page, 8 connections, {SECONDS}s x {ROUNDS} rounds): "
              f"mitmdump {statistics.median(dump):.1f} req/s, dlp-agent {statistics.median(agent):.1f} req/s "
              f"-> {ratio:.2f}x  [target >= 0.90x: {'PASS' if ratio >= 0.9 else 'FAIL'}]")

        body = prose(1024 * 1024)
        lat_dump = upload_latencies(dump_port, up_port, body)
        lat_agent = upload_latencies(agent_port, up_port, body)
        p50d, p50a = statistics.median(lat_dump), statistics.median(lat_agent)
        added = p50a - p50d
        print(f"1 MB text upload, one connection: p50 mitmdump {p50d:.1f} ms, dlp-agent {p50a:.1f} ms "
              f"-> added {added:.1f} ms  [target <= 20 ms: {'PASS' if added <= 20 else 'FAIL'}]")
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
