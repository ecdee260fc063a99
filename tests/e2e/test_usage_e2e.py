"""Usage end to end: browsing-like traffic (navigations, subresources, beacons, XHR, a
WebSocket) through a real `dlp-agent run`; the store and /metrics must match hand-computed
active time. Short gap/allowance settings make the timeline take seconds, not minutes."""

from __future__ import annotations

import sqlite3
import time

import pytest
from harness import send, start_agent, stop
from wsecho import ProxiedClient

GAP, ALLOWANCE, WEAK = 3.0, 1.0, 2.0
AUTH = ("jdoe", "pw")


@pytest.fixture(scope="module")
def agent(tmp_path_factory, fakenet):
    d = tmp_path_factory.mktemp("usage")
    (d / "directory.yaml").write_text(
        "departments:\n  finance:\n    name: Finance\n    timezone: America/New_York\n"
        "    working_hours: {days: [mon, tue, wed, thu, fri, sat, sun], start: '00:00', end: '23:59:59'}\n"
        "users:\n  jdoe: {department: finance}\n")
    (d / "config.yaml").write_text(
        f"usage: {{gap_seconds: {GAP}, allowance_seconds: {ALLOWANCE}, weak_window_seconds: {WEAK}, "
        "flush_seconds: 0.3}\n")
    a = start_agent(d, fakenet, args=["--set", "proxyauth=any", "--config", str(d / "config.yaml"),
                                      "--directory", str(d / "directory.yaml")])
    yield a
    stop(a.proc)


NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1",
       "Accept": "text/html"}
IMG = {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image", "Accept": "image/avif,image/*"}
BEACON = {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty", "Content-Type": "text/plain;charset=UTF-8"}
XHR = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Accept": "application/json"}


def at(t0: float, offset: float) -> None:
    delay = t0 + offset - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def rollup(agent, app: str) -> dict:
    conn = sqlite3.connect(f"file:{agent.db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    row = conn.execute(
        "SELECT sum(active_s) a, sum(active_work_s) w, sum(requests) r, sum(bytes_up) bu, "
        "sum(bytes_down) bd, sum(uploads) up, sum(violations) v FROM usage_hourly u "
        "JOIN names nu ON nu.id = u.user_id JOIN names na ON na.id = u.app_id "
        "WHERE nu.name = 'jdoe' AND na.name = ?", (app,)).fetchone()
    conn.close()
    return dict(row)


def wait_for(cond, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("not reached in time")


def test_browsing_timeline(agent):
    t0 = time.monotonic()
    send(agent, "GET", "https://www.facebook.com/page1", headers=NAV, auth=AUTH)              # strong, t=0
    at(t0, 0.5); send(agent, "GET", "https://static.xx.fbcdn.net/rsrc.php/logo.png", headers=IMG, auth=AUTH)
    at(t0, 0.7); send(agent, "POST", "https://www.facebook.com/ajax/bz", b"evt=scroll", headers=BEACON, auth=AUTH)
    at(t0, 1.0); send(agent, "GET", "https://www.facebook.com/api/notifications", headers=XHR, auth=AUTH)  # weak
    at(t0, 2.0); send(agent, "GET", "https://www.facebook.com/page2", headers=NAV, auth=AUTH)  # strong, t=2
    # only background traffic to another app: never active
    send(agent, "GET", "https://pbs.twimg.com/media/a.jpg", headers=IMG, auth=AUTH)
    # the run closes GAP after its last event; then one flush writes the allowance
    time.sleep(GAP + 1.0)
    row = rollup(agent, "facebook")
    expected = 2.0 + ALLOWANCE
    assert expected - 0.3 <= row["a"] <= expected + 0.4, row
    assert row["w"] == pytest.approx(row["a"])            # all inside the configured working hours
    assert row["r"] == 5 and row["up"] == 0 and row["v"] == 0   # fbcdn.net is Facebook too
    assert row["bu"] == len(b"evt=scroll") and row["bd"] > 4000   # two 2 KB pages came back
    assert (rollup(agent, "x")["a"] or 0) == 0
    metric = agent.metric("dlp_active_seconds_total", app="facebook", category="social_media", department="finance")
    assert metric == pytest.approx(row["a"], abs=0.01)
    assert agent.metric("dlp_department_requests_total", department="finance", category="social_media") == 6


def test_websocket_messages_count_and_confidential_ones_are_dropped(agent, wsecho):
    ws = ProxiedClient(agent.proxy_port, str(agent.ca), "gateway.discord.gg", "/?v=10", auth=AUTH)
    try:
        t0 = time.monotonic()
        chat = '{"op": 0, "t": "MESSAGE_CREATE", "d": {"content": "lunch at noon in the cafeteria?"}}'
        ws.send(chat)                                                  # strong, t=0
        assert ws.recv() == b"echo:" + chat.encode()
        at(t0, 1.0); ws.send('{"op":1,"d":42}')                        # heartbeat: background
        assert ws.recv() == b'echo:{"op":1,"d":42}'
        at(t0, 2.0); ws.send(chat.replace("noon", "one"))              # strong, t=2
        assert ws.recv() is not None
        leak = '{"op": 0, "d": {"content": "client SSN is 219-44-1234, please update"}}'
        ws.send(leak)
        assert ws.recv(timeout=2) is None                              # dropped by the agent
        assert leak.encode() not in wsecho.received
    finally:
        ws.close()
    time.sleep(GAP + 1.0)
    row = rollup(agent, "discord")
    # chat at 0 and 2 (the leak at ~2.1 is also the person acting), plus the allowance
    assert 2.0 + ALLOWANCE - 0.3 <= row["a"] <= 2.3 + ALLOWANCE + 0.4, row
    assert agent.metric("dlp_policy_violations_total", rule="social-confidential", action="block") >= 1
    assert agent.metric("dlp_websocket_messages_total", app="discord", category="messaging", action="block") == 1
