"""Context words: what the text around a value, its column header or its field name says it is.

A bare 9-digit number may be an SSN, a routing number, a passport, a NY licence, an MRN or
nothing; the words nearest to it decide. Presidio looks at 5 tokens *before* a value; here the
evidence is

* a byte window before **and after** the value, clipped to its segment (``window``), and
* the name of the value's CSV/XLSX column or JSON/form field (``names``).

Words are matched case- and punctuation-insensitively on whole words: the window is lowered and
every byte that is not a letter or digit becomes a space, so ``SSN#``, ``ssn_number`` and
``Social-Security`` match ``ssn`` and ``social security``. Matching runs on a small hyperscan
database of all configured terms, only for candidates that need it (lazy: prose without
numbers costs nothing here).

Evidence is a sequence of ``Term`` (nearest first). A term is *positive* for the entity types
it names and *negative* for others; the caller takes the first term that says anything about
its candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import hyperscan

from agent.detect import entities as E
from agent.detect.config import DetectorConfig
from agent.detect.hsutil import ThreadScratch

# Lower-case letters and digits stay, everything else becomes a space (1:1, offsets are kept).
_NORM = bytes(
    (c + 32 if 65 <= c <= 90 else c) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else 32
    for c in range(256)
)
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
ALL_ENTITIES = frozenset(E.ALL)


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    pos: frozenset[str]   # entity types this word confirms
    neg: frozenset[str]   # entity types this word rules out


def normalize(text: str) -> str:
    """camelCase split, lower-cased, punctuation to single spaces: 'SSN#' -> 'ssn'."""
    spaced = _CAMEL_RE.sub(" ", text).encode("utf-8", "replace").translate(_NORM)
    return " ".join(spaced.decode("ascii").split())


def _collect(tid: int, frm: int, to: int, flags: int, hits: list) -> None:
    hits.append((tid, frm, to))


class ContextIndex:
    """All configured context and negative words, compiled once; safe to share across threads."""

    def __init__(self, config: DetectorConfig):
        self.before = config.window.before
        self.after = config.window.after
        pos: dict[str, set[str]] = {}
        neg: dict[str, set[str]] = {}
        for entity, ec in config.entities.items():
            for t in ec.context:
                pos.setdefault(normalize(t), set()).add(entity)
            for t in ec.negative:
                neg.setdefault(normalize(t), set()).add(entity)
        for t in config.negative_context:
            neg.setdefault(normalize(t), set()).update(ALL_ENTITIES)
        words = sorted(set(pos) | set(neg))
        self.terms = [Term(w, frozenset(pos.get(w, ())),
                           frozenset(neg.get(w, set()) - pos.get(w, set())))
                      for w in words]
        self._db: hyperscan.Database | None = None
        if words:
            exprs = [rb"\b" + rb" +".join(re.escape(p).encode() for p in w.split()) + rb"\b"
                     for w in words]
            self._db = hyperscan.Database()
            self._db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs),
                             flags=[hyperscan.HS_FLAG_SOM_LEFTMOST] * len(exprs))
            self._scratches = ThreadScratch(self._db)
        self._names: dict[str, tuple[Term, ...]] = {}

    def _scratch(self) -> hyperscan.Scratch:
        return self._scratches.get()

    def _hits(self, text: bytes) -> list[tuple[int, int, int]]:
        hits: list[tuple[int, int, int]] = []
        if self._db is not None and text:
            self._db.scan(text, match_event_handler=_collect, context=hits, scratch=self._scratch())
        return hits

    def window(self, buf: bytes, s: int, e: int, lo: int, hi: int) -> list[Term]:
        """Terms around buf[s:e] within [lo, hi) and its paragraph, nearest first. A word after
        the value counts for less than the same word before it ('SSN: x' is the usual order)."""
        a = s - self.before
        if a < lo:
            a = lo
        b = e + self.after
        if b > hi:
            b = hi
        # A blank line ends a paragraph: words in the paragraph before say nothing about this one.
        p = buf.rfind(b"\n\n", a, s)
        if p >= 0:
            a = p + 2
        p = buf.find(b"\n\n", e, b)
        if p >= 0:
            b = p
        hits = self._hits(buf[a:b].translate(_NORM))
        if not hits:
            return []
        cs, ce = s - a, e - a
        scored = []
        for tid, frm, to in hits:
            if to <= cs:
                d = cs - to
            elif frm >= ce:
                d = 2 * (frm - ce) + 4
            else:
                continue  # the value itself
            scored.append((d, frm - to, tid))  # longer term first on ties ("patient id" > "id")
        scored.sort()
        terms = self.terms
        return [terms[tid] for _, _, tid in scored]

    def names(self, name: str) -> tuple[Term, ...]:
        """Terms in a column header or field name ('Social Security #', 'routingNumber'),
        longest first. Cached: the same few names come back for every row."""
        got = self._names.get(name)
        if got is None:
            text = normalize(name).encode("ascii")
            hits = self._hits(text)
            hits.sort(key=lambda h: h[1] - h[2])
            got = tuple(dict.fromkeys(self.terms[tid] for tid, _, _ in hits))
            if len(self._names) > 4096:  # bounded: field names come from the outside
                self._names.clear()
            self._names[name] = got
        return got
