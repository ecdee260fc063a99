"""A large document being inspected must not stall everyone else's browsing: inspection runs
off the event loop, and small requests are not queued behind large bodies."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from harness import send, start_agent, stop

BOUND_P99 = 1.0    # seconds: small requests while a multi-second PDF inspection runs


def big_pdf(pages: int = 1500) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    for p in range(pages):
        pdf.add_page()
        for line in range(50):
            pdf.cell(0, 5, f"Page {p} line {line}: the county board reviewed budget plans for parks",
                     new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def agent(tmp_path_factory, fakenet):
    a = start_agent(tmp_path_factory.mktemp("latency"), fakenet)
    yield a
    stop(a.proc)


def small_latencies(agent, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        r = send(agent, "GET", f"https://www.example.com/page-latency-{i}", headers={"Accept": "text/html"})
        assert r.status == 200
        out.append(time.perf_counter() - t)
    return out


def test_small_requests_are_not_stalled_by_a_large_pdf(agent):
    pdf = big_pdf()
    baseline = small_latencies(agent, 15)
    done = {}

    def upload():
        t = time.perf_counter()
        r = send(agent, "POST", "https://files.example.org/archive", pdf, {"Content-Type": "application/pdf"},
                 timeout=120)
        done["status"], done["seconds"] = r.status, time.perf_counter() - t

    th = threading.Thread(target=upload)
    th.start()
    time.sleep(0.3)                  # the PDF is being inspected now
    during = []
    while th.is_alive() and len(during) < 200:
        during += small_latencies(agent, 1)
    th.join()
    assert done["status"] == 200 and done["seconds"] > 1.0, done   # it really took a while
    assert len(during) >= 5
    p50, p99 = statistics.median(during), sorted(during)[max(0, int(len(during) * 0.99) - 1)]
    print(f"baseline p50 {statistics.median(baseline) * 1000:.0f} ms; during a {done['seconds']:.1f} s PDF "
          f"inspection: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms over {len(during)} requests")
    assert p99 < BOUND_P99
