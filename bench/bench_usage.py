"""Usage-report benchmark: a 5,000-user, 30-day synthetic usage set written into a real store
with write_usage (large batches through the store's writer thread), then one department's
30-day report rendered as HTML (also CSV and JSON).

Targets (issue 4): the store stays under 200 MB; a department report renders in under 2 s.
Run: .venv/bin/python bench/bench_usage.py [--keep DIR] [--users N] [--days N]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.identity import Directory, DirectorySpec
from agent.reports import FORMATS, Period, ReportQuery, load_report
from agent.store import Reader, Store
from agent.store.usage import write_usage
from agent.usage_rollup import UsageDelta

TZ = "America/New_York"
# Department sizes: a few big ones, a long tail (sums to 5,000).
SIZES = (1500, 900, 600, 500, 400, 300, 250, 200, 150, 100, 50, 50)
# (app, category, weight): what a county workforce plausibly uses on a day.
APPS = (
    ("county_m365", "county", 30), ("county", "county", 20), ("outlook_web", "webmail", 25),
    ("gmail", "webmail", 6), ("slack", "messaging", 8), ("whatsapp", "messaging", 5),
    ("facebook", "social_media", 10), ("linkedin", "social_media", 8),
    ("youtube", "social_media", 9),
    ("x", "social_media", 4), ("instagram", "social_media", 4), ("reddit", "social_media", 3),
    ("chatgpt", "ai_assistant", 7), ("claude", "ai_assistant", 2), ("gemini", "ai_assistant", 2),
    ("dropbox", "file_sharing", 4), ("google_drive", "file_sharing", 5), ("box", "file_sharing", 2),
    ("wetransfer", "file_sharing", 1), ("pastebin", "paste", 1), ("github_gist", "paste", 1),
)
START = date(2026, 10, 5)         # a Monday
BATCH = 50_000                    # deltas per store write (one transaction each)


def departments(sizes: tuple[int, ...]) -> list[tuple[str, int]]:
    return [(f"dept{i:02d}", n) for i, n in enumerate(sizes)]


def generate(users_total: int, days: int, passive_share: float = 0.05, seed: int = 4):
    """Yield UsageDelta rows: 2-6 apps per active person-day, each in 1-3 scattered hours;
    ``passive_share`` of those hours also seen by the passive monitor."""
    rng = random.Random(seed)
    tz = ZoneInfo(TZ)
    scale = users_total / sum(SIZES)
    apps = [(a, c) for a, c, _ in APPS]
    weights = [w for _, _, w in APPS]
    for dept, size in departments(SIZES):
        people = [f"{dept}.user{j:04d}" for j in range(max(1, round(size * scale)))]
        for d in range(days):
            day_date = START + timedelta(days=d)
            weekday = day_date.weekday() < 5
            day_no = day_date.toordinal() - 719163
            for user in people:
                if rng.random() > (0.95 if weekday else 0.10):
                    continue
                chosen = set()
                k = rng.randint(2, 6)
                while len(chosen) < k:
                    chosen.add(rng.choices(range(len(apps)), weights)[0])
                for ai in chosen:
                    app, cat = apps[ai]
                    for _ in range(rng.randint(1, 3)):
                        # mostly working hours, some early/late use
                        h = rng.randint(8, 16) if rng.random() < 0.85 else \
                            rng.choice((6, 7, 18, 19, 20, 21))
                        local = datetime.combine(day_date, dtime(h, 0), tz)
                        active = float(rng.randint(1, 50) * 60 + rng.choice((0, 30)))
                        work = active if weekday and 8 <= h < 17 else 0.0
                        uploads = 1 if rng.random() < 0.02 else 0
                        hour = int(local.timestamp() // 3600)
                        yield UsageDelta(dept, day_no, user, app, hour, "proxy", cat, active, work,
                                         rng.randint(5, 400),
                                         rng.randint(1_000, 200_000) + uploads * 2_000_000,
                                         rng.randint(50_000, 5_000_000), uploads,
                                         1 if uploads and rng.random() < 0.2 else 0)
                        if rng.random() < passive_share:
                            # the passive monitor saw the same hour (mirror port): coarser
                            share = rng.uniform(0.5, 1.2)
                            yield UsageDelta(dept, day_no, user, app, hour, "passive", cat,
                                             active * share, work * share, rng.randint(1, 20),
                                             rng.randint(1_000, 200_000),
                                             rng.randint(50_000, 5_000_000))


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
               if p.exists())


def build(path: Path, users: int, days: int, passive_share: float) -> tuple[int, float]:
    t0 = time.perf_counter()
    store = Store.open(path)
    store.start()
    rows = 0
    batch: list[UsageDelta] = []
    futures = []
    try:
        for delta in generate(users, days, passive_share):
            batch.append(delta)
            if len(batch) >= BATCH:
                futures.append(store.submit(partial(write_usage, batch), label="bench usage"))
                rows += len(batch)
                batch = []
                if len(futures) > 4:            # bounded memory: wait for the oldest
                    futures.pop(0).result(600)
        if batch:
            futures.append(store.submit(partial(write_usage, batch), label="bench usage"))
            rows += len(batch)
        for f in futures:
            f.result(600)
    finally:
        store.close()
    return rows, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--passive-share", type=float, default=0.05,
                    help="share of hours the passive monitor also saw (default: %(default)s)")
    ap.add_argument("--keep", metavar="DIR", help="build the store here and keep it")
    args = ap.parse_args(argv)
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-usage-"))
    path = tmp / "usage.db"
    if path.exists() and not args.keep:
        path.unlink()
    if not path.exists():
        rows, secs = build(path, args.users, args.days, args.passive_share)
        print(f"built {rows:,} rollup deltas for {args.users:,} users x {args.days} days "
              f"in {secs:.1f} s ({rows / secs:,.0f} rows/s)")
    else:
        print(f"reusing {path}")
    with sqlite3.connect(path) as conn:
        n = conn.execute("SELECT COUNT(*) FROM usage_hourly").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db_size(path)
    print(f"usage_hourly rows: {n:,}; database size {size / 1e6:.1f} MB "
          f"({size / max(n, 1):.0f} bytes/row) - target < 200 MB: "
          f"{'OK' if size < 200e6 else 'OVER'}")

    big = departments(SIZES)[0][0]
    period = Period(START, START + timedelta(days=args.days - 1))
    directory = Directory(DirectorySpec.model_validate(
        {"departments": {d: {"name": f"Department {d}", "timezone": TZ}
                         for d, _ in departments(SIZES)}}))
    worst = 0.0
    # (format, source): "all" with both sources present takes the slower per-hour-max query.
    for fmt, source in (("html", "all"), ("html", "proxy"), ("csv", "all"), ("json", "all"),
                        ("html", "all")):
        t0, c0 = time.perf_counter(), time.process_time()
        with Reader(path) as reader:
            report = load_report(reader, ReportQuery(big, period, source), directory)
        t1 = time.perf_counter()
        out = FORMATS[fmt].render(report)
        t2, c2 = time.perf_counter(), time.process_time()
        if fmt == "html":
            worst = max(worst, t2 - t0)
        print(f"report {big} ({len(report.users):,} people, {period.days} days, source {source}) "
              f"{fmt}: query {t1 - t0:.2f} s + render {t2 - t1:.2f} s = {t2 - t0:.2f} s "
              f"(CPU {c2 - c0:.2f} s), {len(out.encode()) / 1e6:.2f} MB")
    print(f"HTML department report: {worst:.2f} s - target < 2 s: {'OK' if worst < 2 else 'OVER'}"
          f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    if not args.keep:
        for p in tmp.iterdir():
            p.unlink()
        os.rmdir(tmp)
    return 0 if size < 200e6 and worst < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
