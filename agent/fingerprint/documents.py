"""Indexed Document Matching: winnowed k-gram fingerprints of protected documents.

Fingerprints (Schleimer, Wilkerson, Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003): the document's canonical word tokens, very common words
(``common.COMMON_WORDS``) left out, are hashed with the County key; every k consecutive tokens
give a k-gram hash (the sum of the token hashes); in every window
of ``w`` consecutive k-gram hashes the smallest is selected (the rightmost on ties) and each
selected position is kept once. Any passage of at least w + k - 1 tokens shared with the
document therefore shares at least one stored fingerprint, wherever it sits and whatever
surrounds it; edits destroy only the k-grams that touch them.

Uploads are not winnowed: every k-gram of the body is looked up, so the fraction reported is
"stored fingerprints of the document present in the body / stored fingerprints of the document".

Dropping common words makes k-grams of content words: retyping "the roof was deferred" as "roof
got deferred" keeps them, and a stock phrase ("please let me know if you have any questions")
yields none. Every k-gram hash of the body is computed and looked up in the sorted fingerprints
(``tokens.SortedSet``: compiled, or numpy), which costs less than any vocabulary pre-test did.

Index (kind "idm"): ``fps``/``fdocs`` (fingerprint, document) sorted by fingerprint (indexes
from earlier versions also hold ``anchors``/``adocs``/``acounts``, no longer read); the
manifest lists the documents as ids (``d-`` + 12 hex of a keyed hash of the relative path),
with their titles only when built with ``titles=True``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from agent.extract.model import Segment
from agent.fingerprint import tokens as T
from agent.fingerprint.common import COMMON_WORDS
from agent.fingerprint.model import DeadlineExceeded, IndexHit, check_index_name
from agent.fingerprint.records import token_view

DEFAULT_K = 3                # content words per k-gram
DEFAULT_W = 4                # winnowing window: any shared run of w + k - 1 = 6 content words
                             # (about a dozen words of text) is found
DEFAULT_MIN_FRACTION = 0.10  # share of a document's fingerprints that makes a match ...
DEFAULT_MIN_MATCHES = 6      # ... when at least this many fingerprints are found,
DEFAULT_ABS_MATCHES = 50     # or this many whatever the share (a long passage of a long report)

_DOC_ID_LABEL = b"dlp-agent fingerprint document id v1\x00"


def document_id(key: bytes, relpath: str) -> str:
    """Stable, content-free id of a document: the same path gives the same id on every rebuild."""
    return "d-" + hmac.new(key, _DOC_ID_LABEL + relpath.encode(), hashlib.sha256).hexdigest()[:12]


def winnow(hashes: Sequence[int | None], w: int) -> list[int]:
    """Positions selected by robust winnowing; ``None`` entries are never selected."""
    out: list[int] = []
    n = len(hashes)
    if n == 0:
        return out
    last = -1
    for start in range(max(1, n - w + 1)):
        best, best_pos = None, -1
        for i in range(start, min(start + w, n)):
            v = hashes[i]
            if v is not None and (best is None or v <= best):
                best, best_pos = v, i
        if best_pos >= 0 and best_pos != last:
            out.append(best_pos)
            last = best_pos
    return out


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """The fingerprints of one document."""

    values: tuple[int, ...]       # distinct fingerprint values
    tokens: int


def fingerprint(toks: Sequence[bytes], hasher: T.TokenHasher, k: int, w: int) -> Fingerprints:
    """Winnowed k-gram fingerprints over the document's content words (common words dropped)."""
    hs = [hasher(t) for t in toks if t not in COMMON_WORDS]
    grams = T.window_sums(hs, k)
    chosen = dict.fromkeys(grams[pos] for pos in winnow(grams, w))   # distinct, in order
    return Fingerprints(tuple(chosen), len(toks))


def build_documents(docs: Iterable[tuple[str, Sequence[bytes]]], key: bytes, collection: str, *,
                    k: int = DEFAULT_K, w: int = DEFAULT_W, titles: bool = False,
                    min_fraction: float = DEFAULT_MIN_FRACTION,
                    min_matches: int = DEFAULT_MIN_MATCHES,
                    abs_matches: int = DEFAULT_ABS_MATCHES) -> tuple[dict, dict[str, array]]:
    """Manifest fields and arrays for an IDM index; ``docs`` yields (relative path, tokens)."""
    check_index_name(collection, "collection")
    if not 2 <= k <= 16:
        raise ValueError("k must be 2..16 words (sums of 16 60-bit hashes fit 64 bits)")
    if w < 1:
        raise ValueError("w must be >= 1")
    if not 0 < min_fraction <= 1 or min_matches < 1 or abs_matches < min_matches:
        raise ValueError("need 0 < min_fraction <= 1 and 1 <= min_matches <= abs_matches")
    hasher = T.TokenHasher(key)
    documents = []
    fp_pairs: list[int] = []
    seen_ids: set[str] = set()
    for relpath, toks in docs:
        doc = len(documents)
        did = document_id(key, relpath)
        if did in seen_ids:
            raise ValueError(f"two documents with the same path {relpath!r}")
        seen_ids.add(did)
        f = fingerprint(toks, hasher, k, w)
        entry = {"id": did, "fingerprints": len(f.values), "tokens": f.tokens}
        if titles:
            entry["title"] = relpath
        documents.append(entry)
        fp_pairs.extend((v << 32) | doc for v in f.values)
    fp_pairs.sort()
    mask = (1 << 32) - 1
    arrays = {
        "fps": array("Q", (p >> 32 for p in fp_pairs)),
        "fdocs": array("I", (p & mask for p in fp_pairs)),
    }
    manifest = {
        "kind": "idm", "name": collection,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "key_id": T.key_id(key), "tokenizer": T.TOKENIZER_VERSION, "hash": "blake2b-60/sum",
        "k": k, "w": w, "min_fraction": min_fraction, "min_matches": min_matches,
        "abs_matches": abs_matches, "titles": titles, "documents": documents,
    }
    return manifest, arrays


class DocumentMatcher:
    """IDM matcher over one loaded index; immutable after construction, so thread-safe."""

    kind = "idm"

    def __init__(self, manifest: dict, arrays: dict, key: bytes,
                 hasher: T.TokenHasher | None = None):
        self.name = f"IDM:{manifest['name']}"
        self.manifest = manifest
        self.key_id = manifest["key_id"]
        self.k = int(manifest["k"])
        self.min_fraction = float(manifest["min_fraction"])
        self.min_matches = int(manifest["min_matches"])
        self.abs_matches = int(manifest["abs_matches"])
        self.documents = manifest["documents"]
        self._totals = [int(d["fingerprints"]) for d in self.documents]
        self._fps = np.asarray(arrays["fps"], np.uint64)          # sorted
        self._fdocs = np.asarray(arrays["fdocs"], np.uint32)
        self._hasher = hasher or T.TokenHasher(key)   # one per key: its word cache is shared
        compiled = self._hasher.compiled is not None
        self._fp_set = T.SortedSet(self._fps, compiled)
        self._common = T.SortedSet(np.array(sorted({self._hasher(w) for w in COMMON_WORDS}),
                                            np.uint64), compiled)

    def __repr__(self) -> str:
        return f"DocumentMatcher({self.name}, {len(self.documents)} documents)"

    def _enough(self, doc: int, n: int) -> bool:
        if n < self.min_matches:
            return False
        return n >= self.abs_matches or n >= self.min_fraction * self._totals[doc]

    def match(self, segments: Sequence[Segment], deadline: float | None = None,
              shared: dict | None = None) -> list[IndexHit]:
        view = token_view(segments, self._hasher, self.key_id, shared, deadline)
        hits, starts = self._common.grams_in(view.stream, self.k, self._fp_set)
        if len(hits) < self.min_matches:
            return []
        _check(deadline)
        values = T.distinct(hits)
        idx, _ = T.postings(self._fps, values)
        docs, fps = self._fdocs[idx], self._fps[idx]      # (fingerprint, document): distinct
        counts = np.bincount(docs, minlength=len(self.documents))
        found = [d for d in np.flatnonzero(counts).tolist() if self._enough(d, int(counts[d]))]
        out = []
        for d in sorted(found, key=lambda d: -counts[d] / self._totals[d]):
            mine = np.sort(fps[docs == d])
            first = int(np.argmax(T.member(hits, mine)))
            info = self.documents[d]
            out.append(IndexHit(self.name, f"doc {info['id']}",
                                view.where(int(starts[first]), segments),
                                fraction=round(int(counts[d]) / self._totals[d], 3),
                                title=info.get("title")))
        return out


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded()
