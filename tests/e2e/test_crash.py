"""Crash safety: SIGKILL the agent while 1,000 violating uploads are in flight; after a
restart, every client that was shown a block page finds its incident in the store, and the
database passes its integrity check."""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import start_agent, stop
from test_inline import send

N, CONCURRENCY = 1000, 24


def test_sigkill_under_load_loses_no_acknowledged_incident(tmp_path, fakenet):
    a = start_agent(tmp_path, fakenet, args=["--set", "proxyauth=any"])
    acked: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def one(i: int) -> None:
        if killed.is_set():
            return
        try:
            r = send(a, "POST", "https://content.dropboxapi.com/2/files/upload", b"report %d" % i,
                     {"Content-Type": "application/octet-stream", "Accept": "application/json"}, timeout=10)
        except (OSError, http.client.HTTPException):
            # the agent died under this request (before or while its answer was read, e.g.
            # IncompleteRead of a block page): nothing was acknowledged
            return
        if r.status == 403:
            with lock:
                acked.append(json.loads(r.body)["incident_id"])

    def killer() -> None:
        while len(acked) < N // 3:
            time.sleep(0.01)
        a.proc.send_signal(signal.SIGKILL)
        killed.set()

    k = threading.Thread(target=killer)
    k.start()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(N)))
    k.join()
    a.proc.wait(10)
    assert a.proc.returncode == -signal.SIGKILL
    assert len(acked) >= N // 3

    # restart on the same database: it opens, and every acknowledged incident is there
    b = start_agent(tmp_path, fakenet, args=["--set", "proxyauth=any"])
    try:
        conn = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT id FROM incidents")}
        conn.close()
        missing = [i for i in acked if i not in stored]
        assert not missing, f"{len(missing)} acknowledged incidents lost, e.g. {missing[:3]}"
        print(f"{len(acked)} block pages before the kill; all {len(acked)} incidents present "
              f"({len(stored)} stored in all)")
    finally:
        stop(b.proc)
