"""Reading what gets indexed: record tables (CSV, xlsx) and protected documents (any format the
extraction engine reads). The I/O edge of fingerprinting; the builders take plain values."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agent.extract.model import Limits
from agent.fingerprint import tokens as T

XLSX_MAGIC = b"PK\x03\x04"
# Offline indexing of a large protected document may take longer than an upload is allowed to.
DOCUMENT_LIMITS = Limits(max_seconds=300.0, max_extracted_bytes=512 * 1024**2)


def read_table(path: str | Path, sheet: str | None = None) -> tuple[list[str], Iterator[list]]:
    """(header, data rows) of a CSV or xlsx file; the type is found from the bytes."""
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(4)
    if head == XLSX_MAGIC:
        return _read_xlsx(p, sheet)
    if sheet:
        raise ValueError(f"{p} is not an xlsx workbook; --sheet applies to xlsx only")
    return _read_csv(p)


def _read_csv(p: Path) -> tuple[list[str], Iterator[list]]:
    raw = p.read_bytes()
    text = raw.decode("utf-8-sig") if _utf8(raw) else raw.decode("cp1252", "replace")
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise ValueError(f"{p}: empty table")
    return [h.strip() for h in header], reader


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_xlsx(p: Path, sheet: str | None) -> tuple[list[str], Iterator[list]]:
    import openpyxl  # offline indexing only; not on the proxy's path

    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    if sheet is not None and sheet not in wb.sheetnames:
        raise ValueError(f"{p}: no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
    ws = wb[sheet] if sheet else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        raise ValueError(f"{p}: empty sheet")
    return ["" if h is None else str(h).strip() for h in header], (list(r) for r in rows)


@dataclass
class DocumentScan:
    """Tokens of each readable document; problems name files skipped or only partly read."""

    documents: list[tuple[str, list[bytes]]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)    # (relative path, reason)


def read_documents(root: str | Path) -> DocumentScan:
    """Walk ``root``; each file is extracted like an upload body and tokenised."""
    from agent.extract import extract

    base = Path(root)
    out = DocumentScan()
    paths = [base] if base.is_file() else sorted(
        Path(r) / f for r, _, files in os.walk(base) for f in files)
    for path in paths:
        rel = path.name if path == base else str(path.relative_to(base))
        try:
            body = path.read_bytes()
        except OSError as e:
            out.problems.append((rel, e.strerror or "unreadable"))
            continue
        ex = extract(body, filename=path.name, limits=DOCUMENT_LIMITS, where=rel)
        toks: list[bytes] = []
        try:
            for s in ex.segments:
                # Document properties (author, tool, timestamps) are not the document's content.
                if s.where.endswith("part:properties"):
                    continue
                toks.extend(T.tokens(s.data))
        finally:
            ex.close()      # a spilled document's spool file, now rather than at collection
        if ex.uninspectable:
            reasons = sorted({u.reason for u in ex.uninspectable})
            if not toks:
                out.problems.append((rel, ", ".join(reasons)))
                continue
            out.problems.append((rel, "partly read: " + ", ".join(reasons)))
        if not toks:
            out.problems.append((rel, "no text"))
            continue
        out.documents.append((rel, toks))
    return out
