"""Build exact-data-match (records) and document-fingerprint (documents) indexes.

  dlp-agent fingerprint records --dataset clerk_records --key-file K people.csv --out DIR
      [--columns name:name dob:date ssn:number:2 ...] [--min-fields 2] [--window 32]
  dlp-agent fingerprint documents --collection memos --key-file K DOCS_DIR --out DIR [--titles]

The index holds keyed hashes only (the key file must be mode 0600); `dlp-agent scan --index DIR`
and the proxy load it and report EDM:<dataset> / IDM:<collection> detections. Column specs are
HEADER[=SRC+SRC][:KIND[:WEIGHT[:required]]] with KIND one of name, date, number, text (guessed
from the header when left out); a row matches when the weights of its columns found within
--window tokens of each other reach --min-fields. Exit 0 when the index was written, 2 on bad
usage or unreadable input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from agent.commands import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    r = sub.add_parser("records", help="index a CSV or xlsx table (exact data match)")
    r.add_argument("source", metavar="FILE", help="CSV or xlsx file with a header row")
    r.add_argument("--dataset", required=True, help="index name: detections are EDM:<dataset>")
    r.add_argument("--key-file", required=True, help="County fingerprint key (mode 0600)")
    r.add_argument("--out", required=True, metavar="DIR", help="index directory to write")
    r.add_argument("--columns", nargs="+", metavar="SPEC",
                   help="columns to index (default: every column, kinds guessed from headers)")
    r.add_argument("--min-fields", type=int, default=2,
                   help="weight of columns found together that makes a row match (default 2)")
    r.add_argument("--window", type=int, default=None,
                   help="how close (in words) a row's values must be (default 32)")
    r.add_argument("--sheet", help="xlsx sheet (default: the first)")
    d = sub.add_parser("documents", help="fingerprint protected documents (indexed document match)")
    d.add_argument("source", metavar="DIR", help="directory (or one file) of protected documents")
    d.add_argument("--collection", required=True, help="index name: detections are IDM:<name>")
    d.add_argument("--key-file", required=True, help="County fingerprint key (mode 0600)")
    d.add_argument("--out", required=True, metavar="DIR", help="index directory to write")
    d.add_argument("--titles", action="store_true",
                   help="store each document's relative path in the index (titles may be "
                        "sensitive: by default only ids are stored and the id -> path list is "
                        "printed here for you to keep)")
    d.add_argument("--k", type=int, default=None, help="words per k-gram (default 5)")
    d.add_argument("--w", type=int, default=None, help="winnowing window (default 4)")
    d.add_argument("--min-fraction", type=float, default=None,
                   help="share of a document's fingerprints that is a match (default 0.10)")


def run(args: argparse.Namespace) -> int:
    from agent.fingerprint import storage

    try:
        key = storage.read_key(args.key_file)
    except (PermissionError, storage.FingerprintError) as e:
        raise UsageError(str(e)) from None
    if not Path(args.source).exists():
        raise UsageError(f"no such file or directory: {args.source}")
    if args.what == "records":
        return _records(args, key)
    return _documents(args, key)


def _records(args: argparse.Namespace, key: bytes) -> int:
    from agent.fingerprint import records, sources, storage
    from agent.fingerprint.model import Column, guess_kind, parse_column

    t0 = time.monotonic()
    try:
        header, rows = sources.read_table(args.source, args.sheet)
        if args.columns:
            columns = [parse_column(s) for s in args.columns]
        else:
            columns = [Column(h, (h,), guess_kind(h)) for h in header if h]
        manifest, arrays, stats = records.build_records(
            rows, header, columns, key, args.dataset, min_fields=args.min_fields,
            window=args.window or records.DEFAULT_WINDOW, source=Path(args.source).name)
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from None
    storage.write_index(Path(args.out), manifest, arrays)
    print(f"EDM:{args.dataset}: {stats.rows} rows, {stats.cells} cells indexed in "
          f"{time.monotonic() - t0:.1f} s -> {args.out}")
    for c in columns:
        skipped = stats.skipped.get(c.name, 0)
        print(f"  {c.name:<20} {c.kind:<6} weight {c.weight}{' required' if c.required else ''}"
              f"  {stats.distinct.get(c.name, 0)} distinct values"
              + (f", {skipped} cells unusable as {c.kind}" if skipped else ""))
    weak = [c.name for c in columns if stats.rows and stats.distinct.get(c.name, 0) < 50
            and c.kind != "date"]
    if weak:
        print(f"  note: few distinct values in {', '.join(weak)}: they add little evidence",
              file=sys.stderr)
    return 0


def _documents(args: argparse.Namespace, key: bytes) -> int:
    from agent.fingerprint import documents, sources, storage

    t0 = time.monotonic()
    scan = sources.read_documents(args.source)
    for rel, reason in scan.problems:
        print(f"dlp-agent fingerprint: {rel}: {reason}", file=sys.stderr)
    if not scan.documents:
        raise UsageError(f"no readable documents under {args.source}")
    opts = {k: v for k, v in (("k", args.k), ("w", args.w), ("min_fraction", args.min_fraction))
            if v is not None}
    try:
        manifest, arrays = documents.build_documents(scan.documents, key, args.collection,
                                                     titles=args.titles, **opts)
    except ValueError as e:
        raise UsageError(str(e)) from None
    storage.write_index(Path(args.out), manifest, arrays)
    print(f"IDM:{args.collection}: {len(scan.documents)} documents, {len(arrays['fps'])} "
          f"fingerprints in {time.monotonic() - t0:.1f} s -> {args.out}")
    for (rel, _), doc in zip(scan.documents, manifest["documents"], strict=True):
        print(f"  {doc['id']}  {doc['fingerprints']:>6} fingerprints  {rel}")
    return 0
