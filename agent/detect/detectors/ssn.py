"""US Social Security numbers and IRS individual taxpayer numbers (same 3-2-4 shape).

The two never overlap: SSA does not issue area 9xx, ITINs always start with 9. A dashed SSN
that passes the SSA rules is strong on its own; an ITIN always needs a word (ITIN, taxpayer,
TIN) or a column because 9xx-xx-xxxx is also what people type as a *fake* SSN
(987-65-4320..4329 are the SSA's own advertising numbers).
"""

from __future__ import annotations

from agent.detect import entities as E
from agent.detect.detectors.base import NumberDetector
from agent.detect.validation import itin_ok, ssn_invalid_patterns, ssn_ok


class SsnDetector(NumberDetector):
    entity = E.SSN
    kinds = {"-324": True, " 324": False, ".324": False, "d9": False}

    def validate(self, digits: bytes) -> str | None:
        return digits.decode() if ssn_ok(digits) else None

    def invalid_patterns(self, length: int) -> list[bytes] | None:
        return ssn_invalid_patterns() if length == 9 else None


class ItinDetector(NumberDetector):
    entity = E.US_ITIN
    kinds = {"-324": False, " 324": False, ".324": False, "d9": False}

    def validate(self, digits: bytes) -> str | None:
        return digits.decode() if itin_ok(digits) else None
