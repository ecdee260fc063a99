"""Exact Data Match: keyed hashes of a protected table's cells; a row matches when enough of its
columns occur close together in a body.

Index (kind "edm"): three parallel arrays sorted by value -- ``values`` (u64 keyed hash of one
canonical cell), ``rows`` (u32, 0-based data row), ``cols`` (u8, column index) -- plus the
manifest's columns, ``min_fields`` and ``window``.

Cell values by column kind (canonical tokens and their hashes come from ``tokens``):
  number  one token of letters and digits (SSN, phone, case number): its hash;
  date    the canonical date token: its hash;
  name    first and last name ("Last, First M." or "First M. Last"; initials, titles and
          suffixes dropped): the sum of the two hashes, so either order matches;
  text    every token (at most MAX_TEXT_TOKENS): the sum of their hashes.

Matching a body: (1) cheap test on the body's *vocabulary* (its distinct tokens): which
single-token values occur at all (the big value set is probed with the body's non-word tokens
only -- numbers, dates, ids -- and a small set of one-word cells with its words); for the rows
holding them, does the row's name occur too (both the first and the last name hash, kept per
row in ``nameparts``, are in the vocabulary)? When no row can reach ``min_fields``, stop. Most
bodies stop here, prose with dates in it included. (2) Otherwise find the candidate rows'
values in the token stream: single tokens, and names as adjacent pairs or pairs one token apart
(a middle name or initial between); when the vocabulary cannot decide (text columns of several
words, or a name alone enough), walk every n-gram of the body against the whole index instead.
Hits are grouped by row and a row matches when hits inside one window of ``window`` tokens
reach ``min_fields`` (one token position counts for one column only).

Cost: the per-row work (candidate rows of step 1, the window test of step 2) is done by
``_fast`` (``edm_candidates``, ``row_windows``) when built; the numpy/Python forms here are the
reference and the fallback, and tests pin the two equal.
"""

from __future__ import annotations

import datetime as _dt
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from agent.extract.model import Segment
from agent.fingerprint import tokens as T
from agent.fingerprint.model import (
    MAX_TEXT_TOKENS,
    Column,
    DeadlineExceeded,
    IndexHit,
    check_index_name,
)

DEFAULT_WINDOW = 32          # tokens: a CSV / JSON / table record of a dozen fields fits
_DROP = {b"mr", b"mrs", b"ms", b"miss", b"dr", b"prof", b"rev", b"hon", b"jr", b"sr", b"ii",
         b"iii", b"iv", b"esq", b"md", b"phd"}


# ---- cell values (shared by building and by tests that need the canonical form) ----

def name_parts(cell: str) -> list[bytes]:
    """[first, last] of a person's name cell, or [single] for a one-word name, or []."""
    if "," in cell:
        last_part, _, first_part = cell.partition(",")
        last = [t for t in T.tokens(last_part) if t not in _DROP and len(t) > 1]
        first = [t for t in T.tokens(first_part) if t not in _DROP and len(t) > 1]
        if last and first:
            return [first[0], last[-1]]
        return (last or first)[:1]
    toks = [t for t in T.tokens(cell) if t not in _DROP and len(t) > 1]
    if len(toks) >= 2:
        return [toks[0], toks[-1]]
    return toks


def cell_tokens(kind: str, value: object) -> list[bytes] | None:
    """Canonical tokens whose hashes sum to the cell's value; None when the cell is unusable."""
    if value is None:
        return None
    if isinstance(value, (_dt.datetime, _dt.date)):
        d = value.date() if isinstance(value, _dt.datetime) else value
        return [d.isoformat().encode()] if kind in ("date", "text") else None
    text = str(value).strip()
    if not text:
        return None
    if kind == "name":
        return name_parts(text) or None
    toks = T.tokens(text)
    if kind == "date":
        if len(toks) == 1 and T.canonical_date(toks[0]) == toks[0]:
            return toks
        # "1990-01-02 00:00:00" from a spreadsheet export: a date then time parts
        if toks and T.canonical_date(toks[0]) == toks[0] and all(t.isdigit() for t in toks[1:]):
            return toks[:1]
        return None
    if kind == "number":
        joined = b"".join(toks)
        if len(joined) == 11 and joined[:1] == b"1" and joined.isdigit():
            joined = joined[1:]
        return [joined] if joined else None
    return toks if 0 < len(toks) <= MAX_TEXT_TOKENS else None


@dataclass
class BuildStats:
    rows: int = 0
    cells: int = 0
    skipped: dict[str, int] = field(default_factory=dict)    # column -> unusable cells
    distinct: dict[str, int] = field(default_factory=dict)   # column -> distinct values


def build_records(rows: Iterable[Sequence[object]], header: Sequence[str],
                  columns: Sequence[Column], key: bytes, dataset: str, *,
                  min_fields: int = 2, window: int = DEFAULT_WINDOW,
                  source: str = "") -> tuple[dict, dict[str, array], BuildStats]:
    """Manifest fields, arrays and statistics for an EDM index over ``rows``."""
    check_index_name(dataset, "dataset")
    if not columns:
        raise ValueError("no columns to index")
    if len(columns) > 255:
        raise ValueError("at most 255 columns")
    if min_fields < 1:
        raise ValueError("min_fields must be >= 1")
    if window < 2:
        raise ValueError("window must be >= 2 tokens")
    lowered = [h.strip().lower() for h in header]
    index: list[list[int]] = []
    for c in columns:
        try:
            index.append([lowered.index(s.lower()) for s in c.sources])
        except ValueError:
            missing = [s for s in c.sources if s.lower() not in lowered]
            raise ValueError(f"column {c.name!r}: no header {missing[0]!r} in the source "
                             f"(headers: {', '.join(header)})") from None
    if sum(c.weight for c in columns) < min_fields:
        raise ValueError(f"the columns' weights add up to {sum(c.weight for c in columns)}, "
                         f"less than min_fields {min_fields}: no row could ever match")
    h = T.TokenHasher(key)
    memo: dict[bytes, int] = {}
    stats = BuildStats()
    packed: list[int] = []
    name_cols = [ci for ci, c in enumerate(columns) if c.kind == "name"]
    parts = array("Q")          # per row and name column: hash of first, hash of last (or 0, 0)
    lengths: set[int] = set()
    word_values: set[int] = set()   # one-word cells: matched against a body's plain words
    distinct: list[set[int]] = [set() for _ in columns]
    for r, row in enumerate(rows):
        stats.rows += 1
        for ci, (c, idx) in enumerate(zip(columns, index, strict=True)):
            if len(idx) == 1:
                raw = row[idx[0]] if idx[0] < len(row) else None
            else:
                raw = " ".join(str(row[i]) for i in idx if i < len(row) and row[i] is not None)
            toks = cell_tokens(c.kind, raw)
            if not toks:
                if raw is not None and str(raw).strip():
                    stats.skipped[c.name] = stats.skipped.get(c.name, 0) + 1
                if c.kind == "name":
                    parts.extend((0, 0))
                continue
            hs = []
            for t in toks:
                x = memo.get(t)
                if x is None:
                    x = memo[t] = h(t)
                hs.append(x)
            v = sum(hs)
            if len(toks) == 1 and toks[0].isalpha():
                word_values.add(v)
            if c.kind == "name":
                parts.extend(hs if len(hs) == 2 else (0, 0))
            stats.cells += 1
            if c.kind == "text":
                lengths.add(len(toks))
            distinct[ci].add(v)
            packed.append((v << 40) | (r << 8) | ci)
    if stats.rows >= 1 << 32:
        raise ValueError("at most 2**32 rows per index")
    packed.sort()
    mask32 = (1 << 32) - 1
    values = array("Q", [p >> 40 for p in packed])
    rws = array("I", [(p >> 8) & mask32 for p in packed])
    cols = array("B", [p & 0xFF for p in packed])
    for c, d in zip(columns, distinct, strict=True):
        stats.distinct[c.name] = len(d)
    manifest = {
        "kind": "edm", "name": dataset,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "key_id": T.key_id(key), "tokenizer": T.TOKENIZER_VERSION, "hash": "blake2b-60/sum",
        "columns": [c.to_dict() for c in columns], "min_fields": min_fields, "window": window,
        "text_lengths": sorted(lengths), "rows": stats.rows, "cells": stats.cells,
        "source": source,
    }
    manifest["name_columns"] = name_cols
    arrays = {"values": values, "rows": rws, "cols": cols, "nameparts": parts,
              "words": array("Q", sorted(word_values))}
    return manifest, arrays, stats


class RecordMatcher:
    """EDM matcher over one loaded index; immutable after construction, so thread-safe.

    The index arrays are numpy arrays (``storage``); lookups go through ``tokens.SortedSet``
    (a bitmap in front of a binary search over the sorted values), never a hash set of
    millions of Python ints.
    """

    kind = "edm"

    def __init__(self, manifest: dict, arrays: dict, key: bytes,
                 hasher: T.TokenHasher | None = None):
        self.name = f"EDM:{manifest['name']}"
        self.manifest = manifest
        self.key_id = manifest["key_id"]
        self.columns = [Column.from_dict(c) for c in manifest["columns"]]
        self.min_fields = int(manifest["min_fields"])
        self.window = int(manifest["window"])
        self._values = np.asarray(arrays["values"], np.uint64)      # sorted
        self._rows = np.asarray(arrays["rows"], np.uint32)
        self._cols = np.asarray(arrays["cols"], np.uint8)
        self._parts = np.asarray(arrays["nameparts"], np.uint64)
        self._words = np.asarray(arrays["words"], np.uint64)        # sorted
        self._name_cols = list(manifest["name_columns"])
        self._name_col_ids = np.array(self._name_cols, np.int64)
        self._hasher = hasher or T.TokenHasher(key)   # one per key: its word cache is shared
        self._weights = [c.weight for c in self.columns]
        self._weight_of = np.array(self._weights, np.int64)
        self._required = frozenset(i for i, c in enumerate(self.columns) if c.required)
        self._required_mask = (sum(1 << c for c in self._required)
                               if all(c < 64 for c in self._required) else None)
        self._compiled = self._hasher.compiled is not None
        self._value_set = T.SortedSet(self._values, self._compiled)
        self._word_set = T.SortedSet(self._words, self._compiled)
        self._has_names = any(c.kind == "name" for c in self.columns)
        lengths = set(manifest.get("text_lengths", []))
        self._sums = sorted(m for m in lengths if m >= 2)
        # Columns whose values are sums of several tokens: invisible to the vocabulary test
        # (names are checked per candidate row through their first/last name hashes).
        self._text_weight = sum(c.weight for c in self.columns if c.kind == "text" and self._sums)
        self._multi_weight = self._text_weight + sum(c.weight for c in self.columns
                                                     if c.kind == "name")

    def __repr__(self) -> str:
        return f"RecordMatcher({self.name}, {len(self._values)} cells)"

    def _postings(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, row, column) of every index cell holding one of ``values`` (sorted, unique)."""
        idx, _ = T.postings(self._values, values)
        return self._values[idx], self._rows[idx], self._cols[idx]

    def _candidates(self, singles: np.ndarray, view: T.TokenView) -> _Wanted | None:
        """Rows that can reach min_fields, with the values to look for. Single-token columns
        come from ``singles``; a name column counts when both the row's first and last name are
        in the body's vocabulary. None when that cannot be decided from the vocabulary (text
        columns of several words, or names alone enough): the caller then walks every n-gram of
        the body."""
        if self._multi_weight >= self.min_fields or self._text_weight:
            return None
        if not len(singles):
            return _NOTHING
        if self._compiled and len(self.columns) <= 64 and len(self._name_cols) <= 32:
            at, _ = T.postings(self._values, singles)
            vocab = view.vocabulary_set() if self._name_cols else None
            values, rows, cols, names = T._fast.edm_candidates(
                at.astype(np.int64), self._values, self._rows, self._cols, self._weight_of,
                self._parts, self._name_col_ids, vocab, self.min_fields)
            return _Wanted(np.frombuffer(values, np.uint64), np.frombuffer(rows, np.int64),
                           np.frombuffer(cols, np.uint8), names)
        return self._candidates_numpy(singles, view)

    def _candidates_numpy(self, singles: np.ndarray, view: T.TokenView) -> _Wanted:
        vals, rows, cols = self._postings(singles)
        # weight per row from its distinct columns (a date shared by 30 rows is 30 postings)
        pairs = T.distinct(rows.astype(np.int64) << 8 | cols)      # sorted by row
        first_of_row = np.ones(len(pairs), bool)
        first_of_row[1:] = (pairs[1:] >> 8) != (pairs[:-1] >> 8)
        prow = pairs[first_of_row] >> 8
        inverse = np.cumsum(first_of_row) - 1
        pcols = (pairs & 0xFF).astype(np.intp)
        weight = np.bincount(inverse, self._weight_of[pcols], len(prow)).astype(np.int64)
        nn = len(self._name_cols)
        names: list[tuple[int, np.ndarray, np.ndarray]] = []    # (column, row ok, first + last)
        if nn:
            vocab = view.vocabulary
            for j, c in enumerate(self._name_cols):
                has = np.zeros(len(prow), bool)
                has[inverse[pcols == c]] = True
                base = (prow * nn + j) * 2
                first, last = self._parts[base], self._parts[base + 1]
                ok = ~has & (first != 0) & T.member(first, vocab) & T.member(last, vocab)
                weight[ok] += self._weights[c]
                names.append((c, ok, first + last))
        keep = weight >= self.min_fields
        if not keep.any():
            return _NOTHING
        kept = prow[keep]
        sel = T.member(rows.astype(np.uint64), kept.astype(np.uint64))
        values, rws, cls = [vals[sel]], [rows[sel].astype(np.int64)], [cols[sel]]
        pairs_too = False
        for c, ok, pair in names:
            use = ok & keep
            if use.any():
                pairs_too = True
                values.append(pair[use])
                rws.append(prow[use])
                cls.append(np.full(int(use.sum()), c, np.uint8))
        return _Wanted(np.concatenate(values), np.concatenate(rws), np.concatenate(cls), pairs_too)

    def match(self, segments: Sequence[Segment], deadline: float | None = None,
              shared: dict | None = None) -> list[IndexHit]:
        view = token_view(segments, self._hasher, self.key_id, shared, deadline)
        # Numbers, dates, ids are among the body's few non-word tokens; the big value set is
        # probed with those only (plus the one-word cells, a small set, with the words).
        singles = view.rare[self._value_set.find(view.rare)]
        if len(self._word_set):
            at = self._word_set.find(view.stream)
            if len(at):
                singles = T.distinct(np.concatenate((singles, view.stream[at])))
        wanted = self._candidates(singles, view)
        if wanted is not None and not len(wanted.values):
            return []
        _check(deadline)
        hs = view.stream
        pos, rows, cols = (self._walk(hs, deadline) if wanted is None
                           else self._find(hs, wanted, deadline))
        _check(deadline)
        return [IndexHit(self.name, f"row {r + 1}", view.where(first, segments),
                         fields=tuple(self.columns[c].name for c in sorted(found)))
                for r, found, first in self._matched_rows(pos, rows, cols)]

    @staticmethod
    def _grams(hs: np.ndarray, names: bool, sums: Sequence[int] = ()) -> list[np.ndarray]:
        """The stream, and when asked adjacent pairs, pairs one apart (a middle name or initial
        between first and last) and longer runs, each as sums of token hashes."""
        gens = [hs]
        with np.errstate(over="ignore"):
            if names or 2 in sums:
                gens.append(hs[:-1] + hs[1:])
            if names:
                gens.append(hs[:-2] + hs[2:])
        gens.extend(T.np_window_sums(hs, m) for m in sums if m >= 3)
        return gens

    def _find(self, hs: np.ndarray, wanted: _Wanted, deadline: float | None) -> _Hits:
        """Positions of the candidate rows' values: single tokens, and names as pairs of
        adjacent tokens or tokens one apart."""
        order = np.argsort(wanted.values, kind="stable")
        values, rows, cols = wanted.values[order], wanted.rows[order], wanted.cols[order]
        keys = T.SortedSet(T.distinct(values), self._compiled)
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for g in self._grams(hs, wanted.names):
            _check(deadline)
            at = keys.find(g)
            if len(at):
                idx, counts = T.postings(values, g[at])
                out.append((np.repeat(at, counts), rows[idx], cols[idx]))
        return _concat(out)

    def _walk(self, hs: np.ndarray, deadline: float | None) -> _Hits:
        """Every n-gram of the body against the whole index (text columns, names alone)."""
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for g in self._grams(hs, self._has_names, self._sums):
            _check(deadline)
            at = self._value_set.find(g)
            if len(at):
                idx, counts = T.postings(self._values, g[at])
                out.append((np.repeat(at, counts), self._rows[idx].astype(np.int64),
                            self._cols[idx]))
        return _concat(out)

    def _matched_rows(self, pos: np.ndarray, rows: np.ndarray, cols: np.ndarray
                      ) -> list[tuple[int, set[int], int]]:
        """(row, matched columns, first position of the row's hits) of each matching row."""
        if not len(pos):
            return []
        order = np.lexsort((cols, pos, rows))
        pos, rows, cols = pos[order], rows[order], cols[order]
        starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
        ends = np.append(starts[1:], len(rows))
        if self._compiled and self._required_mask is not None:
            # the window test in C says which rows match; Python names their columns
            firsts = np.frombuffer(T._fast.row_windows(
                rows, pos, np.ascontiguousarray(cols, np.uint8), self._weight_of, self.window,
                self.min_fields, self._required_mask), np.int64)
            groups = np.searchsorted(starts, firsts, "right") - 1
        else:
            groups = np.arange(len(starts))
        out = []
        for g in groups.tolist():
            a, b = int(starts[g]), int(ends[g])
            found = self._row_match(list(zip(pos[a:b].tolist(), cols[a:b].tolist(), strict=True)))
            if found is not None:
                out.append((int(rows[a]), found, int(pos[a])))
        return out

    def _row_match(self, hits: list[tuple[int, int]]) -> set[int] | None:
        """Columns of the first window of ``window`` tokens that reaches min_fields."""
        hits.sort()
        w, need, req = self._weights, self.min_fields, self._required
        n = len(hits)
        for a in range(n):
            start = hits[a][0]
            cols: set[int] = set()
            used: set[int] = set()
            weight = 0
            for b in range(a, n):
                p, c = hits[b]
                if p - start >= self.window:
                    break
                if c in cols or p in used:
                    continue
                cols.add(c)
                used.add(p)
                weight += w[c]
                if weight >= need and req <= cols:
                    return cols
        return None


class _Wanted(NamedTuple):
    """Values to look for in a body: (value, row, column) triples; ``names``: some are first +
    last name pairs (so adjacent and one-apart token pairs are looked at too)."""

    values: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    names: bool


_NOTHING = _Wanted(np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.uint8), False)
_Hits = tuple[np.ndarray, np.ndarray, np.ndarray]       # (stream position, row, column)


def _concat(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> _Hits:
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint8)
    return (np.concatenate([p for p, _, _ in parts]).astype(np.int64),
            np.concatenate([r for _, r, _ in parts]).astype(np.int64),
            np.concatenate([c for _, _, c in parts]).astype(np.uint8))


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded()


def token_view(segments: Sequence[Segment], hasher: T.TokenHasher, key_id: str,
               shared: dict | None, deadline: float | None = None) -> T.TokenView:
    """The body's TokenView for this key, shared between matchers through ``shared``."""
    if shared is not None:
        view = shared.get(("tokens", key_id))
        if view is not None:
            return view
    view = T.TokenView([s.data for s in segments], hasher, deadline)
    if shared is not None:
        shared[("tokens", key_id)] = view
    return view
