"""Extraction: an HTTP body (bytes + headers) in, text segments with provenance out.

Pure: no I/O, no network, no mitmproxy. ``extract`` never raises for any input; whatever
could not be read becomes an ``Uninspectable`` with a reason from ``UNINSPECTABLE_REASONS``
and everything read before the problem is kept, so a limit can hide the rest of a body but
never the part already seen.

Provenance: ``where`` names the body as a whole (segments of a plain body, problems with its
Content-Encoding); what is found inside it is named relative to the body, e.g.
``multipart:file=Q3.xlsx/sheet:Payroll``, ``json:$.post.text``, ``zip:member=a/b.docx/part:body``.
"""

from __future__ import annotations

import time

from agent.extract import encoding, sniff
from agent.extract.binary import printable_runs
from agent.extract.blob import Blob
from agent.extract.budget import Budget, Exhausted
from agent.extract.dispatch import Job
from agent.extract.forms import content_type_params
from agent.extract.model import (
    UNINSPECTABLE_REASONS,
    ExtractionResult,
    FileInfo,
    Limits,
    Segment,
    TableLayout,
    Uninspectable,
)

DEFAULT_LIMITS = Limits()  # frozen, so sharing one default is safe

__all__ = [
    "DEFAULT_LIMITS",
    "UNINSPECTABLE_REASONS",
    "ExtractionResult",
    "FileInfo",
    "Limits",
    "Segment",
    "TableLayout",
    "Uninspectable",
    "extract",
]


def extract(body: bytes, content_type: str | None = None, content_encoding: str | None = None,
            filename: str | None = None, limits: Limits = DEFAULT_LIMITS, where: str = "body",
            deadline: float | None = None) -> ExtractionResult:
    """Text segments, files and uninspectable parts of one body.

    ``content_type`` / ``content_encoding`` are the raw header values; ``filename`` names the
    body when it is a file upload as such (``dlp-agent scan``, a PUT of a file). ``deadline``
    is a ``time.monotonic()`` value, by default ``limits.max_seconds`` from now.

    Text past ``limits.memory_text_bytes`` is spilled to an anonymous file: call
    ``result.close()`` once done with the segments to release it.
    """
    result = ExtractionResult()
    budget = Budget(limits, time.monotonic() + limits.max_seconds if deadline is None
                    else deadline, result, where)
    try:
        if not isinstance(body, bytes):
            body = bytes(body)
        result.bytes_in = len(body)
        budget.resident = body
        _walk(body, content_type, content_encoding, filename, budget)
    except Exhausted:
        pass
    except Exception as e:  # noqa: BLE001 - never raise to the proxy; fail closed instead
        budget.record("internal_error", "", type(e).__name__)
    result.bytes_extracted = sum(s.size for s in result.segments)
    return result


def _walk(body: bytes, content_type: str | None, content_encoding: str | None,
          filename: str | None, budget: Budget) -> None:
    data, charged, truncated = body, False, False
    problem = None
    if body and content_encoding and content_encoding.strip():
        decoded, charged = encoding.decode_content(body, content_encoding, budget, "")
        data, problem, truncated = decoded.data, decoded.problem, decoded.truncated
    mime, params = content_type_params(content_type)
    blob = Blob(data, "", 0, name=filename, mime=mime, charset=params.get("charset"),
                boundary=params.get("boundary"), charged=charged, truncated=truncated,
                is_file=filename is not None or sniff.magic(data) is not None)
    if problem is not None:
        budget.record(problem.reason, "", problem.detail)
    Job(budget).open(blob)
    if content_encoding and data is not body and decoded.damaged:
        # a body that only claims an encoding keeps its own strings inspected too
        budget.emit(printable_runs(body), "")
