"""Exact Data Match (EDM) and Indexed Document Matching (IDM) against County indexes.

Build (offline, ``dlp-agent fingerprint records|documents``) -> an index directory holding only
keyed hashes; load at start (and again when the files change) -> matchers the Inspector runs
after extraction:

    from agent.fingerprint import load_indexes, IndexSet, read_key
    key = read_key("/etc/dlp/fingerprint.key")             # mode 0600 or refused
    matchers = load_indexes(["/var/lib/dlp/idx/clerk"], key)
    inspector = Inspector(scanner, matchers=matchers)      # EDM:/IDM: detections

    indexes = IndexSet(dirs, key)        # build-then-swap reloading for long-running processes
    if indexes.changed(): indexes.reload()   # old matchers stay in force if the new files fail

A matcher has ``name`` ("EDM:<dataset>" / "IDM:<collection>") and
``match(segments, deadline=None, shared=None) -> list[IndexHit]``; ``shared`` is a dict the
caller creates per body so matchers with the same key tokenise the body once. It raises
``DeadlineExceeded`` when ``deadline`` (time.monotonic()) passes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from agent.extract.model import Segment
from agent.extract.spool import SpilledSegment
from agent.fingerprint import storage, tokens
from agent.fingerprint.documents import DocumentMatcher
from agent.fingerprint.model import DeadlineExceeded, IndexHit
from agent.fingerprint.records import RecordMatcher
from agent.fingerprint.storage import FingerprintError, read_key, signature

log = logging.getLogger(__name__)

__all__ = ["DeadlineExceeded", "DocumentMatcher", "FingerprintError", "IndexHit", "IndexSet",
           "Matcher", "RecordMatcher", "load_index", "load_indexes", "read_key", "signature",
           "windows"]

_ARRAYS = {"edm": ("values", "rows", "cols", "nameparts", "words"),
           "idm": ("fps", "fdocs")}


class Matcher(Protocol):
    name: str

    def match(self, segments: Sequence[Segment], deadline: float | None = None,
              shared: dict | None = None) -> list[IndexHit]: ...


def load_index(directory: str | Path, key: bytes,
               hasher: tokens.TokenHasher | None = None) -> Matcher:
    """One index directory -> its matcher; FingerprintError names the directory and the reason."""
    d = Path(directory)
    m = storage.read_manifest(d)
    expected = tokens.key_id(key)
    if m.get("key_id") != expected:
        raise FingerprintError(
            f"index {d} was built with a different key (index key id {m.get('key_id')}, "
            f"this key's id {expected}): use the key file it was built with, or rebuild it")
    if m.get("tokenizer") != tokens.TOKENIZER_VERSION:
        raise FingerprintError(f"index {d} was built by tokenizer version {m.get('tokenizer')}; "
                               f"this agent uses {tokens.TOKENIZER_VERSION}: rebuild it")
    try:
        arrays = {n: storage.read_array(d, m, n) for n in _ARRAYS[m["kind"]]}
        cls = RecordMatcher if m["kind"] == "edm" else DocumentMatcher
        return cls(m, arrays, key, hasher)
    except (KeyError, TypeError, ValueError) as e:
        raise FingerprintError(f"index {d}: malformed manifest ({type(e).__name__}: {e})") from None


def load_indexes(directories: Sequence[str | Path], key: bytes) -> list[Matcher]:
    """Every index; two indexes with the same detection name are refused (ambiguous counts)."""
    out: list[Matcher] = []
    names: dict[str, Path] = {}
    if tokens._fast is None and directories:
        log.warning("agent/fingerprint/_fast.c is not built (run make setup or pip install): "
                    "EDM/IDM matching runs on the numpy path, several times slower")
    hasher = tokens.TokenHasher(key)      # all take one key: one word cache, one token view
    for directory in directories:
        m = load_index(directory, key, hasher)
        if m.name in names:
            raise FingerprintError(f"{directory} and {names[m.name]} both define {m.name}")
        names[m.name] = Path(directory)
        out.append(m)
    return out


# Text matched at once: the token arrays of a window cost ~4-5 bytes per byte of text, so a
# 512 MiB spilled document is matched in windows instead of whole. The overlap is far longer
# than an EDM row window (32 tokens) or an IDM k-gram, so every row occurs whole in a window;
# a document is recognised when enough of it falls in one window (16 MiB of text).
WINDOW_BYTES = 16 * 1024 * 1024
WINDOW_OVERLAP = 64 * 1024


def windows(segments: Sequence[Segment], size: int | None = None,
            overlap: int | None = None) -> Iterator[list[Segment]]:
    """Runs of whole segments up to ``size`` bytes (WINDOW_BYTES); a larger segment in pieces
    overlapping by ``overlap`` (WINDOW_OVERLAP), read piece by piece when spilled to disk."""
    size = size or WINDOW_BYTES
    overlap = WINDOW_OVERLAP if overlap is None else overlap
    run: list[Segment] = []
    total = 0
    for seg in segments:
        n = seg.size if isinstance(seg, SpilledSegment) else len(seg.data)
        if n <= size:
            if run and total + n > size:
                yield run
                run, total = [], 0
            run.append(seg)
            total += n
            continue
        if run:
            yield run
            run, total = [], 0
        read = seg.read if isinstance(seg, SpilledSegment) else (lambda a, b, d=seg.data: d[a:b])
        for a in range(0, n, size):
            start = max(0, a - overlap)
            yield [Segment(read(start, min(n, a + size)), seg.where, seg.field, seg.table)]
    if run:
        yield run


class IndexSet:
    """Indexes of a long-running process: loaded at start, reloaded when their files change.

    ``reload`` builds the new matchers first and swaps them in only when all of them load, so
    a half-copied or wrong-key index leaves the previous ones in force (and raises, for the
    caller to log and count).
    """

    def __init__(self, directories: Sequence[str | Path], key: bytes):
        self.directories = [Path(d) for d in directories]
        self._key = key
        self._signature = signature(self.directories)
        self.matchers: list[Matcher] = load_indexes(self.directories, key)

    def __repr__(self) -> str:
        return f"IndexSet({[m.name for m in self.matchers]})"

    def changed(self) -> bool:
        return signature(self.directories) != self._signature

    def reload(self) -> bool:
        """Reload when the files changed; True when new matchers are in force."""
        sig = signature(self.directories)
        if sig == self._signature:
            return False
        matchers = load_indexes(self.directories, self._key)
        self.matchers, self._signature = matchers, sig
        log.info("fingerprint indexes reloaded: %s", ", ".join(m.name for m in matchers))
        return True
