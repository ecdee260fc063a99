"""Figures for the incident store (not a test): commit latency and throughput, FULL vs NORMAL.

    .venv/bin/python bench/bench_store.py [DIR]

DIR should be on the disk the agent will use (fsync cost is the point); default: a temp dir.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
from incident_factory import build_incident  # noqa: E402

from agent.store import Store, db


def one_at_a_time(path: Path, n: int) -> list[float]:
    """Submit, wait for the commit, repeat: the latency a lone block page waits for."""
    out = []
    with Store.open(path) as s:
        for _ in range(n):
            inc = build_incident()
            t0 = time.perf_counter()
            s.submit_incident(inc).result()
            out.append(time.perf_counter() - t0)
    return out


def storm(path: Path, threads: int, per_thread: int) -> tuple[float, int, float]:
    """Many concurrent submitters: incidents/s, transactions used, mean submit() call time."""
    submit_times: list[float] = []
    lock = threading.Lock()
    with Store.open(path) as s:
        def work() -> None:
            futs, spent = [], 0.0
            for _ in range(per_thread):
                inc = build_incident()
                t0 = time.perf_counter()
                futs.append(s.submit_incident(inc))
                spent += time.perf_counter() - t0
            wait(futs)
            with lock:
                submit_times.append(spent / per_thread)
        t0 = time.perf_counter()
        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.perf_counter() - t0
        batches = s.stats().batches
    return threads * per_thread / elapsed, batches, statistics.mean(submit_times)


def main() -> None:
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    for mode in ("FULL", "NORMAL"):
        db.SYNCHRONOUS = mode        # the shipped setting is FULL; NORMAL only for comparison
        lat = sorted(one_at_a_time(base / f"lat-{mode}.db", 300))
        rate, batches, submit = storm(base / f"storm-{mode}.db", 8, 1250)
        print(f"synchronous={mode}: lone commit p50 {lat[len(lat) // 2] * 1e3:.2f} ms, "
              f"p99 {lat[int(len(lat) * 0.99)] * 1e3:.2f} ms; storm of 10000 from 8 threads: "
              f"{rate:,.0f} incidents/s in {batches} transactions, "
              f"submit() {submit * 1e6:.1f} us per call")


if __name__ == "__main__":
    main()
