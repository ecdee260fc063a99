"""Scan files as upload bodies and report the confidential data found in each.

Each file's bytes are treated as an upload body whose type is found from the content, not the
name: a raw multipart body, a JSON document, a docx, a gzip ... Directories are walked.
Exit status: 0 when the scan completed (whatever it found); 2 on bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from agent.commands import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    p.add_argument("--format", choices=("jsonl", "table"), default="table")
    p.add_argument("--rules", metavar="DIR", help="rules directory whose detectors.yaml to use")
    p.add_argument("--max-seconds", type=float, default=60.0, help="inspection budget per file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.add_argument("--index", action="append", default=[], metavar="DIR",
                   help="fingerprint index (dlp-agent fingerprint) to match: EDM:/IDM: "
                        "detections; repeatable")
    p.add_argument("--key-file", metavar="FILE",
                   help="the key the --index directories were built with (mode 0600)")
    p.add_argument("--spill-dir", metavar="DIR",
                   help="where the text of very large documents goes while it is inspected "
                        "(unnamed 0600 files; default: the system temp directory)")


def _walk(arg: str) -> Iterator[tuple[Path, str]]:
    """(path, name to report): names are relative to the directory argument they came from."""
    p = Path(arg)
    if p.is_dir():
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for f in sorted(files):
                full = Path(root) / f
                yield full, str(full.relative_to(p))
    else:
        yield p, arg


def _scanner(rules: str | None):
    from agent.detect import Scanner, load_detector_config

    if rules:
        path = Path(rules) / "detectors.yaml"
        return Scanner(load_detector_config(path if path.exists() else None))
    return Scanner()


def _matchers(dirs: list[str], key_file: str | None) -> list:
    if not dirs:
        return []
    if not key_file:
        raise UsageError("--index needs --key-file (the key the index was built with)")
    from agent.fingerprint import FingerprintError, load_indexes, read_key

    try:
        return load_indexes(dirs, read_key(key_file))
    except (FingerprintError, PermissionError, OSError) as e:
        raise UsageError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    from agent.extract.model import Limits
    from agent.inspect import Inspector
    from agent.yamlload import ConfigError

    missing = [a for a in args.paths if not os.path.exists(a)]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    if args.spill_dir and not os.path.isdir(args.spill_dir):
        raise UsageError(f"--spill-dir {args.spill_dir}: not a directory")
    matchers = _matchers(args.index, args.key_file)
    try:
        limits = Limits(max_seconds=args.max_seconds, spill_dir=args.spill_dir)
        inspector = Inspector(_scanner(args.rules), limits, matchers=matchers)
    except ConfigError as e:
        raise UsageError(f"invalid detector configuration:\n{e}") from None

    files = [pair for a in args.paths for pair in _walk(a)]
    total = sum(_size(p) for p, _ in files)
    bar = None
    if sys.stderr.isatty() and not args.no_progress and total > 8 * 1024 * 1024:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, desc="scanning", file=sys.stderr)
    unreadable = []
    rows = []
    for path, name in files:
        try:
            body = path.read_bytes()
        except OSError as e:
            unreadable.append(f"{name}: {e.strerror}")
            continue
        result = inspector.inspect(body, where=name)
        if bar is not None:
            bar.update(len(body))
        for t, d in sorted(result.detections.items()):
            rows.append({"file": name, "type": t, "count": d.count, "samples": d.samples,
                         "distinct": d.distinct, "where": d.where})
        if result.uninspectable:
            rows.append({"file": name, "type": "UNINSPECTABLE", "count": len(result.uninspectable),
                         "samples": [], "reasons": sorted({u.reason for u in result.uninspectable}),
                         "where": [u.where for u in result.uninspectable][:5]})
        if args.format == "jsonl":
            for r in rows:
                print(json.dumps(r), flush=True)
            rows.clear()
    if bar is not None:
        bar.close()
    if args.format == "table":
        _table(rows, len(files))
    for u in unreadable:
        print(f"dlp-agent scan: cannot read {u}", file=sys.stderr)
    return 2 if unreadable else 0


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _table(rows: list[dict], nfiles: int) -> None:
    if not rows:
        print(f"{nfiles} file(s) scanned: nothing found")
        return
    wf = max(4, *(len(r["file"]) for r in rows))
    wt = max(4, *(len(r["type"]) for r in rows))
    print(f"{'FILE':<{wf}}  {'TYPE':<{wt}}  {'COUNT':>5}  SAMPLES")
    for r in rows:
        extra = ", ".join(r.get("reasons", [])) or ", ".join(r["samples"])
        print(f"{r['file']:<{wf}}  {r['type']:<{wt}}  {r['count']:>5}  {extra}")
