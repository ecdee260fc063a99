"""A small, hand-computed usage dataset written into a real store (agent.store + write_usage).

Week of Monday 2026-11-02 .. Sunday 2026-11-08, America/New_York. Finance works 08:30-16:30
Mon-Fri. Every expected figure in EXPECTED is worked out by hand in the comments, not by the
code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.store import Store
from agent.store.usage import write_finding, write_usage
from agent.usage_rollup import UsageDelta, UsageFinding

NY = ZoneInfo("America/New_York")

DIRECTORY_YAML = """\
departments:
  finance:
    name: Department of Finance
    timezone: America/New_York
    working_hours: {days: [mon, tue, wed, thu, fri], start: "08:30", end: "16:30"}
  dss:
    name: Department of Social Services
    working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
  communications:
    name: Office of Communications
users:
  jdoe: {department: finance, name: Jane Doe}
  rroe: {department: finance, name: Richard Roe}
  asmith: {department: dss, name: Ann Smith}
"""


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


def delta(dept: str, when: str, user: str, app: str, category: str, active: float, work: float,
          requests: int = 0, up: int = 0, down: int = 0, uploads: int = 0, violations: int = 0,
          source: str = "proxy") -> UsageDelta:
    t = local(when)
    day = t.date().toordinal() - 719163
    hour = int(t.timestamp() // 3600)
    return UsageDelta(dept, day, user, app, hour, source, category, active, work, requests, up,
                      down, uploads, violations)


DELTAS = [
    # jdoe (Jane Doe), finance
    delta("finance", "2026-11-02T10:00", "jdoe", "outlook", "webmail", 1200, 1200, 40,
          up=1000, down=50_000),
    delta("finance", "2026-11-02T10:00", "jdoe", "facebook", "social_media", 600, 600, 30),
    delta("finance", "2026-11-02T18:00", "jdoe", "facebook", "social_media", 900, 0, 20),
    delta("finance", "2026-11-03T09:00", "jdoe", "facebook", "social_media", 3900, 3900, 100),
    # the passive monitor saw the same hour: smaller time and requests, more bytes down
    delta("finance", "2026-11-03T09:00", "jdoe", "facebook", "social_media", 3000, 3000, 80,
          down=700_000, source="passive"),
    delta("finance", "2026-11-03T14:00", "jdoe", "dropbox", "file_sharing", 300, 300, 10,
          up=5_000_000, uploads=2, violations=1),
    delta("finance", "2026-11-07T11:00", "jdoe", "facebook", "social_media", 1800, 0, 15),
    # outside the period: the day before and the day after
    delta("finance", "2026-11-01T12:00", "jdoe", "facebook", "social_media", 5000, 0, 9),
    delta("finance", "2026-11-09T12:00", "jdoe", "facebook", "social_media", 5000, 5000, 9),
    # rroe (Richard Roe), finance
    delta("finance", "2026-11-02T09:00", "rroe", "outlook", "webmail", 1800, 1800, 50),
    delta("finance", "2026-11-04T16:00", "rroe", "outlook", "webmail", 2400, 1800, 20),
    delta("finance", "2026-11-04T16:00", "rroe", "chatgpt", "ai_assistant", 600, 600, 12,
          uploads=1),
    # mwong: not in the directory, seen only by the passive monitor
    delta("finance", "2026-11-05T12:00", "mwong", "slack", "messaging", 1200, 1200, 5,
          source="passive"),
    # another department: must never appear in finance's report
    delta("dss", "2026-11-02T10:00", "asmith", "facebook", "social_media", 7200, 7200, 300),
]

def day_of(when: str) -> int:
    return local(when).date().toordinal() - 719163


FINDINGS = [
    UsageFinding("social-media-over-60-minutes", day_of("2026-11-03T09:00"), "jdoe", "finance",
                 "social_media", 3660.0, 3600.0, local("2026-11-03T10:01").timestamp(),
                 "INC-TEST-0001"),
    UsageFinding("social-media-over-60-minutes", day_of("2026-11-02T10:00"), "asmith", "dss",
                 "social_media", 3660.0, 3600.0, local("2026-11-02T11:01").timestamp(),
                 "INC-TEST-0002"),
]

PERIOD = ("2026-11-02", "2026-11-08")


@dataclass(frozen=True)
class UserExpect:
    name: str
    active: float            # minutes
    work: float
    outside: float
    requests: int
    uploads: int
    violations: int
    findings: int
    by_category: dict[str, float]
    apps: dict[str, float]


# Source "all" (proxy and passive, larger figure per user, app and hour):
#  jdoe: 1200+600+900+3900+300+1800 = 8700 s = 145 min; working 1200+600+3900+300 = 6000 s = 100;
#        outside 45. facebook 600+900+3900+1800 = 7200 s = 120; outlook 20; dropbox 5.
#        requests 40+30+20+max(100,80)+10+15 = 215.
#  rroe: 1800+2400+600 = 4800 s = 80; working 1800+1800+600 = 4200 s = 70; outside 10.
#        outlook 70, chatgpt 10; requests 50+20+12 = 82; uploads 1.
#  mwong: slack 20 (all working), requests 5.
EXPECTED_ALL = {
    "jdoe": UserExpect("Jane Doe", 145, 100, 45, 215, 2, 1, 1,
                       {"social_media": 120, "webmail": 20, "file_sharing": 5},
                       {"facebook": 120, "outlook": 20, "dropbox": 5}),
    "rroe": UserExpect("Richard Roe", 80, 70, 10, 82, 1, 0, 0,
                       {"webmail": 70, "ai_assistant": 10}, {"outlook": 70, "chatgpt": 10}),
    "mwong": UserExpect("mwong", 20, 20, 0, 5, 0, 0, 0, {"messaging": 20}, {"slack": 20}),
}
USER_ORDER_ALL = ["jdoe", "rroe", "mwong"]
# Per day, minutes by category (all sources):
#  Mon: jdoe outlook 20 + facebook 10 + 15, rroe outlook 30 -> webmail 50, social 25 = 75
#  Tue: jdoe facebook 65 + dropbox 5 = 70;  Wed: rroe outlook 40 + chatgpt 10 = 50
#  Thu: mwong slack 20;  Fri: 0;  Sat: jdoe facebook 30;  Sun: 0.   Sum 245 = 145 + 80 + 20.
DAYS_ALL = {
    "2026-11-02": {"webmail": 50, "social_media": 25},
    "2026-11-03": {"social_media": 65, "file_sharing": 5},
    "2026-11-04": {"webmail": 40, "ai_assistant": 10},
    "2026-11-05": {"messaging": 20},
    "2026-11-06": {},
    "2026-11-07": {"social_media": 30},
    "2026-11-08": {},
}
TOTAL_ALL = 245
TOTAL_WORK_ALL = 190                 # 100 + 70 + 20
BYTES_DOWN_ALL = 50_000 + 700_000    # the passive row's larger bytes_down counts
# Top applications (minutes, people): facebook 120 (1), outlook 20+70 = 90 (2), slack 20 (1),
# chatgpt 10 (1), dropbox 5 (1).
TOP_APPS_ALL = [("facebook", 120, 1), ("outlook", 90, 2), ("slack", 20, 1), ("chatgpt", 10, 1),
                ("dropbox", 5, 1)]
# Proxy only: mwong disappears, jdoe's Tuesday facebook is the proxy's 3900 s.  145 + 80 = 225.
TOTAL_PROXY = 225
# Passive only: jdoe facebook 3000 s = 50 min, mwong 20.
TOTAL_PASSIVE = 70


def build_store(path: Path) -> Path:
    store = Store.open(path)
    store.start()
    try:
        store.submit(partial(write_usage, DELTAS), label="usage").result(30)
        for f in FINDINGS:
            store.submit(partial(write_finding, f), label="finding").result(30)
    finally:
        store.close()
    return path


def write_directory(path: Path) -> Path:
    path.write_text(DIRECTORY_YAML)
    return path
