"""Large uploads are streamed: inspected chunk by chunk while forwarded, and cut off the moment
a block rule fires, so the upstream never receives the whole body; clean ones arrive intact."""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time

import pytest
from harness import ROOT, start_agent, stop

GiB = 1024 ** 3
CHUNK = 1 << 20


class CountingOrigin:
    """HTTP/1.1 origin on loopback that reads request bodies and remembers how much arrived."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests: list[dict] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        rec = {"received": 0, "complete": False, "sha256": None}
        self.requests.append(rec)
        h = hashlib.sha256()
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            head, _, rest = head.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            rec["received"] += len(rest)
            h.update(rest)
            while rec["received"] < length:
                data = conn.recv(1 << 20)
                if not data:
                    return
                rec["received"] += len(data)
                h.update(data)
            rec["complete"], rec["sha256"] = True, h.hexdigest()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def origin():
    o = CountingOrigin()
    yield o
    o.close()


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    d = tmp_path_factory.mktemp("stream")
    rules = d / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "test-local.yaml").write_text(
        "rules:\n  - id: ssn-to-test-origin\n    description: SSNs to the test origin\n"
        "    policy_ref: WC-P17-001 §6\n    severity: high\n    action: block\n"
        "    match: {hosts: ['127.0.0.1'], detections: ['SSN >= 1']}\n")
    (d / "config.yaml").write_text("limits: {max_body_bytes: 1048576}\n")
    # regular mode (no fake internet): plain HTTP to the loopback origin
    a = start_agent(d, None, rules=rules, args=["--config", str(d / "config.yaml")])
    yield a
    stop(a.proc)


def text_block(i: int) -> bytes:
    line = b"%08d quarterly inventory of county road salt and plow schedules, no personal data\n" % i
    return (line * (CHUNK // len(line) + 1))[:CHUNK]


def upload(agent, origin, total: int, plant_at: int | None) -> dict:
    """POST `total` bytes of text through the agent; plant an SSN at byte `plant_at`."""
    s = socket.create_connection(("127.0.0.1", agent.proxy_port))
    s.sendall(b"POST http://127.0.0.1:%d/upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
              b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % (origin.port, origin.port, total))
    sent, reset_after, t_plant, h = 0, None, None, hashlib.sha256()
    i = 0
    try:
        while sent < total:
            block = text_block(i)[: total - sent]
            if plant_at is not None and sent <= plant_at < sent + len(block):
                off = plant_at - sent
                block = block[:off] + b" SSN 219-44-1234 " + block[off + 17:]
                t_plant = time.monotonic()
            s.sendall(block)
            h.update(block)
            sent += len(block)
            i += 1
        s.settimeout(30)
        reply = s.recv(1024)
    except (ConnectionResetError, BrokenPipeError):
        reply, reset_after = b"", time.monotonic() - (t_plant or time.monotonic())
    finally:
        s.close()
    return {"sent": sent, "reply": reply, "reset_after": reset_after, "sha256": h.hexdigest()}


@pytest.mark.slow
def test_1gb_upload_with_ssn_near_the_end_is_cut_off(agent, origin):
    before = len(origin.requests)
    out = upload(agent, origin, GiB, plant_at=GiB - 8 * CHUNK)
    assert out["reset_after"] is not None, f"client was not cut off: {out['reply'][:100]!r}"
    assert out["reset_after"] < 5.0
    time.sleep(1)
    rec = origin.requests[before]
    assert not rec["complete"] and rec["received"] < GiB - 4 * CHUNK
    assert agent.metric("dlp_policy_violations_total", rule="ssn-to-test-origin", action="block") >= 1


@pytest.mark.slow
def test_clean_1gb_upload_arrives_intact(agent, origin):
    before = len(origin.requests)
    out = upload(agent, origin, GiB, plant_at=None)
    assert out["reply"].startswith(b"HTTP/1.1 200")
    rec = origin.requests[before]
    assert rec["complete"] and rec["received"] == GiB and rec["sha256"] == out["sha256"]


def test_64mb_upload_with_ssn_is_cut_off(agent, origin):
    """The same behaviour on a size that fits the fast suite."""
    before = len(origin.requests)
    total = 64 * CHUNK
    out = upload(agent, origin, total, plant_at=total - 3 * CHUNK)
    assert out["reset_after"] is not None and out["reset_after"] < 5.0
    time.sleep(0.5)
    rec = origin.requests[before]
    assert not rec["complete"] and rec["received"] < total - CHUNK


def test_64mb_clean_upload_arrives_intact(agent, origin):
    before = len(origin.requests)
    out = upload(agent, origin, 64 * CHUNK, plant_at=None)
    assert out["reply"].startswith(b"HTTP/1.1 200")
    rec = origin.requests[before]
    assert rec["complete"] and rec["sha256"] == out["sha256"]


def test_ssn_split_across_chunks_is_found(agent, origin):
    before = len(origin.requests)
    total = 8 * CHUNK
    out = upload(agent, origin, total, plant_at=4 * CHUNK - 7)    # straddles a 1 MiB boundary
    assert out["reset_after"] is not None
    time.sleep(0.5)
    assert not origin.requests[before]["complete"]
