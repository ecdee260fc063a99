"""Values the index matchers produce and take: hits, column specifications."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.detect.entities import INDEX_NAME_RE

COLUMN_KINDS = ("name", "date", "number", "text")
MAX_TEXT_TOKENS = 8          # longer text cells are not indexed (addresses fit, paragraphs do not)


class DeadlineExceeded(Exception):
    """Matching ran past the inspection deadline; the body counts as not fully inspected."""


@dataclass(frozen=True, slots=True)
class IndexHit:
    """One protected record row or document found in a body. Content-free by construction.

    ``ref`` names the row (``row 1234``: 1-based data row of the indexed table, header not
    counted) or the document (``doc d-<12 hex>``); ``where`` is the provenance of the segment
    where the match starts.
    """

    type: str                      # "EDM:<dataset>" or "IDM:<collection>"
    ref: str
    where: str
    fields: tuple[str, ...] = ()   # EDM: the columns that matched
    fraction: float | None = None  # IDM: share of the document's fingerprints found
    title: str | None = None       # IDM: stored only when the index was built with --titles


@dataclass(frozen=True, slots=True)
class Column:
    """An indexed column: where its value comes from, how it is read, what it weighs.

    A row matches when the weights of its columns found close together reach the index's
    ``min_fields`` and every ``required`` column is among them (e.g. ``ssn`` weight 2 with
    min_fields 2: an SSN alone is enough; name and dob weight 1: both are needed).
    """

    name: str
    sources: tuple[str, ...]       # header(s) in the source table; several are joined by a space
    kind: str = "text"
    weight: int = 1
    required: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "sources": list(self.sources), "kind": self.kind,
                "weight": self.weight, "required": self.required}

    @classmethod
    def from_dict(cls, d: dict) -> Column:
        return cls(str(d["name"]), tuple(d["sources"]), str(d["kind"]), int(d["weight"]),
                   bool(d.get("required", False)))


_HINTS = (  # header words -> kind, first match wins
    (("ssn", "social", "itin", "tin"), "number"),
    (("dob", "birth", "date"), "date"),
    (("phone", "tel", "mobile", "cell", "fax"), "number"),
    (("case", "docket", "account", "acct", "mrn", "license", "licence", "zip", "number", "no",
      "id"), "number"),
    (("name",), "name"),
)


def guess_kind(header: str) -> str:
    words = set(re.split(r"[^a-z0-9]+", header.lower()))
    joined = header.lower()
    for hints, kind in _HINTS:
        if words & set(hints) or any(h in joined for h in hints if len(h) > 3):
            return kind
    return "text"


_SPEC_RE = re.compile(r"^(?P<label>[^=:]+?)(?:=(?P<src>[^:]+))?"
                      r"(?::(?P<kind>[a-z]*)(?::(?P<weight>\d+))?(?::(?P<req>required))?)?$")


def parse_column(spec: str) -> Column:
    """``HEADER[=SRC+SRC][:KIND[:WEIGHT[:required]]]``, e.g. ``ssn:number:2``, ``dob:date``,
    ``full_name=first+last:name:1:required``. KIND defaults to a guess from the header."""
    m = _SPEC_RE.match(spec.strip())
    if not m:
        raise ValueError(f"cannot parse column {spec!r}; write e.g. 'ssn:number:2', 'dob:date' "
                         "or 'full_name=first+last:name:1:required'")
    label = m["label"].strip()
    sources = tuple(s.strip() for s in (m["src"] or label).split("+") if s.strip())
    kind = m["kind"] or guess_kind(sources[0] if len(sources) == 1 else label)
    if kind not in COLUMN_KINDS:
        raise ValueError(f"unknown column kind {kind!r} in {spec!r}; "
                         f"one of {', '.join(COLUMN_KINDS)}")
    weight = int(m["weight"]) if m["weight"] else 1
    if not 1 <= weight <= 100:
        raise ValueError(f"column weight must be 1..100 in {spec!r}")
    return Column(label, sources, kind, weight, bool(m["req"]))


def check_index_name(name: str, what: str) -> str:
    if not re.fullmatch(INDEX_NAME_RE, name):
        raise ValueError(f"{what} name {name!r} must match {INDEX_NAME_RE} (lower-case letters, "
                         "digits, underscore; it becomes a detection type and a metric label)")
    return name
