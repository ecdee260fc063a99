"""List and show recorded incidents (masked evidence only) as a table, JSON lines or ECS.

Times for --since/--until are UTC: an ISO date (2026-11-27), an ISO date-time
(2026-11-27T08:00, 2026-11-27T08:00-05:00) or an age before now (90m, 24h, 7d, 2w).
--since is inclusive, --until exclusive. --severity is a minimum: 'high' lists high and
critical; write '=high' for exactly that level. Reading never creates or changes the database.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TextIO

from agent.commands import UsageError
from agent.policy.model import SEVERITIES
from agent.store import Incident, IncidentFilter, Reader, StoreError, iso_utc
from agent.store.ecs import to_ecs

_AGE_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FILTER_HELP = (__doc__ or "").split("\n\n", 1)[-1]


def parse_time(text: str, now: float, option: str = "time") -> float:
    """An ISO date/date-time (naive means UTC) or an age like '24h' -> epoch seconds."""
    m = _AGE_RE.match(text)
    if m:
        return now - int(m.group(1)) * _AGE_UNITS[m.group(2)]
    if text.strip().lower() == "now":
        return now
    try:
        if _DATE_RE.match(text.strip()):
            dt = datetime.strptime(text.strip(), "%Y-%m-%d")
        else:
            dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option}: cannot read time {text!r}; write an ISO date or date-time "
                         "(2026-11-27, 2026-11-27T08:00Z) or an age (90m, 24h, 7d, 2w)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_severity(text: str) -> tuple[str, bool]:
    """'high' -> (high, minimum); '=high' -> (high, exact)."""
    exact = text.startswith("=")
    level = text[1:] if exact else text
    if level not in SEVERITIES:
        raise UsageError(f"--severity: unknown level {text!r}; use one of {', '.join(SEVERITIES)}"
                         " (a minimum), or '=LEVEL' for exactly that level")
    return level, exact


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="incidents_command", metavar="SUBCOMMAND", required=True)

    ls = sub.add_parser("list", help="list incidents, newest first",
                        description="List incidents, newest first. " + _FILTER_HELP)
    ls.add_argument("--db", required=True, metavar="PATH", help="incident database (SQLite)")
    ls.add_argument("--since", metavar="T", help="from this time on (inclusive)")
    ls.add_argument("--until", metavar="T", help="before this time (exclusive)")
    ls.add_argument("--rule", metavar="R", help="deciding rule id")
    ls.add_argument("--user", metavar="U")
    ls.add_argument("--department", metavar="D")
    ls.add_argument("--severity", metavar="S",
                    help=f"minimum severity ({', '.join(SEVERITIES)}); '=S' for exactly S")
    ls.add_argument("--action", metavar="A", help="allow, log, alert or block")
    ls.add_argument("--app", metavar="APP", help="application id from apps.yaml")
    ls.add_argument("--type", metavar="TYPE", help="has a detection of this type (e.g. SSN)")
    ls.add_argument("--limit", metavar="N", type=int, help="at most N incidents")
    ls.add_argument("--format", choices=("table", "jsonl", "ecs"), default="table")
    ls.set_defaults(_incidents=run_list)

    show = sub.add_parser("show", help="show one incident in full",
                          description="Show one incident in full.")
    show.add_argument("id", metavar="ID")
    show.add_argument("--db", required=True, metavar="PATH", help="incident database (SQLite)")
    show.add_argument("--format", choices=("table", "json", "ecs"), default="table")
    show.set_defaults(_incidents=run_show)


def run(args: argparse.Namespace) -> int:
    try:
        return args._incidents(args, sys.stdout)
    except StoreError as e:
        raise UsageError(str(e)) from e
    except BrokenPipeError:
        # `dlp-agent incidents list | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def filter_from_args(args: argparse.Namespace, now: float) -> IncidentFilter:
    severity, exact = parse_severity(args.severity) if args.severity else (None, False)
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    return IncidentFilter(
        since=parse_time(args.since, now, "--since") if args.since else None,
        until=parse_time(args.until, now, "--until") if args.until else None,
        rule=args.rule, user=args.user, department=args.department, severity=severity,
        exact_severity=exact, action=args.action, app=args.app, type=args.type,
        limit=args.limit)


def run_list(args: argparse.Namespace, out: TextIO) -> int:
    flt = filter_from_args(args, time.time())
    with Reader(args.db) as reader:
        incidents = reader.iter_incidents(flt)
        if args.format == "table":
            write_table(incidents, out)
        else:
            convert = to_ecs if args.format == "ecs" else Incident.to_dict
            for inc in incidents:
                out.write(json.dumps(convert(inc), ensure_ascii=False) + "\n")
    return 0


def run_show(args: argparse.Namespace, out: TextIO) -> int:
    with Reader(args.db) as reader:
        inc = reader.get_incident(args.id)
    if inc is None:
        print(f"dlp-agent incidents: no incident {args.id} in {args.db}", file=sys.stderr)
        return 1
    if args.format == "json":
        out.write(json.dumps(inc.to_dict(), ensure_ascii=False, indent=2) + "\n")
    elif args.format == "ecs":
        out.write(json.dumps(to_ecs(inc), ensure_ascii=False) + "\n")
    else:
        write_detail(inc, out)
    return 0


# -- table output ------------------------------------------------------------------------------

_LIST_COLUMNS = ("TIME", "ID", "SEVERITY", "ACTION", "RULE", "USER", "DEPARTMENT", "APP",
                 "HOST", "DETECTIONS")
_MAX_WIDTH = 40


def _cell(text: str, max_width: int | None) -> str:
    text = " ".join(text.split())       # no tabs/newlines from odd host or user names
    if max_width is None or len(text) <= max_width:
        return text
    return text[:max_width - 3] + "..."


def detections_summary(inc: Incident) -> str:
    return " ".join(f"{d['type']}:{d['count']}" for d in inc.detections) or "-"


def _row(inc: Incident) -> tuple[str, ...]:
    return (iso_utc(inc.time, "seconds"), inc.id, inc.severity, inc.action, inc.rule, inc.user,
            inc.department, inc.app, inc.host, detections_summary(inc))


def format_rows(header: Sequence[str], rows: Iterable[Sequence[str]],
                max_width: int | None = _MAX_WIDTH) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is neither padded nor cut."""
    cells = [list(header)] + [[_cell(c, max_width) for c in r[:-1]] + [_cell(r[-1], None)]
                              for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths[:-1], strict=True)) + "  " + r[-1]
            for r in cells]


def write_table(incidents: Iterable[Incident], out: TextIO) -> None:
    rows = [_row(i) for i in incidents]
    for line in format_rows(_LIST_COLUMNS, rows):
        out.write(line.rstrip() + "\n")
    if not rows:
        print("(no incidents match)", file=sys.stderr)


def write_detail(inc: Incident, out: TextIO) -> None:
    fields = [
        ("id", inc.id), ("time", iso_utc(inc.time)), ("action", inc.action),
        ("severity", inc.severity), ("rule", inc.rule), ("description", inc.description),
        ("policy", inc.policy_ref), ("matched rules", ", ".join(inc.rules)),
        ("why", "; ".join(inc.why) or "-"),
        ("exception", inc.exception or "-"),
        ("expired exception", inc.expired_exception or "-"),
        ("user", inc.user), ("department", inc.department), ("client ip", inc.client_ip or "-"),
        ("app", f"{inc.app} ({inc.category})"),
        ("request", f"{inc.method} {inc.host}{inc.path}".strip()),
        ("body bytes", str(inc.bytes)), ("node", inc.node or "-"),
    ]
    width = max(len(k) for k, _ in fields)
    for k, v in fields:
        out.write(f"{k.ljust(width)}  {v}\n")
    if inc.detections:
        out.write("\ndetections\n")
        rows = [(d["type"], str(d["count"]), str(d["distinct"]), ", ".join(d["samples"]) or "-",
                 ", ".join(d["where"]) or "-") for d in inc.detections]
        for line in format_rows(("TYPE", "COUNT", "DISTINCT", "SAMPLES (MASKED)", "WHERE"), rows,
                                None):
            out.write("  " + line.rstrip() + "\n")
    if inc.files:
        out.write("\nfiles\n")
        rows = [(str(f.get("name") or "-"), str(f.get("type", "-")), str(f.get("size", "-")),
                 str(f.get("where", "-"))) for f in inc.files]
        for line in format_rows(("NAME", "TYPE", "SIZE", "WHERE"), rows, None):
            out.write("  " + line.rstrip() + "\n")
    if inc.uninspectable:
        out.write("\nnot inspected\n")
        rows = [(str(u.get("reason", "-")), str(u.get("where", "-")), str(u.get("detail") or "-"))
                for u in inc.uninspectable]
        for line in format_rows(("REASON", "WHERE", "DETAIL"), rows, None):
            out.write("  " + line.rstrip() + "\n")
