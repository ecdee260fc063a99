"""North American phone numbers.

Written like a phone number ((914) 555-1234, 914-555-1234, 914.555.1234, +1 914 555 1234) and
valid under NANP rules: reported without context. A bare 10-digit run needs a word (phone,
cell, fax ...) or a column; so do 11 digits starting with 1. The canonical value is 10 digits.
"""

from __future__ import annotations

from agent.detect import entities as E
from agent.detect.detectors.base import NumberDetector
from agent.detect.validation import nanp_invalid_patterns, nanp_ok

_PREFIX_SEPS = frozenset(b" -.")
_NUMBER_CHARS = frozenset(b"0123456789+-.")


class PhoneDetector(NumberDetector):
    entity = E.PHONE
    kinds = {**{f"{sep}334": True for sep in "-. "},
             # a '1' country code with any separator: 1-914-555-1234, +1 914.555.1234
             **{f"=9{c}999{sep}999{sep}9999": True for c in "-. " for sep in "-. "},
             "(334": True, "d10": False, "d11": False}

    def validate(self, digits: bytes) -> str | None:
        if len(digits) == 11:
            if digits[0] != 49:  # '1'
                return None
            digits = digits[1:]
        return digits.decode() if nanp_ok(digits) else None

    def invalid_patterns(self, length: int) -> list[bytes] | None:
        return nanp_invalid_patterns() if length == 10 else None

    def extend(self, buf: bytes, s: int, lo: int) -> int:
        """Take a +1 / 1 country prefix into the span ("+1 (914) 555-1234"); the router has
        already joined it to dash/dot/space-grouped numbers, leaving only the '+'."""
        if s <= lo:
            return s
        c = buf[s - 1]
        if c == 43 and buf[s] == 49:
            return s - 1  # '+' of "+1 914 555 1234"
        if s - lo >= 2 and c in _PREFIX_SEPS and buf[s - 2] == 49:
            start = s - 2
            if start > lo and buf[start - 1] == 43:
                start -= 1
            if start == lo or buf[start - 1] not in _NUMBER_CHARS:
                return start
        return s
