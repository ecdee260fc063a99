"""Pure pieces of the reports: periods, formatting, CSV formula guard, chart scales, summary."""

from __future__ import annotations

from datetime import date

import pytest

from agent.reports.charts import nice_step, palette
from agent.reports.csv_report import safe_text
from agent.reports.fmt import hm, hours_label, minutes
from agent.reports.model import DayRow, DepartmentInfo, Figures, UserAppRow, days_label
from agent.reports.period import Period, day_date, day_number
from agent.reports.summary import build_report
from agent.usage_rollup import local_day


@pytest.mark.parametrize(("first", "last", "days"), [
    ("2026-11-02", "2026-11-02", 1), ("2026-11-02", "2026-11-08", 7),
    ("2026-02-27", "2026-03-02", 4), ("2025-12-31", "2026-01-01", 2),
])
def test_period_days(first, last, days):
    p = Period.parse(first, last)
    assert p.days == days == len(list(p.dates()))
    assert p.last_day - p.first_day == days - 1


def test_day_numbers_match_the_store():
    # the store's `day` comes from agent.usage_rollup.local_day: same numbering
    t = 1792983600.0        # 2026-10-26T03:00Z = 2026-10-25 23:00 in New York
    assert day_date(local_day(t, "America/New_York")) == date(2026, 10, 25)
    assert day_date(local_day(t, "UTC")) == date(2026, 10, 26)
    assert day_number(date(1970, 1, 2)) == 1


def test_period_ending_today_uses_the_department_time_zone():
    t = 1792983600.0        # still the 25th in New York, already the 26th in UTC
    assert Period.ending_today(7, "America/New_York", now=t).last == date(2026, 10, 25)
    assert Period.ending_today(7, "UTC", now=t) == Period(date(2026, 10, 20), date(2026, 10, 26))


@pytest.mark.parametrize(("seconds", "text", "label"), [
    (0, "0:00", "0 min"), (29, "0:00", "0 min"), (30, "0:00", "0 min"), (31, "0:01", "1 min"),
    (3599, "1:00", "1 h 00 min"), (3660, "1:01", "1 h 01 min"), (8700, "2:25", "2 h 25 min"),
    (90000, "25:00", "25 h 00 min"), (359_999, "100:00", "100 h"),
    (4_000_000, "1,111:07", "1,111 h"),
])
def test_duration_formats(seconds, text, label):
    assert hm(seconds) == text
    assert hours_label(seconds) == label


def test_minutes_are_decimals():
    assert minutes(90) == 1.5
    assert minutes(1) == 0.02


@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    # near misses: ordinary names stay as they are
    ("jdoe", "jdoe"), ("a=b", "a=b"), ("o'neil", "o'neil"), ("jane-doe", "jane-doe"), ("", ""),
])
def test_csv_formula_guard(value, expected):
    assert safe_text(value) == expected


@pytest.mark.parametrize(("days", "label"), [
    (("mon", "tue", "wed", "thu", "fri"), "Mon-Fri"), (("mon", "wed", "fri"), "Mon, Wed, Fri"),
    (("sat", "sun"), "Sat, Sun"), (("tue", "wed", "thu"), "Tue-Thu"),
])
def test_days_label(days, label):
    assert days_label(days) == label


@pytest.mark.parametrize(("span", "step"), [(0, 1), (7, 2), (75, 20), (100, 20), (245, 50),
                                            (1, 0.2), (9000, 2000)])
def test_nice_step(span, step):
    assert nice_step(span) == pytest.approx(step)


def test_palette_is_stable_and_distinct():
    p = palette(["social_media", "mystery", "county", "other2"])
    assert p["social_media"] == "#e15759" and p["county"] == "#4e79a7"
    assert len(set(p.values())) == 4


def _dept() -> DepartmentInfo:
    return DepartmentInfo("finance", "Finance", "America/New_York",
                          ("mon", "tue", "wed", "thu", "fri"), "08:30", "16:30")


def test_summary_ignores_days_outside_the_period_and_orders_ties_by_name():
    period = Period.parse("2026-11-02", "2026-11-03")
    rows = [UserAppRow("bob", "x", "social_media", Figures(600, 600, 1)),
            UserAppRow("amy", "x", "social_media", Figures(600, 0, 1)),
            UserAppRow("amy", "y", "webmail", Figures(0, 0, 5))]   # requests, no active time
    days = [DayRow(period.first_day, Figures(1200, 600), {"social_media": 1200}),
            DayRow(period.first_day - 1, Figures(9999, 0), {"social_media": 9999})]
    rep = build_report(_dept(), period, "all", rows, days, [])
    assert [u.user for u in rep.users] == ["amy", "bob"]
    assert [d.figures.active_s for d in rep.days] == [1200, 0]
    apps = {a.app: a for a in rep.apps}
    assert apps["x"].users == 2 and apps["y"].users == 0       # background alone is not use
    assert rep.totals.active_s == 1200 and rep.totals.non_work_s == 600
