"""Number shapes, matched once, and the router that decides which entity a number is.

Every digit-based detector (SSN, card, routing, NPI, phone, passport, licence, MRN, account)
registers the *kinds* of number it accepts. A kind is the shape of the match:

* ``d6`` .. ``d19``  a bare run of that many digits
* the separator then the group lengths for grouped numbers (one separator throughout):
  ``-324`` (123-45-6789), `` 334`` (914 555 1234), ``-1334`` (1-914-555-1234),
  ``(334`` ((914) 555-1234), ``-4444`` / `` 465`` (cards), ``-441`` (ABA), `` 333`` (NY licence)
* ``a1_7`` ``a1_8`` ``a2_7`` ``a1_18``  1-2 capital letters then digits (licences, DEA, passport)
* ``=<shape>`` a literal shape, e.g. ``=9 999-999-9999`` for +1 914-555-1234

For each match the router decides ONE entity type (Presidio returns every type whose regex
matched, so one 9-digit number comes back as SSN + passport + bank + licence):

1. The column header / field name, if it names any candidate type (or rules them all out).
2. Otherwise a strong candidate that validates (dashed valid SSN, Luhn + IIN card) wins,
   unless it is a bare digit run and a negative word (tracking, order) is its nearest label.
3. Otherwise the nearest context word around the value that names a candidate type; a
   negative word (order, invoice, zip ...) nearer than any positive one drops the number. The
   nearest label decides: if it says SSN and the value fails the SSA rules, nothing is reported
   (a 9xx "SSN" is a fake SSN, not a passport).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.detect.detectors.base import (
    CHECKSUM_BONUS,
    SCORE_CHECKSUM,
    SCORE_CONTEXT,
    SCORE_FORMAT,
    SCORE_HEADER,
    Detector,
    NumberDetector,
    Pattern,
)
from agent.detect.filters import is_date_digits, is_embedded_number

if TYPE_CHECKING:
    from agent.detect.context import Term
    from agent.detect.scanner import ScanState

# Triggers, not parsers: the full number is measured in Python around each match. Precise
# per-shape patterns (3-2-4, 3-3-4, 4-4-4-4 ...) in one database cost hyperscan 5x its speed on
# prose (exact repeat counts after a common separator blow up its automata); one generic
# grouped pattern with ranges stays at GB/s.
SHAPES = (
    Pattern("digits", rb"\b\d{6,19}\b", data="d"),
    Pattern("groups", rb"\b\d{3,4}[-. ]\d{2,6}[-. ]\d{3,5}\b", data="g"),
    Pattern("aba_dashed", rb"\b\d{4}-\d{4}-\d\b", 11, data="g"),
    Pattern("phone_paren", rb"\(\d{3}\) ?\d{3}[-. ]\d{4}\b", data="p"),
    Pattern("letters_digits", rb"\b[A-Z]{1,2}\d{6,18}\b", data="a"),
)

_NOT_DIGITS = bytes(c for c in range(256) if not 48 <= c <= 57)
_DIGITS = frozenset(b"0123456789")
_SEPS = frozenset(b"-. ")
_LEFT_STOP = frozenset(b"0123456789-.")  # before a '1' country code: more of a longer number
# A number's shape: digits -> '9', capitals -> 'A', everything else kept. "123-45-6789" has
# shape "999-99-9999"; one translate and one dict lookup classify a match.
_SHAPE = bytes(57 if 48 <= c <= 57 else 65 if 65 <= c <= 90 else c for c in range(256))
# Further groups after a match, same separator: the 4th group of a card number.
_TAIL = {sep: re.compile(re.escape(bytes([sep])) + rb"\d{1,9}(?=[^0-9]|\Z)") for sep in _SEPS}

_DROP = object()   # evidence rules the number out
_OPEN = object()   # evidence says nothing about these candidates


def shapes_of(kind: str) -> list[bytes]:
    """The shapes a kind stands for: 'd9' -> 999999999, '-324' -> 999-99-9999,
    'a1_7' -> A9999999, '(334' -> (999) 999-9999 and its separator variants."""
    if kind[0] == "d":
        return [b"9" * int(kind[1:])]
    if kind[0] == "a":
        letters, digits = kind[1:].split("_")
        return [b"A" * int(letters) + b"9" * int(digits)]
    if kind[0] == "=":
        return [kind[1:].encode()]
    if kind == "(334":
        return [b"(999)" + gap + b"999" + sep + b"9999" for gap in (b"", b" ")
                for sep in (b"-", b".", b" ")]
    sep = kind[0].encode()
    return [sep.join(b"9" * int(n) for n in kind[1:])]


@dataclass(frozen=True, slots=True)
class _Candidate:
    det: NumberDetector
    entity: str
    strong: bool
    checksum: bool
    extend: bool          # the detector may widen the span (+1 of a phone number)


@dataclass(frozen=True, slots=True)
class _Route:
    strong: tuple[_Candidate, ...]
    weak: tuple[_Candidate, ...]
    ordered: tuple[_Candidate, ...]   # all, registration order (priority on ties)
    entities: frozenset[str]
    # Column headers and field names repeat for every row: their plan is computed once.
    # id(terms) -> (terms, plan); the terms tuple is kept so its id cannot be reused.
    plans: dict = field(default_factory=dict)


def _plan(terms: Sequence[Term], cands: tuple[_Candidate, ...],
          ents: frozenset[str]) -> tuple[_Candidate, ...] | None:
    """What the evidence says: the candidates to validate, in priority order, for the first
    term naming any of them; () when a negative word comes first; None when no term says
    anything about these candidates."""
    for term in terms:
        hit = term.pos & ents
        if hit:
            return tuple(c for c in cands if c.entity in hit)
        if term.neg & ents:
            return ()
    return None


class NumberRouter(Detector):
    """Owns the number shapes; offers each match to the number detectors registered for its kind."""

    entity = ""

    def __init__(self, detectors: Sequence[NumberDetector]):
        self.detectors = tuple(detectors)
        table: dict[bytes, list[_Candidate]] = {}
        for det in self.detectors:
            ext = type(det).extend is not NumberDetector.extend
            for kind, strong in det.kinds.items():
                cand = _Candidate(det, det.entity, strong, det.checksum, ext)
                for shape in shapes_of(kind):
                    table.setdefault(shape, []).append(cand)
        self._routes = {
            shape: _Route(tuple(c for c in v if c.strong), tuple(c for c in v if not c.strong),
                          tuple(v), frozenset(c.entity for c in v))
            for shape, v in table.items()
        }

    def patterns(self) -> Sequence[Pattern]:
        return SHAPES

    def cell_plan(self, shape: bytes, terms: Sequence[Term]) -> tuple[_Candidate, ...] | None:
        """What ``on_match`` decides for a value of exactly this shape (``_SHAPE`` applied)
        that fills a table cell, matched whole by one shape pattern, under a column header
        with these terms: the candidates to validate in order, the first valid one reported
        with verdict 'header' (() when nothing is reported), or None when the header does
        not decide (the words around the value would). The table fast path relies on it."""
        route = self._routes.get(shape)
        if route is None:
            return ()
        return _plan(terms, route.ordered, route.entities) if terms else None

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        buf, lo, hi = st.buf, st.lo, st.hi
        if pattern.data == "g":
            # A grouped number: take further groups with its own separator on the right (a
            # card's 4th group) and a '1' country code on the left; more groups with its
            # separator on the left mean this match is the tail of a number seen already (or
            # of a longer one). "536-22-5555 536-22-5556" is two numbers, not one.
            sep = buf[s + 3] if buf[s + 3] in _SEPS else buf[s + 4]
            if e + 1 < hi and buf[e] == sep and buf[e + 1] in _DIGITS:
                tail = _TAIL[sep]
                m = tail.match(buf, e, hi)
                while m is not None and m.end() - s < 40:
                    e = m.end()
                    m = tail.match(buf, e, hi)
            if s - lo >= 2 and buf[s - 1] in _SEPS and buf[s - 2] in _DIGITS:
                if buf[s - 2] == 49 and (s - 2 == lo or buf[s - 3] not in _LEFT_STOP):
                    s -= 2  # "1-914-555-1234", "+1 914 555 1234"
                elif buf[s - 1] == sep:
                    return
        raw = buf[s:e]
        route = self._routes.get(raw.translate(_SHAPE))
        if route is None:
            return
        if is_embedded_number(buf, s, e, lo, hi):
            return  # part of a longer number: 12.123456789, 2024-123456789
        digits = raw if pattern.data in ("d", "a") else raw.translate(None, _NOT_DIGITS)

        if st.fixed:
            fixed = st.fixed_evidence(s)
            if fixed:
                cached = route.plans.get(id(fixed))
                if cached is None or cached[0] is not fixed:
                    if len(route.plans) > 4096:
                        route.plans.clear()
                    cached = route.plans[id(fixed)] = (
                        fixed, _plan(fixed, route.ordered, route.entities))
                plan = cached[1]
                if plan is not None:
                    # The nearest label decides: if it names SSN and the value is not a valid
                    # SSN, nothing is reported (not the next type that happens to validate).
                    for c in plan:
                        norm = c.det.validate(digits)
                        if norm is not None:
                            st.emit(c.entity, c.det.extend(buf, s, lo) if c.extend else s, e,
                                    SCORE_HEADER + CHECKSUM_BONUS if c.checksum
                                    else SCORE_HEADER, "header", norm)
                            return
                    return

        for c in route.strong:
            norm = c.det.validate(digits)
            if norm is not None:
                # A bare 13-19 digit run is where tracking and order numbers live (a FedEx
                # number can pass Luhn with an Amex prefix): a negative word nearer than any
                # positive one still drops it. Grouped card numbers are not written so.
                if pattern.data == "d" and self._decide(st.window(s, e), route.ordered,
                                                        route.entities, digits) is _DROP:
                    return
                st.emit(c.entity, c.det.extend(buf, s, lo) if c.extend else s, e,
                        SCORE_CHECKSUM if c.checksum else SCORE_FORMAT,
                        "checksum" if c.checksum else "format", norm)
                return

        if not route.weak or (len(digits) == 8 and is_date_digits(digits)):
            return
        r = self._decide(st.window(s, e), route.weak, route.entities, digits)
        if r is not _DROP and r is not _OPEN:
            c, norm = r
            st.emit(c.entity, c.det.extend(buf, s, lo) if c.extend else s, e,
                    SCORE_CONTEXT + CHECKSUM_BONUS if c.checksum else SCORE_CONTEXT,
                    "context", norm)

    @staticmethod
    def _decide(terms: Sequence[Term], cands: tuple[_Candidate, ...], ents: frozenset[str],
                digits: bytes):
        """(candidate, norm) per the evidence's plan, _DROP, or _OPEN (evidence is silent)."""
        plan = _plan(terms, cands, ents)
        if plan is None:
            return _OPEN
        for c in plan:
            norm = c.det.validate(digits)
            if norm is not None:
                return c, norm
        return _DROP
