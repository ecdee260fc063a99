"""Bugs the suite has found and that are not fixed yet, by case name and where they show.

Each entry turns the matching test into ``xfail(strict=True)``: it fails today, for the
reason written here; when the bug is fixed the test passes, the strict xfail turns that
into a failure, and the entry must be removed. ``where`` is ``inproc``, ``agent`` or both.
"""

from __future__ import annotations

BUGS: dict[str, tuple[frozenset[str], str]] = {}


def bug(case: str, where: set[str], text: str) -> None:
    BUGS[case] = (frozenset(where), text)


bug("mp-nested-5000", {"inproc", "agent"},
    "agent/extract/dispatch.py Job._open: a multipart part that is itself multipart is opened "
    "before the max_depth check (that check only runs for files found by magic), so 5,000 "
    "nested multipart levels recurse Job.open -> forms.multipart_body -> forms._part -> "
    "Job.open until RecursionError, recorded as internal_error (a bug by the extractor's own "
    "definition) instead of depth_limit; the SSN in the innermost part is not reported.")
bug("mp-ssn-in-preamble", {"inproc", "agent"},
    "agent/extract/forms.py multipart_body: bytes before the first delimiter (the preamble) are "
    "skipped by the multipart parser and never scanned, and the result is `complete`: an SSN "
    "placed there is forwarded to a paste site without a finding or an uninspectable reason.")
bug("mp-ssn-in-epilogue", {"inproc", "agent"},
    "agent/extract/forms.py multipart_body: bytes after the closing delimiter (the epilogue) "
    "are ignored by the parser and never scanned; the result is `complete`, so an SSN there "
    "passes to a paste site unseen.")
bug("stream-mp-ssn-in-preamble", {"inproc", "agent"},
    "The same preamble gap as mp-ssn-in-preamble, in process; through the agent the body is "
    "chunked, so agent/streaming.py StreamInspector._feed_multipart is used, and the "
    "`multipart` push parser drops the preamble there too.")
bug("stream-br-of-256mb-text", {"agent"},
    "agent/streaming.py _Decoder.feed: Content-Encoding of a streamed body is decoded with no "
    "output bound and no ratio limit (brotli process() / zlib decompress() / zstd decompressobj "
    "without a max length). A 405-byte chunked brotli body becomes 256 MiB in one call: the "
    "proxy's VmHWM rises by ~500 MiB and the 256 MiB are scanned on the event loop; 10 GB "
    "(~16 KB on the wire) would exhaust memory. No ratio_limit is recorded, so the body passes.")
bug("stream-gzip-of-1gb-text", {"agent"},
    "agent/streaming.py _Decoder.feed: as stream-br-of-256mb-text, for gzip: each 64 KiB chunk "
    "of a gzip bomb inflates to ~64 MiB in one call, 1 GiB is decoded and scanned on the event "
    "loop and no ratio_limit is recorded.")
bug("stream-zstd-of-1gb-text", {"agent"},
    "agent/streaming.py _Decoder.feed: as stream-br-of-256mb-text, for zstd (decompressobj "
    "returns everything a frame holds).")
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


def marks(case: str, where: str) -> list:
    import pytest

    entry = BUGS.get(case)
    if entry is None or where not in entry[0]:
        return []
    return [pytest.mark.xfail(strict=True, reason=entry[1])]
