"""Report periods: inclusive ranges of local calendar dates, as the store's ``day`` numbers.

The store keys usage by ``day`` = days since 1970-01-01 of the *local* date in the department's
time zone (see agent/usage_rollup.local_day), so a period is simply two day numbers; no time
zone arithmetic happens at query time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MAX_DAYS = 366          # a report spans at most a year: bounds query cost and page size


def day_number(d: date) -> int:
    return d.toordinal() - EPOCH_ORDINAL


def day_date(n: int) -> date:
    return date.fromordinal(n + EPOCH_ORDINAL)


def parse_date(text: str, what: str) -> date:
    """An ISO date (2026-11-27); ValueError naming ``what`` otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{what}: cannot read date {text!r}; write it as YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates ``first`` .. ``last``, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the period ends ({self.last}) before it starts ({self.first})")
        if self.days > MAX_DAYS:
            raise ValueError(f"the period is {self.days} days long; at most {MAX_DAYS} are allowed")

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        return cls(parse_date(first, "from"), parse_date(last, "to"))

    @classmethod
    def ending_today(cls, days: int, timezone: str, now: float | None = None) -> Period:
        """The ``days`` local dates up to and including today in ``timezone``."""
        now_dt = datetime.now(ZoneInfo(timezone)) if now is None else \
            datetime.fromtimestamp(now, ZoneInfo(timezone))
        today = now_dt.date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def first_day(self) -> int:
        return day_number(self.first)

    @property
    def last_day(self) -> int:
        return day_number(self.last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def dates(self) -> Iterator[date]:
        for i in range(self.days):
            yield self.first + timedelta(days=i)

    def __str__(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"
