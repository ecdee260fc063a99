"""Estimated active time: which requests a person caused, and how they join into use.

Pure and deterministic (timestamps in, intervals out). The method, as the README states it
for supervisors:

* A **strong** event is something a person did: a page navigation (``Sec-Fetch-Mode:
  navigate``; for clients without Fetch Metadata, a GET that accepts text/html), an upload
  or a post, a form submission, a WebSocket message the person's client sent (not heartbeats).
* A **weak** event is script traffic of an open page (``fetch``/XHR without navigation). It
  keeps a run of use going, but only within ``weak_window`` of the last strong event, so a tab
  left open all day stops counting ``weak_window`` after the person last did something.
* **Background** traffic never counts: images, scripts, styles, fonts, prefetch and prerender,
  beacons (``sendBeacon``/``ping``), heartbeat messages, server pushes.
* Consecutive events of one person in one application closer than ``gap`` (default 3 min)
  form one run of use; the time between them counts. Each run ends with an ``allowance``
  (default 30 s) - the reading time after the last action - so an isolated visit counts as
  the allowance alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo


class Strength(Enum):
    STRONG = 2
    WEAK = 1
    BACKGROUND = 0


@dataclass(frozen=True, slots=True)
class SessionSettings:
    gap: float = 180.0            # seconds between events that still join one run
    allowance: float = 30.0       # seconds credited after the last event of a run
    weak_window: float = 600.0    # weak events extend a run only this long after a strong one
    min_ws_message: int = 40      # client WebSocket messages shorter than this are heartbeats

    def __post_init__(self) -> None:
        if self.gap <= 0 or self.allowance < 0 or self.weak_window < 0:
            raise ValueError("gap must be > 0; allowance and weak_window >= 0")


_BACKGROUND_DEST = frozenset({
    "image", "script", "style", "font", "audio", "video", "track", "manifest", "worker",
    "sharedworker", "serviceworker", "object", "embed", "report", "xslt", "paintworklet",
    "audioworklet", "webidentity",
})
# Application-level keep-alives: Slack {"type":"ping"}, Discord {"op":1}, socket.io "2"/"3".
_HEARTBEAT = re.compile(
    rb'"(type|op|event|cmd)"\s*:\s*("?(ping|pong|heartbeat|keepalive|hb)"?|1)\b|^\s*(ping|pong|2|3)\s*$', re.I)


def classify_request(method: str, headers: Mapping[str, str], *, is_upload: bool = False,
                     is_post: bool = False) -> Strength:
    """How much a request says about a person being there. ``headers`` keys lower-case."""
    if is_upload or is_post:
        return Strength.STRONG
    purpose = (headers.get("sec-purpose") or headers.get("purpose") or "").lower()
    if "prefetch" in purpose or "prerender" in purpose:
        return Strength.BACKGROUND
    mode = headers.get("sec-fetch-mode", "").lower()
    dest = headers.get("sec-fetch-dest", "").lower()
    if mode or dest:
        if headers.get("sec-fetch-user") == "?1" or mode == "navigate":
            return Strength.STRONG if dest in ("", "document", "iframe", "frame") else Strength.WEAK
        if dest in _BACKGROUND_DEST or mode == "no-cors":   # subresources, sendBeacon, <a ping>
            return Strength.BACKGROUND
        if dest == "empty" and mode in ("cors", "same-origin"):
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                ctype = headers.get("content-type", "").lower()
                # Form submissions by script are a person acting; text/plain POSTs are beacons.
                return Strength.BACKGROUND if ctype.startswith("text/plain") else Strength.WEAK
            return Strength.WEAK
        return Strength.BACKGROUND
    # No Fetch Metadata (older browsers, apps): a page load is a GET for HTML.
    accept = headers.get("accept", "").lower()
    if method.upper() == "GET" and "text/html" in accept:
        return Strength.STRONG
    if method.upper() == "POST" and headers.get("content-type", "").lower().startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        return Strength.STRONG
    return Strength.BACKGROUND


def classify_ws_message(from_client: bool, content: bytes, settings: SessionSettings) -> Strength:
    if not from_client or len(content) < settings.min_ws_message or _HEARTBEAT.search(content[:200]):
        return Strength.BACKGROUND
    return Strength.STRONG


@dataclass(frozen=True, slots=True)
class Interval:
    """A stretch of estimated active use by one person in one application."""

    user: str
    department: str
    app: str
    category: str
    start: float
    end: float
    passive: bool = False

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(slots=True)
class _Run:
    department: str
    category: str
    last_event: float
    last_strong: float


@dataclass
class Sessionizer:
    """Turns a time-ordered stream of events into active intervals, per (user, app).

    Intervals are emitted as soon as they are known (the time between two joined events at
    the second event; the allowance when the run closes), so metrics move while people work.
    """

    settings: SessionSettings = field(default_factory=SessionSettings)
    passive: bool = False
    _runs: dict[tuple[str, str], _Run] = field(default_factory=dict)

    def event(self, t: float, user: str, department: str, app: str, category: str,
              strength: Strength) -> list[Interval]:
        if strength is Strength.BACKGROUND:
            return []
        s = self.settings
        key = (user, app)
        run = self._runs.get(key)
        out: list[Interval] = []
        if run is not None:
            if t < run.last_event:        # out of order (clock or concurrency): already counted
                if strength is Strength.STRONG:
                    run.last_strong = max(run.last_strong, t)
                return out
            joins = t - run.last_event <= s.gap and (
                strength is Strength.STRONG or t - run.last_strong <= s.weak_window)
            if joins:
                if t > run.last_event:
                    out.append(Interval(user, run.department, app, run.category, run.last_event, t, self.passive))
                run.last_event = t
                if strength is Strength.STRONG:
                    run.last_strong = t
                return out
            out.extend(self._close(key, run, limit=t))
        if strength is Strength.STRONG:
            self._runs[key] = _Run(department, category, t, t)
        return out

    def _close(self, key: tuple[str, str], run: _Run, limit: float | None = None) -> list[Interval]:
        del self._runs[key]
        end = run.last_event + self.settings.allowance
        if limit is not None:
            end = min(end, limit)     # the next run starts at `limit`: never count time twice
        if end <= run.last_event:
            return []
        return [Interval(key[0], run.department, key[1], run.category, run.last_event, end, self.passive)]

    def flush(self, now: float) -> list[Interval]:
        """Close runs that can no longer be joined (idle for longer than ``gap``)."""
        out: list[Interval] = []
        for key, run in list(self._runs.items()):
            if now - run.last_event > self.settings.gap:
                out.extend(self._close(key, run))
        return out

    def close_all(self) -> list[Interval]:
        out: list[Interval] = []
        for key, run in list(self._runs.items()):
            out.extend(self._close(key, run))
        return out


# ---------------------------------------------------------------- working hours and rollups

@dataclass(frozen=True, slots=True)
class Schedule:
    """A department's working hours in its time zone."""

    timezone: str = "America/New_York"
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})   # Monday = 0
    start: time = time(8, 0)
    end: time = time(17, 0)

    def is_working(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of an interval inside one UTC hour, entirely working or non-working time."""

    start: float         # epoch seconds where this piece begins
    hour: int            # epoch seconds of the UTC hour start
    seconds: float
    working: bool


def split(start: float, end: float, schedule: Schedule) -> Iterator[Piece]:
    """Split [start, end) at UTC hour boundaries and at the schedule's working-hour edges."""
    tz = ZoneInfo(schedule.timezone)
    t = start
    while t < end:
        hour = int(t // 3600 * 3600)
        nxt = min(end, hour + 3600)
        local = datetime.fromtimestamp(t, tz)
        working = schedule.is_working(local)
        # next working-hours edge after t, in local time
        for edge in (schedule.start, schedule.end):
            e = datetime.combine(local.date(), edge, tz).timestamp()
            if t < e < nxt:
                nxt = e
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tz).timestamp()
        if t < midnight < nxt:
            nxt = midnight
        yield Piece(t, hour, nxt - t, working)
        t = nxt


def total_by(intervals: Iterable[Interval], key) -> dict:
    out: dict = {}
    for iv in intervals:
        k = key(iv)
        out[k] = out.get(k, 0.0) + iv.seconds
    return out
