"""Usage reports for one department and period: estimated active time per person, category
and application, split into working hours and outside them, with requests, uploads, policy
violations and usage findings.

Dates are calendar days in the department's time zone (from --directory), both included.
--format html writes one self-contained page (charts included, nothing loaded from
elsewhere); csv one row per person and application (opens in a spreadsheet); json the whole
report for machines. Reading never creates or changes the database. Exit 0 when the report
was written (also when the department had no usage: the report says so), 2 on bad usage, a
missing database or an unknown department.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from agent.commands import UsageError
from agent.config import load_config
from agent.identity import Directory
from agent.reports import FORMATS, SOURCES, Period, ReportQuery, UnknownDepartment, load_report
from agent.store import Reader, StoreError
from agent.usage import SessionSettings
from agent.yamlload import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    u = sub.add_parser("usage", help="active time, uploads and violations of one department",
                       description=(__doc__ or "").strip())
    u.add_argument("--db", required=True, metavar="PATH",
                   help="incident and usage database (SQLite)")
    u.add_argument("--department", required=True, metavar="D", help="department id (e.g. finance)")
    u.add_argument("--from", dest="date_from", required=True, metavar="DATE",
                   help="first day, YYYY-MM-DD (local date in the department's time zone)")
    u.add_argument("--to", dest="date_to", required=True, metavar="DATE",
                   help="last day, YYYY-MM-DD (included)")
    u.add_argument("--format", choices=tuple(FORMATS), default="html")
    u.add_argument("--out", required=True, metavar="FILE",
                   help="output file ('-' for standard output)")
    u.add_argument("--directory", metavar="FILE",
                   help="directory file: department names, time zones, working hours, user names")
    u.add_argument("--source", choices=SOURCES, default="all",
                   help="proxy, passive monitor, or both (default: %(default)s)")
    u.add_argument("--config", metavar="FILE",
                   help="agent configuration: the active-time settings the footnote states "
                        "(and the directory, unless --directory is given)")
    u.set_defaults(_report=run_usage)


def run(args: argparse.Namespace) -> int:
    return args._report(args)


def write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600: the report names people."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_usage(args: argparse.Namespace) -> int:
    try:
        period = Period.parse(args.date_from, args.date_to)
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        config = load_config(args.config) if args.config else None
        directory = Directory.load(args.directory or (config.directory if config else None))
    except ConfigError as e:
        raise UsageError(str(e)) from None
    settings = SessionSettings()
    if config is not None:
        u = config.usage
        settings = SessionSettings(u.gap_seconds, u.allowance_seconds, u.weak_window_seconds)
    fmt = FORMATS[args.format]
    try:
        with Reader(args.db) as reader:
            report = load_report(reader, ReportQuery(args.department, period, args.source),
                                 directory, settings=settings)
    except (StoreError, UnknownDepartment) as e:
        raise UsageError(str(e)) from None
    data = fmt.render(report).encode("utf-8")
    if args.out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            write_private(Path(args.out), data)
        except OSError as e:
            raise UsageError(f"cannot write {args.out}: {e.strerror or e}") from None
        people = sum(1 for u in report.users if u.figures.active_s > 0)
        note = "no usage recorded" if report.empty else f"{people} people"
        print(f"wrote {args.out} ({args.format}, {report.department.id}, {period}: {note})",
              file=sys.stderr)
    return 0
