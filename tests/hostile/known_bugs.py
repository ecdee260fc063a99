"""Bugs the suite has found and that are not fixed yet, by case name and where they show.

Each entry turns the matching test into ``xfail(strict=True)``: it fails today, for the
reason written here; when the bug is fixed the test passes, the strict xfail turns that
into a failure, and the entry must be removed. ``where`` is ``inproc``, ``agent`` or both.
"""

from __future__ import annotations

BUGS: dict[str, tuple[frozenset[str], str]] = {}


def bug(case: str, where: set[str], text: str) -> None:
    BUGS[case] = (frozenset(where), text)


bug("headers-8000", {"agent"},
    "agent/addon.py DlpAddon._account builds `{k.lower(): v for k, v in req.headers.items()}`; "
    "mitmproxy's Headers is a multidict whose items() looks each key up again (O(n) each), so "
    "this is O(n^2) in the header count and runs on the event loop: 8,000 short headers "
    "(~100 KB) block every other client for ~6-8 s (measured: bystander 8.0 s; 4,000 headers "
    "1.8 s in isolation). Iterating req.headers.fields is O(n).")
bug("pdf-300k-text-operators", {"inproc", "agent"},
    "agent/extract/pdf.py pdf(): the deadline is checked only between pages and pypdf's "
    "page.extract_text() cannot be interrupted; its per-operator text assembly is superlinear "
    "(25k ops 2 s, 50k 4.8 s, 100k 15 s, 300k 56-124 s). A 19 KB PDF (one page of 300k `Tj` "
    "operators) holds an inspection thread for about a minute past a 5-10 s budget; bodies "
    "under 512 KiB are inspected on the proxy's own thread pool, so four of them occupy every "
    "inspection thread. Passing visitor_operand_before=<deadline check> to extract_text makes "
    "the operator loop interruptible; content-stream parsing (linear, up to pypdf's 75 MB "
    "decode cap) still is not.")

bug("ssn-flood-30mb", {"agent"},
    "agent/detect/scanner.py Scanner.scan keeps a Finding for every validated candidate "
    "(~400 bytes of RSS each) and agent/inspect.py summarizes them only at the end: a body "
    "whose every 12 bytes is an SSN costs ~36 bytes of memory per body byte (2 MB -> +75 MB, "
    "12 MB -> +425 MB, 30 MB -> worker VmHWM 1.1 GiB). Only the time budget bounds it (the "
    "scan covers ~27 MB in 10 s here), so a faster machine or a larger budget means more; two "
    "workers at once ~2.3 GiB. Counting per type past a cap (keeping MAX_DISTINCT values) "
    "would bound it.")
bug("pdf-flate-bomb-5-pages-of-70mb", {"agent"},
    "agent/extract/pdf.py leaves pypdf's own stream limit in force (75 MB decoded per "
    "FlateDecode stream) and does not charge decoded streams to Limits.max_extracted_bytes or "
    "max_ratio: a 358 KB PDF of 5 pages, each a FlateDecode stream of 70 MB of zeros, is "
    "under 512 KiB so it is inspected on the proxy's own threads, and takes the proxy process "
    "from ~120 MiB to 588 MiB VmHWM (four at once: ~2 GiB). pypdf.apply_configuration("
    "zlib_maximum_output_length=..., stream_parsing_work_maximum_count=...) around the read "
    "would bound it (pypdf 7.1, installed, has it; pyproject allows pypdf >= 5.0).")


def marks(case: str, where: str) -> list:
    import pytest

    entry = BUGS.get(case)
    if entry is None or where not in entry[0]:
        return []
    return [pytest.mark.xfail(strict=True, reason=entry[1])]
