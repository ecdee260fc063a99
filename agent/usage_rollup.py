"""Usage accounting between the proxy and the store: sessionized active time and counters,
rolled up per (department, local day, user, app, UTC hour), plus daily usage rules.

Pure and synchronous: the addon calls ``request`` / ``response`` / ``ws_message`` on the event
loop (cheap dictionary updates) and periodically ``drain(now)``, whose result it hands to the
store's writer thread. Nothing here waits on disk.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.policy.model import UsageRuleSpec
from agent.usage import Interval, Schedule, Sessionizer, SessionSettings, Strength, split

DAY = 86400


@dataclass(slots=True)
class UsageDelta:
    """Additions to one rollup row (department, day, user, app, hour, source)."""

    department: str
    day: int
    user: str
    app: str
    hour: int
    source: str
    category: str
    active_s: float = 0.0
    active_work_s: float = 0.0
    requests: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    uploads: int = 0
    violations: int = 0


@dataclass(frozen=True, slots=True)
class UsageFinding:
    rule: str
    day: int
    user: str
    department: str
    category: str
    seconds: float
    threshold: float
    time: float
    incident: str | None = None


def local_day(t: float, tz: str) -> int:
    """Days since 1970-01-01 of the local calendar date at ``t`` in ``tz``."""
    d = datetime.fromtimestamp(t, ZoneInfo(tz)).date()
    return d.toordinal() - 719163   # date(1970, 1, 1).toordinal()


@dataclass
class Drained:
    deltas: list[UsageDelta] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    findings: list[UsageFinding] = field(default_factory=list)


class UsageAccumulator:
    def __init__(self, schedule_for: Callable[[str], Schedule], settings: SessionSettings | None = None,
                 usage_rules: Iterable[UsageRuleSpec] = (), source: str = "proxy"):
        self.schedule_for = schedule_for
        self.sessions = Sessionizer(settings or SessionSettings(), passive=source == "passive")
        self.source = source
        self.usage_rules = list(usage_rules)
        self._rows: dict[tuple, UsageDelta] = {}
        self._intervals: list[Interval] = []
        self._findings: list[UsageFinding] = []
        self._daily: dict[tuple[str, str, int], float] = {}   # (rule, user, day) -> seconds
        self._fired: set[tuple[str, str, int]] = set()

    def set_rules(self, usage_rules: Iterable[UsageRuleSpec]) -> None:
        self.usage_rules = list(usage_rules)

    def seed(self, rule: str, user: str, day: int, seconds: float, fired: bool) -> None:
        """Restore today's totals after a restart (from the store) so thresholds stay right."""
        self._daily[(rule, user, day)] = seconds
        if fired:
            self._fired.add((rule, user, day))

    # ---------------------------------------------------------------- events
    def _row(self, t: float, user: str, department: str, app: str, category: str) -> UsageDelta:
        tz = self.schedule_for(department).timezone
        key = (department, user, app, int(t // 3600))
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = UsageDelta(department, local_day(t, tz), user, app, int(t // 3600),
                                               self.source, category)
        return row

    def request(self, t: float, user: str, department: str, app: str, category: str,
                strength: Strength, bytes_up: int = 0, upload: bool = False, violation: bool = False) -> None:
        row = self._row(t, user, department, app, category)
        row.requests += 1
        row.bytes_up += bytes_up
        row.uploads += int(upload)
        row.violations += int(violation)
        self._active(self.sessions.event(t, user, department, app, category, strength))

    def response(self, t: float, user: str, department: str, app: str, category: str, n: int) -> None:
        if n:
            self._row(t, user, department, app, category).bytes_down += n

    def connection(self, t: float, user: str, department: str, app: str, category: str,
                   bytes_up: int, bytes_down: int, active_seconds: float) -> None:
        """A connection seen by the passive monitor: counted once, its active time placed at
        its start (the monitor measures activity per connection, not per request)."""
        row = self._row(t, user, department, app, category)
        row.requests += 1
        row.bytes_up += bytes_up
        row.bytes_down += bytes_down
        if active_seconds > 0:
            self._active([Interval(user, department, app, category, t, t + active_seconds, passive=True)])

    def activity(self, t: float, user: str, department: str, app: str, category: str,
                 strength: Strength) -> None:
        """An event that is not a request (a WebSocket message, a passive connection)."""
        self._active(self.sessions.event(t, user, department, app, category, strength))

    def _active(self, intervals: list[Interval]) -> None:
        for iv in intervals:
            self._intervals.append(iv)
            sched = self.schedule_for(iv.department)
            work = 0.0
            for piece in split(iv.start, iv.end, sched):
                row = self._row(piece.start, iv.user, iv.department, iv.app, iv.category)
                row.active_s += piece.seconds
                if piece.working:
                    row.active_work_s += piece.seconds
                    work += piece.seconds
            self._apply_rules(iv, work)

    def _apply_rules(self, iv: Interval, work_seconds: float) -> None:
        for rule in self.usage_rules:
            if not rule.counts(iv.app, iv.category):
                continue
            sched = self.schedule_for(iv.department)
            day = local_day(iv.start, sched.timezone)
            key = (rule.id, iv.user, day)
            add = work_seconds if rule.period == "working_hours" else iv.seconds
            total = self._daily.get(key, 0.0) + add
            self._daily[key] = total
            limit = rule.max_minutes_per_day * 60
            if total > limit and key not in self._fired:
                self._fired.add(key)
                self._findings.append(UsageFinding(rule.id, day, iv.user, iv.department, iv.category,
                                                   total, limit, _time.time()))

    # ---------------------------------------------------------------- output
    def drain(self, now: float) -> Drained:
        """Close idle runs and hand over everything accumulated since the last drain."""
        self._active(self.sessions.flush(now))
        out = Drained(list(self._rows.values()), self._intervals, self._findings)
        self._rows, self._intervals, self._findings = {}, [], []
        # Forget daily totals of days that are over everywhere (UTC-14 .. UTC+14 margin).
        horizon = int(now // DAY) - 2
        for key in [k for k in self._daily if k[2] < horizon]:
            self._daily.pop(key, None)
            self._fired.discard(key)
        return out

    def close(self) -> Drained:
        self._active(self.sessions.close_all())
        return self.drain(_time.time())
