"""Classification markings and keyword dictionaries (both configured in rules/detectors.yaml).

Markings are banner-like: 'CONFIDENTIAL' in capitals at the top of a page, a label such as
'Classification: Confidential', or a specific phrase ('for official use only'). The word
'confidential' in an ordinary sentence ("keep your password confidential") is not a marking, so
banners are matched case-sensitively in upper case only.

Dictionaries are named term lists reported as an entity type (CONFIDENTIAL_MARKING by default):
project code names, case-file prefixes, anything whose mere presence matters.

Matching cost: hyperscan sees plain literals (words separated by single spaces, no start-of-
match tracking); whole-word boundaries, and the level after a label, are checked here for the
few actual hits. Caseless phrases with ``\\s+`` and ``\\b`` halve the speed of the shared pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.detect import entities as E
from agent.detect.config import DetectorConfig
from agent.detect.context import normalize
from agent.detect.detectors.base import SCORE_FORMAT, Detector, Pattern

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState

_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_LEVEL_RE = re.compile(rb"[ \t]*([A-Za-z][A-Za-z /]{0,40})")


def _literal(text: str) -> bytes:
    return re.escape(" ".join(text.split())).encode()


class MarkingDetector(Detector):
    entity = E.CONFIDENTIAL_MARKING

    def __init__(self, config: DetectorConfig):
        self.config = config
        self.levels = tuple(sorted({normalize(v) for v in config.markings.labels.levels},
                                   key=len, reverse=True))

    def patterns(self) -> Sequence[Pattern]:
        m = self.config.markings
        mark = E.CONFIDENTIAL_MARKING
        out = []
        for i, banner in enumerate(m.banners):
            lit = _literal(banner)
            out.append(Pattern(f"banner_{i}", lit, len(" ".join(banner.split())),
                               data=(mark, None)))
        for i, phrase in enumerate(m.phrases):
            out.append(Pattern(f"phrase_{i}", _literal(phrase), len(" ".join(phrase.split())),
                               caseless=True, data=(mark, None)))
        if m.labels.names and m.labels.levels:
            names = b"|".join(_literal(n) for n in m.labels.names)
            out.append(Pattern("label", b"(?:" + names + rb")[ \t]*[:=\-]", caseless=True,
                               som=False, data=(mark, "label")))
        for d in self.config.dictionaries:
            for j, term in enumerate(d.terms):
                out.append(Pattern(f"dict_{d.name}_{j}", _literal(term),
                                   len(" ".join(term.split())), caseless=not d.case_sensitive,
                                   data=(d.entity, term)))
        return out

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        buf, lo, hi = st.buf, st.lo, st.hi
        entity, term = pattern.data
        if term == "label":
            self._label(st, e)
            return
        if (s > lo and buf[s - 1] in _WORD) or (e < hi and buf[e] in _WORD):
            return  # part of a longer word: CONFIDENTIALITY, CUISINE
        norm = term if term is not None else " ".join(buf[s:e].decode("utf-8", "replace")
                                                      .upper().split())
        st.emit(entity, s, e, SCORE_FORMAT, "format", norm)

    def _label(self, st: ScanState, e: int) -> None:
        """'<name>:' matched; the marking is there only if a configured level follows."""
        buf, lo, hi = st.buf, st.lo, st.hi
        m = _LEVEL_RE.match(buf, e, hi)
        if m is None:
            return
        text = normalize(m.group(1).decode("ascii"))
        level = next((lv for lv in self.levels if text == lv or text.startswith(lv + " ")), None)
        if level is None:
            return
        # The label word itself: back over letters and single spaces to the line's start.
        line = buf.rfind(b"\n", max(lo, e - 80), e) + 1 or max(lo, e - 80)
        name = re.search(rb"[A-Za-z][A-Za-z ]*[ \t]*[:=\-]\Z", buf[max(line, lo):e])
        s = e - len(name.group()) if name else e - 1
        if s > lo and buf[s - 1] in _WORD:
            return
        end = m.start(1) + len(level)
        norm = normalize(buf[s:e].decode("ascii", "replace").rstrip(":=- \t")).upper()
        st.emit(E.CONFIDENTIAL_MARKING, s, end, SCORE_FORMAT, "format", f"{norm}: {level.upper()}")
