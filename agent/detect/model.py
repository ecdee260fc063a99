"""What detection produces: spans, never strings meant to leave the process."""

from __future__ import annotations

from dataclasses import dataclass, field

# How a finding was confirmed; recorded in incidents so analysts can weigh it.
VERDICTS = (
    "checksum",   # a check digit / checksum passed (Luhn, ABA, NPI, DEA) or structure verified
    "format",     # an unambiguous format (dashed SSN, AWS key prefix, PEM block, marking)
    "context",    # an ambiguous shape confirmed by words near the value
    "header",     # an ambiguous shape confirmed by its column header or field name
    "exact",      # exact data match against a County index (EDM / IDM)
)


@dataclass(slots=True)
class Finding:
    """One detected value: a span of ``segments[segment].data``.

    ``norm`` is the canonical form (digits only for numbers) used to count distinct values and
    to compute keyed hashes. It and the raw bytes stay in memory: they are excluded from
    ``repr`` so a log line or traceback that prints a Finding cannot leak them.
    """

    type: str
    segment: int
    start: int
    end: int
    score: float
    verdict: str
    norm: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
