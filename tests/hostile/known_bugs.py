"""Bugs the suite has found and that are not fixed yet, by case name and where they show.

Each entry turns the matching test into ``xfail(strict=True, raises=AssertionError)``: it
fails today, for the reason written here. ``signature`` is a piece of the judge's message
for that bug: any *other* problem fails the test outright (pytest.fail, not an
AssertionError), so a pinned case still guards everything else. When the bug is fixed the
test passes, the strict xfail turns that into a failure, and the entry must be removed.
``where`` is ``inproc``, ``agent`` or both.
"""

from __future__ import annotations

from typing import NamedTuple


class Bug(NamedTuple):
    where: frozenset[str]
    text: str
    signature: str


BUGS: dict[str, Bug] = {}


def bug(case: str, where: set[str], signature: str, text: str) -> None:
    BUGS[case] = Bug(frozenset(where), text, signature)


bug("headers-8000", {"agent"}, "another client waited",
    "agent/addon.py DlpAddon._account builds `{k.lower(): v for k, v in req.headers.items()}`; "
    "mitmproxy's Headers is a multidict whose items() looks each key up again (O(n) each), so "
    "this is O(n^2) in the header count and runs on the event loop: 8,000 short headers "
    "(~100 KB) block every other client for ~6-8 s (measured: bystander 8.0 s; 4,000 headers "
    "1.8 s in isolation). Iterating req.headers.fields is O(n): tried in a scratch tree, that "
    "one line makes this case pass.")
bug("pdf-300k-text-operators", {"inproc", "agent"}, "budget +",
    "agent/extract/pdf.py pdf(): the deadline is checked only between pages and pypdf's "
    "page.extract_text() cannot be interrupted; its per-operator text assembly is superlinear "
    "(25k ops 2 s, 50k 4.8 s, 100k 15 s, 300k 56-124 s). A 19 KB PDF (one page of 300k `Tj` "
    "operators) holds an inspection thread for about a minute past a 5-10 s budget; bodies "
    "under 512 KiB are inspected on the proxy's own thread pool, so four of them occupy every "
    "inspection thread. Passing visitor_operand_before=<deadline check> to extract_text makes "
    "the operator loop interruptible; content-stream parsing (linear, up to pypdf's 75 MB "
    "decode cap) still is not.")

bug("ssn-flood-30mb", {"agent"}, "VmHWM",
    "agent/detect/scanner.py Scanner.scan keeps a Finding for every validated candidate "
    "(~400 bytes of RSS each) and agent/inspect.py summarizes them only at the end: a body "
    "whose every 12 bytes is an SSN costs ~36 bytes of memory per body byte (2 MB -> +75 MB, "
    "12 MB -> +425 MB, 30 MB -> worker VmHWM 1.1 GiB). Only the time budget bounds it (the "
    "scan covers ~27 MB in 10 s here), so a faster machine or a larger budget means more; two "
    "workers at once ~2.3 GiB. Counting per type past a cap (keeping MAX_DISTINCT values) "
    "would bound it.")
bug("pdf-flate-bomb-5-pages-of-70mb", {"agent"}, "VmHWM",
    "agent/extract/pdf.py leaves pypdf's own stream limit in force (75 MB decoded per "
    "FlateDecode stream) and does not charge decoded streams to Limits.max_extracted_bytes or "
    "max_ratio: a 358 KB PDF of 5 pages, each a FlateDecode stream of 70 MB of zeros, is "
    "under 512 KiB so it is inspected on the proxy's own threads, and takes the proxy process "
    "from ~120 MiB to 588 MiB VmHWM (four at once: ~2 GiB). pypdf.apply_configuration("
    "zlib_maximum_output_length=..., stream_parsing_work_maximum_count=...) around the read "
    "would bound it (pypdf 7.1, installed, has it; pyproject allows pypdf >= 5.0).")

_CUT_OFF = (
    "agent/addon.py _StreamGuard.__call__ returns b\"\" once it has blocked a streamed upload "
    "(and again for every later chunk). mitmproxy (proxy/layers/http/__init__.py "
    "state_stream_request_body) wraps that into [b\"\"] and sends it as RequestData, which its "
    "HTTP/1 layer frames for a chunked request as `0\\r\\n\\r\\n`, the last-chunk marker; the "
    "transport flushes it before abort_flow's close. So the upstream receives a complete, "
    "well-formed request instead of an aborted one: empty when the block came on the first "
    "chunk, truncated otherwise (stream-mp-100k-parts: the first 770,041 of 7.8 MB), in 70 of 70 "
    "tries. An API that takes that as an upload commits an empty or partial file, and about 1 "
    "time in 16 the upstream's `200 {\"received\": 0}` reaches the client before the close. "
    "Tried in a scratch tree: returning [] (an empty iterable) instead of b\"\" fixes the "
    "mid-body cut-offs (4 of these 7 cases) but not a body that arrives with its end in one "
    "read (stream-ssn, stream-br-of-256mb-text, stream-mp-ssn-in-preamble): mitmproxy then "
    "still forwards RequestEndOfMessage, i.e. the terminator, after the block; the cut-off "
    "has to stop that too. Content-Length framed "
    "streams are not affected (an empty chunk sends no bytes there).")
for _name in ("stream-ssn", "stream-gzip-invalid", "stream-br-of-256mb-text",
              "stream-gzip-of-1gb-text", "stream-zstd-of-1gb-text", "stream-mp-ssn-in-preamble",
              "stream-mp-100k-parts"):
    bug(_name, {"agent"}, "as a complete request", _CUT_OFF)


def marks(case: str, where: str) -> list:
    import pytest

    entry = BUGS.get(case)
    if entry is None or where not in entry.where:
        return []
    return [pytest.mark.xfail(strict=True, raises=AssertionError, reason=entry.text)]


def assert_judged(judgement, case: str, where: str) -> None:
    """The judgement is clean, or holds only the pinned bug's problem (then AssertionError)."""
    import pytest

    entry = BUGS.get(case)
    if entry is not None and where in entry.where:
        others = [f"{k}: {m}" for k, m in judgement.problems if entry.signature not in m]
        if others:
            pytest.fail(f"{judgement.case} @ {judgement.where}: beyond the known bug: "
                        + "; ".join(others))
    assert judgement.ok, str(judgement)
