"""`dlp-agent` command line: one subcommand per module under agent/commands, listed explicitly."""

from __future__ import annotations

import argparse
import importlib
import sys

from agent import __version__
from agent.commands import UsageError

# name -> (module, one-line help). Explicit on purpose: no discovery by package scanning.
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("agent.commands.scan", "scan files as upload bodies and report confidential data"),
    "sniff": ("agent.commands.sniff", "passive monitor: connections, usage and proxy bypass from a pcap or interface"),
    "run": ("agent.commands.run", "run the inline proxy that enforces the policies"),
    "incidents": ("agent.commands.incidents", "list and show recorded incidents"),
    "rules": ("agent.commands.rules", "check rules, or run the rule test cases"),
    "purge": ("agent.commands.purge", "delete records older than the retention period"),
    "fingerprint": ("agent.commands.fingerprint", "build exact-data-match and document-fingerprint indexes"),
    "report": ("agent.commands.report", "usage reports per department (HTML, CSV, JSON)"),
    "serve-reports": ("agent.commands.serve_reports", "read-only web view of usage reports for supervisors"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported (start-up time matters for
    `sniff` on large captures and for every worker process)."""
    parser = argparse.ArgumentParser(
        prog="dlp-agent",
        description="County DLP Agent: data-loss prevention and usage monitoring (WC-P17-001).",
    )
    parser.add_argument("--version", action="version", version=f"dlp-agent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        if name != only:
            sub.add_parser(name, help=help_)
            continue
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_, description=(mod.__doc__ or help_).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):  # no command, or --help
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except UsageError as e:
        print(f"dlp-agent {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
