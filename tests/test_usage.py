"""Sessionizer: synthetic timelines with hand-computed expectations."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from agent.usage import (
    Schedule,
    Sessionizer,
    SessionSettings,
    Strength,
    classify_request,
    classify_ws_message,
    split,
)

S, W, B = Strength.STRONG, Strength.WEAK, Strength.BACKGROUND
NY = ZoneInfo("America/New_York")


DEFAULT = SessionSettings()


def run(events, settings=DEFAULT, flush_at=None):
    """events: (t, strength[, app[, user]]) -> total seconds per (user, app)."""
    sz = Sessionizer(settings)
    out = []
    for e in events:
        t, st = e[0], e[1]
        app = e[2] if len(e) > 2 else "facebook"
        user = e[3] if len(e) > 3 else "jdoe"
        out += sz.event(t, user, "finance", app, "social_media", st)
    out += sz.flush(flush_at) if flush_at is not None else sz.close_all()
    totals = {}
    for iv in out:
        assert iv.end > iv.start
        totals[(iv.user, iv.app)] = totals.get((iv.user, iv.app), 0) + iv.seconds
    return totals, out


def test_isolated_visit_gets_the_allowance():
    totals, _ = run([(1000, S)])
    assert totals == {("jdoe", "facebook"): 30}


def test_events_within_gap_join():
    # navigations every 60 s for 10 minutes: 600 s between first and last, plus 30 s allowance
    totals, _ = run([(t, S) for t in range(0, 601, 60)])
    assert totals[("jdoe", "facebook")] == 630


def test_gap_splits_runs():
    # 0, 60 | 400 (340 s later > 180 s gap) -> (60 + 30) + 30
    totals, out = run([(0, S), (60, S), (400, S)])
    assert totals[("jdoe", "facebook")] == 120
    assert [(iv.start, iv.end) for iv in out] == [(0, 60), (60, 90), (400, 430)]


def test_allowance_never_overlaps_next_run():
    settings = SessionSettings(gap=10, allowance=30)
    totals, out = run([(0, S), (20, S)], settings)   # 20 s later: new run; first run's allowance cut at 20
    assert totals[("jdoe", "facebook")] == 20 + 30


def test_tab_left_open_all_day_is_not_a_workday():
    # one navigation at 09:00, then the page polls by XHR every 30 s until 17:00
    start = 9 * 3600
    events = [(start, S)] + [(start + t, W) for t in range(30, 8 * 3600, 30)]
    totals, _ = run(events)
    # weak events carry the run 600 s past the last strong event, then the allowance (30 s)
    assert totals[("jdoe", "facebook")] == 630
    assert totals[("jdoe", "facebook")] < 0.05 * 8 * 3600


def test_background_never_counts_and_weak_never_starts_a_run():
    totals, _ = run([(0, B), (10, B), (20, W), (30, W)])
    assert totals == {}


def test_user_activity_keeps_the_run_going_past_the_weak_window():
    # XHR polling, but the person navigates every 5 minutes: all joined
    events = [(0, S)] + [(t, W) for t in range(30, 3600, 30)] + [(t, S) for t in range(300, 3601, 300)]
    totals, _ = run(sorted(events, key=lambda e: (e[0], -e[1].value)))
    assert totals[("jdoe", "facebook")] == 3600 + 30


def test_apps_and_users_are_separate():
    totals, _ = run([(0, S, "facebook"), (10, S, "x"), (20, S, "facebook", "asmith")])
    assert totals == {("jdoe", "facebook"): 30, ("jdoe", "x"): 30, ("asmith", "facebook"): 30}


def test_out_of_order_event_is_not_counted_twice():
    totals, _ = run([(0, S), (100, S), (50, S), (150, S)])
    assert totals[("jdoe", "facebook")] == 150 + 30


def test_flush_closes_only_idle_runs():
    sz = Sessionizer()
    sz.event(0, "a", "d", "x", "social_media", S)
    sz.event(100, "b", "d", "x", "social_media", S)
    closed = sz.flush(250)   # a idle 250 s (> 180): closed; b idle 150 s: kept
    assert [iv.user for iv in closed] == ["a"]
    assert [iv.user for iv in sz.close_all()] == ["b"]


@pytest.mark.parametrize("method,headers,kind,expect", [
    ("GET", {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "sec-fetch-user": "?1"}, None, S),
    ("GET", {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}, None, S),
    ("GET", {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "image"}, None, B),
    ("GET", {"sec-fetch-mode": "cors", "sec-fetch-dest": "script"}, None, B),
    ("POST", {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "empty", "content-type": "text/plain"}, None, B),  # sendBeacon
    ("GET", {"sec-fetch-mode": "cors", "sec-fetch-dest": "empty"}, None, W),        # XHR / long poll
    ("POST", {"sec-fetch-mode": "cors", "sec-fetch-dest": "empty", "content-type": "application/json"}, None, W),
    ("GET", {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "sec-purpose": "prefetch"}, None, B),
    ("GET", {"purpose": "prefetch", "accept": "text/html"}, None, B),
    ("GET", {"accept": "text/html,application/xhtml+xml"}, None, S),                 # no fetch metadata
    ("GET", {"accept": "*/*"}, None, B),
    ("POST", {"sec-fetch-mode": "cors", "sec-fetch-dest": "empty"}, "post", S),      # a known post endpoint
    ("PUT", {}, "upload", S),
])
def test_classify_request(method, headers, kind, expect):
    assert classify_request(method, headers, is_upload=kind == "upload", is_post=kind == "post") is expect


@pytest.mark.parametrize("from_client,content,expect", [
    (True, b'{"type":"message","channel":"C024BE91L","text":"see you at the meeting at 3"}', S),
    (True, b'{"type":"ping","id":42}', B),
    (True, b'{"op":1,"d":251}', B),
    (True, b'{"op": 1, "d": 251, "padding": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}', B),
    (False, b'{"type":"message","channel":"C024BE91L","text":"a reply from someone else"}', B),
    (True, b"2", B),
])
def test_classify_ws_message(from_client, content, expect):
    assert classify_ws_message(from_client, content, SessionSettings()) is expect


def ts(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=NY).timestamp()


def test_split_at_hours_and_working_edges():
    sched = Schedule("America/New_York", frozenset({0, 1, 2, 3, 4}), time(8, 30), time(17, 0))
    # Thursday 2026-11-26 08:00 -> 09:15 local
    pieces = list(split(ts(2026, 11, 26, 8, 0), ts(2026, 11, 26, 9, 15), sched))
    assert [(p.seconds, p.working) for p in pieces] == [(1800, False), (1800, True), (900, True)]
    assert sum(p.seconds for p in pieces) == 75 * 60


def test_split_weekend_is_non_working_and_crosses_midnight():
    sched = Schedule()
    pieces = list(split(ts(2026, 11, 28, 23, 30), ts(2026, 11, 29, 0, 30), sched))   # Sat -> Sun
    assert all(not p.working for p in pieces) and sum(p.seconds for p in pieces) == 3600
    assert len(pieces) == 2


def test_split_dst_change():
    # 2026-11-01 01:30 EDT -> 01:30 EST is two real hours
    start = datetime(2026, 11, 1, 5, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    pieces = list(split(start, start + 7200, Schedule()))
    assert sum(p.seconds for p in pieces) == 7200
