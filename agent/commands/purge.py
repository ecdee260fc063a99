"""Delete incidents and usage records older than the retention period (WC-P17-001 §9)."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from agent.commands import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True, metavar="PATH", help="the agent's SQLite database")
    p.add_argument("--older-than", default="365d", metavar="AGE",
                   help="retention period: e.g. 365d, 26w, 90d (default 365d)")


def parse_days(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", text)
    if not m or int(m.group(1)) < 1:
        raise UsageError(f"--older-than {text!r}: write a number of days or weeks, e.g. 365d or 26w")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


def run(args: argparse.Namespace) -> int:
    from agent.store.usage import purge_database

    days = parse_days(args.older_than)
    if not Path(args.db).is_file():
        raise UsageError(f"database {args.db} does not exist")
    counts = purge_database(args.db, retention_days=days, now=time.time())
    print(f"purged records older than {days} days from {args.db}: "
          + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))
    return 0
