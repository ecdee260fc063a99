"""Check a rules directory, or run its rule test cases (rules/tests/*.yaml)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from agent.commands import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="rules_command", metavar="{check,test}", required=True)
    c = sub.add_parser("check", help="validate every file; report all problems with file:line:field")
    c.add_argument("dir", metavar="DIR")
    t = sub.add_parser("test", help="run the rule test cases in DIR/tests/*.yaml")
    t.add_argument("dir", metavar="DIR")
    t.add_argument("--today", type=date.fromisoformat, help="judge exceptions as of this date (YYYY-MM-DD)")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")


def run(args: argparse.Namespace) -> int:
    from agent.ruleset import load_ruleset
    from agent.yamlload import ConfigError

    directory = Path(args.dir)
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory")
    try:
        rs = load_ruleset(directory)
    except ConfigError as e:
        print(f"{len(e.issues)} problem(s) in {directory}:", file=sys.stderr)
        for issue in e.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    if args.rules_command == "check":
        exc = rs.policy.exception_states(date.today())
        print(f"{directory}: OK - {len(rs.rules)} rules, {len(rs.catalogue.apps)} apps, "
              f"{len(rs.policy.exceptions)} exceptions ({exc['active']} active, {exc['expired']} expired), "
              f"version {rs.version}")
        return 0
    from agent.inspect import Inspector
    from agent.ruletests import run_all

    try:
        outcomes = run_all(directory, rs, Inspector(rs.scanner), args.today or date.today())
    except ConfigError as e:
        for issue in e.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes:
        if not o.ok or args.verbose:
            status = "ok  " if o.ok else "FAIL"
            print(f"{status} {o.file}:{o.line}: {o.name}")
            for p in o.problems:
                print(f"       {p}")
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
