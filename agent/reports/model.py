"""What a usage report holds: plain values, built by agent.reports.summary, rendered by the
format modules. Times are kept in seconds; renderers show minutes or hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from agent.reports.period import Period
from agent.usage import SessionSettings

SOURCES = ("all", "proxy", "passive")


@dataclass(slots=True)
class Figures:
    """Sums of usage rollup columns for some slice (a user, an app, a day, the department)."""

    active_s: float = 0.0
    work_s: float = 0.0            # of active_s, inside the department's working hours
    requests: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    uploads: int = 0
    violations: int = 0

    def add(self, o: Figures) -> None:
        self.active_s += o.active_s
        self.work_s += o.work_s
        self.requests += o.requests
        self.bytes_up += o.bytes_up
        self.bytes_down += o.bytes_down
        self.uploads += o.uploads
        self.violations += o.violations

    @property
    def non_work_s(self) -> float:
        return max(0.0, self.active_s - self.work_s)


@dataclass(frozen=True, slots=True)
class UserAppRow:
    """Sums over the period for one (user, app, category), read from the store."""

    user: str
    app: str
    category: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class DayRow:
    """Sums for one local day of the department, read from the store."""

    day: int
    figures: Figures
    by_category: dict[str, float]      # active seconds


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A usage-rule finding (threshold crossed once on a day by a user)."""

    rule: str
    date: date
    user: str
    name: str
    category: str
    seconds: float          # active time when the threshold was crossed
    threshold: float
    incident: str | None


@dataclass(slots=True)
class AppUsage:
    app: str
    category: str
    figures: Figures = field(default_factory=Figures)


@dataclass(slots=True)
class UserUsage:
    user: str
    name: str
    figures: Figures = field(default_factory=Figures)
    by_category: dict[str, float] = field(default_factory=dict)   # active seconds
    apps: list[AppUsage] = field(default_factory=list)            # most active first
    findings: list[FindingRow] = field(default_factory=list)


@dataclass(slots=True)
class DayUsage:
    date: date
    figures: Figures = field(default_factory=Figures)
    by_category: dict[str, float] = field(default_factory=dict)   # active seconds


@dataclass(slots=True)
class AppTotal:
    app: str
    category: str
    figures: Figures = field(default_factory=Figures)
    users: int = 0


@dataclass(frozen=True, slots=True)
class DepartmentInfo:
    id: str
    name: str
    timezone: str
    working_days: tuple[str, ...]      # mon .. sun
    work_start: str                    # HH:MM local
    work_end: str

    @property
    def working_hours(self) -> str:
        return f"{days_label(self.working_days)} {self.work_start}-{self.work_end}"


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def days_label(days: tuple[str, ...]) -> str:
    """('mon'..'fri') -> 'Mon-Fri'; gaps are listed: 'Mon, Wed, Fri'."""
    idx = sorted(_DAYS.index(d) for d in days)
    if not idx:
        return "no days"
    if idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 2:
        return f"{_DAYS[idx[0]].title()}-{_DAYS[idx[-1]].title()}"
    return ", ".join(_DAYS[i].title() for i in idx)


@dataclass(slots=True)
class UsageReport:
    department: DepartmentInfo
    period: Period
    source: str                         # all | proxy | passive
    generated: float                    # epoch seconds
    settings: SessionSettings           # how active time was estimated (for the footnote)
    totals: Figures = field(default_factory=Figures)
    categories: list[str] = field(default_factory=list)      # most active first
    users: list[UserUsage] = field(default_factory=list)     # most active first
    days: list[DayUsage] = field(default_factory=list)       # every date of the period
    apps: list[AppTotal] = field(default_factory=list)       # most active first
    findings: list[FindingRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.users and not self.findings
