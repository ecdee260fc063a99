"""`dlp-agent run --workers N`: N proxy processes on one host, one per core.

mitmproxy runs on one event loop, so one process uses one core. Worker i listens on
listen_port + i and serves /metrics on metrics_port + i (Prometheus scrapes each; counters
are per process and add up with sum()). A front spreads clients over the workers: HAProxy with
`balance source` (deploy/haproxy/haproxy.cfg) keeps each client on one worker, which the usage
estimate needs; a PAC file can do the same. What workers share lives on disk: the incident and
usage database (SQLite WAL, one writer at a time, each waits its turn) and the upload-session
spool, so a chunked upload may hop between workers. The supervisor restarts a worker that
dies and passes SIGHUP (reload) and SIGTERM (stop) on to all of them.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

log = logging.getLogger("dlp")

RESTART_BACKOFF = (1, 2, 5, 10, 30)


def supervise(worker_args: list[list[str]]) -> int:
    procs: list[subprocess.Popen | None] = [None] * len(worker_args)
    restarts = [0] * len(worker_args)
    stopping = False

    def start(i: int) -> None:
        procs[i] = subprocess.Popen(worker_args[i])
        print(f"dlp-agent: worker {i} started (pid {procs[i].pid})", file=sys.stderr, flush=True)

    def forward(sig: int, _frame=None) -> None:
        nonlocal stopping
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping = True
        for p in procs:
            if p is not None and p.poll() is None:
                p.send_signal(sig)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for i in range(len(worker_args)):
        start(i)
    exit_code = 0
    while True:
        time.sleep(0.5)
        alive = 0
        for i, p in enumerate(procs):
            if p is None:
                continue
            code = p.poll()
            if code is None:
                alive += 1
                continue
            if stopping:
                procs[i] = None
                continue
            if code == 2:
                # a usage/configuration error repeats on every start: give up, say why
                print(f"dlp-agent: worker {i} rejected its configuration (exit 2); stopping", file=sys.stderr)
                forward(signal.SIGTERM)
                exit_code = 2
                continue
            delay = RESTART_BACKOFF[min(restarts[i], len(RESTART_BACKOFF) - 1)]
            print(f"dlp-agent: worker {i} exited with {code}; restarting in {delay}s", file=sys.stderr, flush=True)
            restarts[i] += 1
            time.sleep(delay)
            start(i)
            alive += 1
        if stopping and alive == 0:
            return exit_code
        if exit_code and alive == 0:
            return exit_code
