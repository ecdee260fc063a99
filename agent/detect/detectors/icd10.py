"""ICD-10-CM diagnosis codes (E11.9, J45.909, I10, dotless E119 in claims files).

The shape (letter, digit, digit-or-A/B, optional 1-4 more) is common in part numbers and IDs,
so a code is reported only with a word (diagnosis, dx, ICD) or a column / field naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.detect import entities as E
from agent.detect.detectors.base import SCORE_CONTEXT, SCORE_HEADER, Detector, Pattern
from agent.detect.validation import icd10_norm

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState

_ALNUM = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class Icd10Detector(Detector):
    entity = E.ICD10_MEDICAL

    def patterns(self) -> Sequence[Pattern]:
        return (Pattern("icd10", rb"\b[A-TV-Z]\d[0-9AB](?:\.?[0-9A-TV-Z]{1,4})?\b"),)

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        buf = st.buf
        if e + 1 < st.hi and buf[e] == 46 and buf[e + 1] in _ALNUM:
            return  # 'E11' of 'E11.9': the longer match reports it
        norm = icd10_norm(buf[s:e])
        if norm is None:
            return
        verdict = st.confirm(self.entity, s, e)
        if verdict is not None:
            st.emit(self.entity, s, e, SCORE_HEADER if verdict == "header" else SCORE_CONTEXT,
                    verdict, norm)
