"""Scan files as if each were an upload body and report the confidential data found."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("jsonl", "table"), default="table")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
