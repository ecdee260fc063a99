"""Large-body benchmark (issue 7): in one run, print
  * peak RSS of the proxy during a 2 GB streamed upload (target <= 150 MB),
  * browsing requests/s of `dlp-agent run` vs plain `mitmdump` (target >= 1.0x),
  * p50/p99 latency of small requests while a 100 MB document is being inspected.

Run: .venv/bin/python bench/bench_large.py   (needs wrk; about 3 minutes)
"""

from __future__ import annotations

import io
import socket
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from bench_proxy import BIN, start, wrk_rps  # noqa: E402
from harness import free_port, stop  # noqa: E402

GiB = 1024 ** 3
PROSE = (b"The county board reviewed the winter road plan, the library hours and the park "
         b"maintenance schedule, and residents asked about permits and bus routes. ") * 8000


def peak_rss_kb(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def stream_upload(proxy_port: int, origin_port: int, total: int) -> float:
    s = socket.create_connection(("127.0.0.1", proxy_port))
    s.sendall(b"POST http://127.0.0.1:%d/big HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\n"
              b"Content-Length: %d\r\n\r\n" % (origin_port, origin_port, total))
    t, sent = time.monotonic(), 0
    while sent < total:
        block = PROSE[: total - sent]
        s.sendall(block)
        sent += len(block)
    s.settimeout(120)
    reply = s.recv(100)
    s.close()
    if not reply.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"upload answered {reply[:60]!r}")
    return time.monotonic() - t


def big_docx(size: int) -> bytes:
    para = b"<w:p><w:r><w:t>" + PROSE[:2000] + b"</w:t></w:r></w:p>"
    body = b"".join([b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>',
                     para * (size // len(para)), b"</w:body></w:document>"])
    import docx

    tmpl = io.BytesIO()
    docx.Document().save(tmpl)
    out = io.BytesIO()
    with zipfile.ZipFile(tmpl) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = body if item.filename == "word/document.xml" else src.read(item.filename)
            dst.writestr(item.filename, data)
    return out.getvalue()


def small_get(proxy_port: int, up_port: int) -> float:
    s = socket.create_connection(("127.0.0.1", proxy_port))
    t = time.perf_counter()
    s.sendall(b"GET http://127.0.0.1:%d/page HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/html\r\n"
              b"Connection: close\r\n\r\n" % (up_port, up_port))
    while s.recv(65536):
        pass
    s.close()
    return time.perf_counter() - t


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-large-"))
    up, agent_port, dump_port = free_port(), free_port(), free_port()
    (tmp / "config.yaml").write_text("limits: {max_body_bytes: 134217728, max_seconds: 30}\n")
    procs = [start([str(BIN / "python"), str(ROOT / "bench" / "upstream.py"), str(up)], up, tmp / "up.log")]
    try:
        agent = start([str(BIN / "dlp-agent"), "run", "-q", "--listen-port", str(agent_port), "--metrics-port", "0",
                       "--db", str(tmp / "dlp.sqlite"), "--confdir", str(tmp / "ca"), "--config",
                       str(tmp / "config.yaml")], agent_port, tmp / "agent.log")
        procs.append(agent)
        dump = start([str(BIN / "mitmdump"), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(dump_port),
                      "--set", f"confdir={tmp / 'ca2'}"], dump_port, tmp / "dump.log")
        procs.append(dump)

        # 1. 2 GB streamed upload: peak RSS of the proxy process (and of its inspection workers)
        base_rss = peak_rss_kb(agent.pid)
        secs = stream_upload(agent_port, up, 2 * GiB)
        rss = peak_rss_kb(agent.pid)
        kids = sum(peak_rss_kb(c) for c in children(agent.pid))
        print(f"2 GiB streamed upload in {secs:.1f} s ({2 * GiB / secs / 1e6:.0f} MB/s): proxy peak RSS "
              f"{rss / 1024:.0f} MiB (before: {base_rss / 1024:.0f} MiB)  [target <= 150 MiB: "
              f"{'PASS' if rss / 1024 <= 150 else 'FAIL'}]; inspection worker processes: {kids / 1024:.0f} MiB total")

        # 2. browsing requests/s, agent vs mitmdump, alternating
        wrk_rps(dump_port, up, tmp, 2)
        wrk_rps(agent_port, up, tmp, 2)
        a, d = [], []
        for _ in range(3):
            d.append(wrk_rps(dump_port, up, tmp))
            a.append(wrk_rps(agent_port, up, tmp))
        ratio = statistics.median(a) / statistics.median(d)
        print(f"browsing: mitmdump {statistics.median(d):.0f} req/s, dlp-agent {statistics.median(a):.0f} req/s -> "
              f"{ratio:.2f}x  [target >= 1.0x: {'PASS' if ratio >= 1.0 else 'FAIL'}]")

        # 3. small requests while a 100 MB document is inspected
        doc = big_docx(100 * 1024 * 1024)
        base = [small_get(agent_port, up) for _ in range(30)]
        done = {}

        def upload() -> None:
            s = socket.create_connection(("127.0.0.1", agent_port))
            t = time.monotonic()
            s.sendall(b"POST http://127.0.0.1:%d/doc HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.openxmlformats-"
                      b"officedocument.wordprocessingml.document\r\nContent-Length: %d\r\n\r\n" % (up, len(doc)) + doc)
            s.settimeout(300)
            s.recv(100)
            done["s"] = time.monotonic() - t
            s.close()

        th = threading.Thread(target=upload)
        th.start()
        time.sleep(1.0)
        during = []
        while th.is_alive():
            during.append(small_get(agent_port, up))
        th.join()
        during.sort()
        p = lambda xs, q: sorted(xs)[min(len(xs) - 1, int(len(xs) * q))] * 1000  # noqa: E731
        print(f"small requests: idle p50 {p(base, .5):.1f} ms p99 {p(base, .99):.1f} ms; while a "
              f"{len(doc) / 1e6:.0f} MB docx was inspected ({done.get('s', 0):.1f} s, {len(during)} requests): "
              f"p50 {p(during, .5):.1f} ms p99 {p(during, .99):.1f} ms")
    finally:
        for pr in procs:
            stop(pr)


if __name__ == "__main__":
    main()
