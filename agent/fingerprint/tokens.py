"""Word tokens, their canonical forms and keyed hashes: one vocabulary for index and upload.

Index building and matching must turn "01/02/1990", "1990-01-02" and "January 2, 1990" into the
same token, "123-45-6789" and "123456789" likewise, so every rule lives here and both sides call
it. Canonical forms:

- dates (M/D/Y, M-D-Y, Y-M-D, D.M.Y, YYYYMMDD, "January 2, 1990", "2 Jan 1990") -> ``1990-01-02``;
  two-digit years pivot on the current year (a date of birth is in the past);
- tokens holding a digit -> letters and digits only (``123-45-6789`` -> ``123456789``,
  ``2023-CV-001234`` -> ``2023cv001234``); 11 digits starting with 1 lose it (phone country code);
- words -> lower case, accents folded (``José`` -> ``jose``), apostrophes and hyphens dropped
  (``O'Brien`` -> ``obrien``).

Hashes: keyed BLAKE2b (a MAC: RFC 7693 keyed mode) of the canonical token, 60 bits kept so that
sums of up to 16 token hashes fit a u64. A multi-token value (a name, a k-gram) is the *sum* of
its token hashes: cheap to compute over a token stream and independent of word order within the
unit ("Smith, John" = "John Smith"). Without the key none of it can be reversed or tested.

Cost model (``TokenView``): the compiled module ``_fast`` (``_fast.c``) does the whole body
path in one pass -- lower, rewrite, split, canonical form, keyed hash, a cache for plain words --
and hands back only tokens that need Unicode folding to ``canonical`` here. Without it (a source
checkout never built) the same rules run in numpy: raw tokens are found and hashed vectorised,
plain words are looked up in a cache of canonical hashes, and canonical forms and keyed hashes
are computed in Python once per *distinct* other raw token of the body. Tests pin the two paths
to identical streams.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import accumulate
from operator import sub

import numpy as np

from agent.fingerprint.model import DeadlineExceeded

try:
    from agent.fingerprint import _fast
except ImportError:            # not built: the numpy path below, same results, slower
    _fast = None

HASH_BITS = 60
TOKENIZER_VERSION = 1        # bump when canonical forms change: old indexes must be rebuilt

_TOKEN_KEY_LABEL = b"dlp-agent fingerprint token key v1"
_KEY_ID_LABEL = b"dlp-agent fingerprint key id v1"

# Separators become spaces before splitting; '-', '/', '.', "'" stay inside tokens because they
# join the parts of dates, SSNs, case numbers and names.
_SEPARATORS = b",;:=<>\"[]{}()|\t\r\n\x0b\x0c!?*`~^\\"
SEP_TABLE = bytes(32 if c in _SEPARATORS else c for c in range(256))
_EDGE = b"-/.'#$%&+@_"

_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_MON = rb"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
# Multi-word shapes rewritten to one canonical token before splitting. Each runs only when its
# cheap trigger is present in the text (a year-like number, an opening parenthesis).
# Searched only in the few bytes before a year-like number, never over the whole text.
_MONTH_BEFORE_YEAR_RE = re.compile(
    rb"\b(?:" + _MON + rb"\s+(\d{1,2})(?:st|nd|rd|th)?,?"
    rb"|(\d{1,2})(?:st|nd|rd|th)?\s+" + _MON.replace(b"(jan", b"(?P<m2>jan") + rb",?)\s+$")
_YEAR_RE = re.compile(rb"(?:19|20)\d\d\b")
_MONTH_LOOKBACK = 24
_PAREN_PHONE_RE = re.compile(rb"\((\d{3})\)\s?(\d{3})[\s.-](\d{4})\b")

_MDY_RE = re.compile(rb"(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})")
_YMD_RE = re.compile(rb"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DMY_RE = re.compile(rb"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_YYYYMMDD_RE = re.compile(rb"((?:19|20)\d\d)(\d\d)(\d\d)")
_NON_ALNUM_RE = re.compile(rb"[^a-z0-9]+")
_DIGIT_RE = re.compile(rb"[0-9]")
_WORD_SPLIT_RE = re.compile(r"[^\w'’\-]+")


def derive_token_key(key: bytes) -> bytes:
    """The BLAKE2b key for token hashes, derived so the County key itself is used for one thing."""
    return hmac.new(key, _TOKEN_KEY_LABEL, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """Public fingerprint of a key: stored in each manifest so a wrong key is named at load."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


class TokenHasher:
    """Keyed 60-bit hashes of canonical tokens. Holds key material: never printed.

    It also caches the hashes of plain words (raw tokens of ASCII letters, so never a number
    such as an SSN, account or phone number) across bodies: hashing costs about a microsecond
    a token while natural-language vocabulary repeats from upload to upload. The cache is a
    direct-mapped table of ``2**cache_bits`` slots keyed by a per-process keyed hash of the
    raw token (a seeded wyhash-style key in ``_fast``, ``_RawHash`` in numpy); a word keeps its
    slot until another
    word maps there. It holds the words' keyed hashes in process memory after their request
    is done (a proxy process sees every body in clear anyway); ``cache_bits=0`` turns it off.
    ``compiled=False`` keeps to the numpy path (tests compare the two).
    """

    __slots__ = ("_base", "_keys", "_values", "_shift", "_lock", "compiled")

    def __init__(self, key: bytes, cache_bits: int = 18, compiled: bool = True):
        token_key = derive_token_key(key)
        self._base = hashlib.blake2b(key=token_key, digest_size=8)
        # the compiled hasher keeps its own word cache, its keys seeded at random per process
        self.compiled = (_fast.Hasher(token_key, cache_bits, os.urandom(16))
                         if compiled and _fast is not None else None)
        numpy_cache = cache_bits if self.compiled is None else 0
        self._shift = np.uint64(64 - numpy_cache) if numpy_cache else None
        size = 1 << numpy_cache if numpy_cache else 0
        self._keys = np.zeros(size, np.uint64)
        self._values = np.zeros(size, np.uint64)
        self._lock = threading.Lock()     # matcher threads share a hasher; a slot is two words

    def __repr__(self) -> str:
        return "TokenHasher(<key>)"

    def __call__(self, token: bytes) -> int:
        if self.compiled is not None:
            return self.compiled.hash(token)
        h = self._base.copy()
        h.update(token)
        return int.from_bytes(h.digest(), "big") >> (64 - HASH_BITS)

    def cached(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, hit): the cached canonical hash of each raw-token hash, and which were."""
        if self._shift is None:
            return np.zeros(len(raw), np.uint64), np.zeros(len(raw), bool)
        slot = (raw >> self._shift).astype(np.intp)
        with self._lock:
            keys = self._keys[slot]
            values = self._values[slot]
        hit = keys == raw
        hit &= raw != 0                     # an empty slot's key is 0
        values[~hit] = 0
        return values, hit

    def learn(self, pairs: list[tuple[int, int]]) -> None:
        """Cache ``(raw-token hash, canonical hash)`` of plain words (callers check)."""
        if self._shift is None or not pairs:
            return
        raw = np.fromiter((r for r, _ in pairs), np.uint64, len(pairs))
        values = np.fromiter((v for _, v in pairs), np.uint64, len(pairs))
        slot = (raw >> self._shift).astype(np.intp)
        with self._lock:
            self._keys[slot] = raw
            self._values[slot] = values


def _pivot() -> int:
    """Two-digit years up to this one are 20xx, later ones 19xx (a date of birth is past)."""
    return _dt.date.today().year % 100


def _date(y: int, m: int, d: int) -> bytes | None:
    if y < 100:
        y += 2000 if y <= _pivot() else 1900
    try:
        return _dt.date(y, m, d).isoformat().encode()
    except ValueError:
        return None


def canonical_date(t: bytes) -> bytes | None:
    """``1990-01-02`` for a one-token date in any accepted numeric shape, else None."""
    if m := _YMD_RE.fullmatch(t):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    if m := _MDY_RE.fullmatch(t):
        return _date(int(m[3]), int(m[1]), int(m[2]))
    if m := _DMY_RE.fullmatch(t):
        return _date(int(m[3]), int(m[2]), int(m[1]))
    if len(t) == 8 and (m := _YYYYMMDD_RE.fullmatch(t)):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    return None


def _fold(word: bytes) -> list[bytes]:
    """Words of a non-ASCII or punctuated token: accents folded, apostrophes/hyphens dropped."""
    text = unicodedata.normalize("NFKD", word.decode("utf-8", "ignore"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    out = []
    for part in _WORD_SPLIT_RE.split(text):
        part = part.replace("'", "").replace("’", "").replace("-", "")
        if part:
            out.append(part.encode("utf-8"))
    return out


def canonical(raw: bytes) -> tuple[bytes, ...]:
    """Canonical tokens of one raw (lower-cased, whitespace-delimited) token."""
    t = raw.strip(_EDGE)
    if not t:
        return ()
    if t.isalpha():                      # ASCII letters only: the common case
        return (t,)
    if _DIGIT_RE.search(t):
        d = canonical_date(t)
        if d is not None:
            return (d,)
        t = _NON_ALNUM_RE.sub(b"", t)
        if len(t) == 11 and t[0] == 49 and t.isdigit():
            t = t[1:]
        return (t,) if t else ()
    return tuple(_fold(t))


def _year_starts(low: bytes) -> list[int]:
    """Starts of the matches of ``_YEAR_RE`` in ``low``, found without running the regex over
    long texts (it steps through every byte at ~150 MB/s; numpy finds the same four-digit
    runs at memory speed)."""
    if len(low) < 4096:
        return [m.start() for m in _YEAR_RE.finditer(low)]
    a = np.frombuffer(low, np.uint8)
    digit = (a >= 48) & (a <= 57)
    word = digit | ((a | 32) >= 97) & ((a | 32) <= 122) | (a == 95)
    # (19|20)\d\d\b: four digits, the first two 19 or 20, no word character right after
    four = digit[:-3] & digit[1:-2] & digit[2:-1] & digit[3:]
    century = ((a[:-3] == 49) & (a[1:-2] == 57)) | ((a[:-3] == 50) & (a[1:-2] == 48))
    boundary = np.ones(len(a) - 3, bool)
    boundary[:-1] = ~word[4:]
    return np.flatnonzero(four & century & boundary).tolist()


def _month_dates(low: bytes) -> bytes:
    """Rewrite "january 2, 1990" / "2 jan 1990" as one canonical date token."""
    out: list[bytes] = []
    last = 0
    for s in _year_starts(low):
        if s < last or s and 48 <= low[s - 1] <= 57:
            continue
        m = _MONTH_BEFORE_YEAR_RE.search(low, max(last, s - _MONTH_LOOKBACK), s)
        if m is None:
            continue
        if m[1] is not None:
            mon, day = m[1], m[2]
        else:
            mon, day = m["m2"], m[3]
        d = _date(int(low[s:s + 4]), _MONTHS[mon[:3].decode()], int(day))
        if d is None:
            continue
        out += (low[last:m.start()], b" ", d, b" ")
        last = s + 4
    if not out:
        return low
    out.append(low[last:])
    return b"".join(out)


def prepare(data: bytes) -> bytes:
    """Lower-case, rewrite multi-word dates and (914) 555-1234 phones, separators to spaces."""
    low = data.lower()
    low = _month_dates(low)
    if b"(" in low:
        low = _PAREN_PHONE_RE.sub(rb" \1\2\3 ", low)
    return low.translate(SEP_TABLE)


def tokens(text: str | bytes) -> list[bytes]:
    """Canonical tokens of a short text (a cell, a document): the slow, simple path."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    out: list[bytes] = []
    for raw in prepare(data).split():
        out.extend(canonical(raw))
    return out


# ---- the body side: raw tokens hashed in numpy, canonical forms worked out once per token ----

_CHUNK = 1 << 18             # bytes per numpy pass: bounds the temporaries (~5 MB)
_SPACE = 32
_LEN_MUL = np.uint64(0x9E3779B97F4A7C15)


class _RawHash:
    """A polynomial hash of raw token bytes modulo 2**64 with a random odd multiplier drawn per
    process. It only keys the per-process cache of canonical hashes and groups equal raw tokens
    of one body; it never reaches an index. Two different short tokens collide with
    probability about 2**-60 for a multiplier the sender cannot know."""

    def __init__(self) -> None:
        m = int.from_bytes(os.urandom(8), "little") | 1
        pw = np.empty(_CHUNK + 1, np.uint64)
        ipw = np.empty(_CHUNK + 1, np.uint64)
        pw[0] = ipw[0] = 1
        pw[1:] = m
        ipw[1:] = pow(m, -1, 1 << 64)
        with np.errstate(over="ignore"):
            self.pow = np.cumprod(pw, dtype=np.uint64)
            self.ipow = np.cumprod(ipw, dtype=np.uint64)

    def tokens(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, hashes) of the space-delimited tokens of ``chunk`` (<= _CHUNK bytes):
        hash = sum((byte + 1) * m**(i - start)) + length * c, all modulo 2**64."""
        tok = np.zeros(len(chunk) + 2, bool)
        tok[1:-1] = chunk != _SPACE
        change = tok[1:] != tok[:-1]            # token starts and ends alternate
        edges = np.flatnonzero(change)
        starts, ends = edges[::2], edges[1::2]
        if not len(starts):
            return starts, ends, np.empty(0, np.uint64)
        n = len(chunk)
        prefix = np.empty(n + 1, np.uint64)
        prefix[0] = 0
        with np.errstate(over="ignore"):
            np.cumsum((chunk.astype(np.uint64) + np.uint64(1)) * self.pow[:n], out=prefix[1:])
            h = (prefix[ends] - prefix[starts]) * self.ipow[starts]
            h += (ends - starts).astype(np.uint64) * _LEN_MUL
            # splitmix64's finaliser: bytes near the token's start move only the low bits of
            # the sum ("she" is "the" - 1), and the cache slot is taken from the high bits
            h ^= h >> np.uint64(30)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(27)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
        return starts, ends, h


_raw_hash: _RawHash | None = None
_raw_hash_lock = threading.Lock()


def _raw() -> _RawHash:
    global _raw_hash
    if _raw_hash is None:
        with _raw_hash_lock:
            if _raw_hash is None:
                _raw_hash = _RawHash()
    return _raw_hash


class TokenView:
    """Tokens of one body for one key, shared by every matcher using the key.

    ``stream``: the canonical token hashes in reading order over all segments (a numpy u64
    array), ``segment_of``: the segment of each, ``rare``: the sorted distinct hashes of its
    canonical tokens that are not plain ASCII words (numbers, dates, identifiers, accented
    words: where SSNs, dates and case numbers live). Equal to hashing ``tokens()`` of each
    segment (a test pins it), computed by ``_fast`` or, without it, in numpy.
    """

    __slots__ = ("_hasher", "stream", "segment_of", "rare", "size", "_vocab")

    def __init__(self, datas: Iterable[bytes], hasher: TokenHasher, deadline: float | None = None):
        """``deadline`` (time.monotonic()) is checked as tokens are made: DeadlineExceeded.
        A pass of all-new numbers (~25,000 canonical forms and keyed hashes) takes ~0.1 s in
        numpy, ~10 ms compiled."""
        self._hasher = hasher
        self._vocab: np.ndarray | None = None
        if hasher.compiled is not None:
            got = hasher.compiled.view(list(datas), _pivot(), deadline or 0.0, canonical)
            if got is None:
                raise DeadlineExceeded()
            stream, segs, rare, self.size = got
            self.stream = np.frombuffer(stream, np.uint64)
            self.segment_of = np.frombuffer(segs, np.int32)
            self.rare = np.frombuffer(rare, np.uint64)
            return
        self._numpy(datas, hasher, deadline)

    def _numpy(self, datas: Iterable[bytes], hasher: TokenHasher, deadline: float | None) -> None:
        prepared = [prepare(d) for d in datas]
        bounds = np.fromiter(accumulate((len(p) + 1 for p in prepared), initial=0), np.int64)
        buf = b" ".join(prepared)
        del prepared
        raw = _raw()
        a = np.frombuffer(buf, np.uint8)
        memo: dict[int, tuple[int, ...]] = {}      # raw hash -> canonical hashes, this body
        hashes: dict[bytes, int] = {}             # canonical token -> its keyed hash
        rare: set[int] = set()
        streams: list[np.ndarray] = []
        segs: list[np.ndarray] = []
        size = 0
        pos = 0
        while pos < len(buf):
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded()
            end = min(len(buf), pos + _CHUNK)
            if end < len(buf):
                cut = buf.rfind(b" ", pos, end)
                if cut <= pos:      # one token longer than a chunk: made canonical directly
                    cut = buf.find(b" ", end)
                    end = len(buf) if cut < 0 else cut
                    got = [self._hash(c, hashes, rare) for c in canonical(buf[pos:end])]
                    streams.append(np.array(got, np.uint64))
                    segs.append(np.full(len(got), np.searchsorted(bounds, pos, "right") - 1,
                                        np.int32))
                    size += 1
                    pos = end + 1
                    continue
                end = cut
            starts, ends, rh = raw.tokens(a[pos:end])
            if len(rh):
                values, counts = self._canonical(buf, pos, starts, ends, rh, memo, hashes, rare)
                seg = np.searchsorted(bounds, starts + pos, "right").astype(np.int32) - 1
                if counts is not None:
                    seg = np.repeat(seg, counts)
                streams.append(values)
                segs.append(seg)
                size += len(rh)
            pos = end + 1 if end < len(buf) and buf[end] == _SPACE else end
        self.stream = np.concatenate(streams) if streams else np.empty(0, np.uint64)
        self.segment_of = np.concatenate(segs) if segs else np.empty(0, np.int32)
        self.rare = np.array(sorted(rare), np.uint64)
        self.size = size

    def _canonical(self, buf: bytes, offset: int, starts: np.ndarray, ends: np.ndarray,
                   rh: np.ndarray, memo: dict, hashes: dict, rare: set
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """Canonical hashes of one chunk's raw tokens; counts per raw token when some raw
        token has other than one canonical token ("and/or" has two, "--" none)."""
        h = self._hasher
        values, hit = h.cached(rh)
        miss = np.flatnonzero(~hit)
        if not len(miss):
            return values, None
        distinct, first, inverse = np.unique(rh[miss], return_index=True, return_inverse=True)
        where = miss[first]
        out: list[tuple[int, ...]] = []
        learn: list[tuple[int, int]] = []
        for key, s, e in zip(distinct.tolist(), (starts[where] + offset).tolist(),
                             (ends[where] + offset).tolist(), strict=True):
            got = memo.get(key)
            if got is None:
                token = buf[s:e]
                got = memo[key] = tuple(self._hash(c, hashes, rare) for c in canonical(token))
                # plain words only: never a number (an SSN, an account) in process memory
                if len(got) == 1 and not _DIGIT_RE.search(token) and token.strip(_EDGE).isalpha():
                    learn.append((key, got[0]))
            out.append(got)
        if learn:
            h.learn(learn)
        singles = np.fromiter((g[0] if len(g) == 1 else 0 for g in out), np.uint64, len(out))
        values[miss] = singles[inverse]
        lengths = np.fromiter(map(len, out), np.int64, len(out))
        if (lengths == 1).all():
            return values, None
        counts = np.ones(len(rh), np.int64)
        counts[miss] = lengths[inverse]
        expanded = np.repeat(values, counts)
        offsets = np.cumsum(counts) - counts
        multi = [i for i, g in enumerate(out) if len(g) > 1]
        table = np.zeros((len(multi), int(lengths.max())), np.uint64)
        row = np.full(len(out), -1, np.int64)
        for r, i in enumerate(multi):
            table[r, :len(out[i])] = out[i]
            row[i] = r
        token_row = np.full(len(rh), -1, np.int64)
        token_row[miss] = row[inverse]
        several = np.flatnonzero(token_row >= 0)
        for j in range(table.shape[1]):
            sel = several[counts[several] > j]
            expanded[offsets[sel] + j] = table[token_row[sel], j]
        return expanded, counts

    def _hash(self, c: bytes, hashes: dict[bytes, int], rare: set[int]) -> int:
        v = hashes.get(c)
        if v is None:
            v = hashes[c] = self._hasher(c)
            if not c.isalpha():
                rare.add(v)
        return v

    def vocabulary_set(self):
        """The body's tokens as a ``_fast.U64Set`` (compiled path only): unsorted for up to
        2**18 tokens (a table, no sort), else the sorted vocabulary."""
        if len(self.stream) <= 1 << 18:
            return _fast.U64Set(self.stream, False)
        return _fast.U64Set(self.vocabulary)

    @property
    def vocabulary(self) -> np.ndarray:
        """The distinct canonical token hashes, sorted."""
        if self._vocab is None:
            self._vocab = distinct(self.stream)
        return self._vocab

    def where(self, position: int, segments: Sequence) -> str:
        """Provenance of the segment holding ``position`` of the stream."""
        if not 0 <= position < len(self.segment_of):
            return segments[0].where if segments else ""
        i = int(self.segment_of[position])
        return segments[i].where if i < len(segments) else ""


class SortedSet:
    """Membership in a sorted u64 array (an index's values, the common words): ``_fast.U64Set``
    (a bitmap in front of a binary search) when built, numpy's searchsorted otherwise."""

    __slots__ = ("values", "_c")

    def __init__(self, values: np.ndarray, compiled: bool = True):
        self.values = np.ascontiguousarray(values, np.uint64)
        self._c = _fast.U64Set(self.values) if compiled and _fast is not None else None

    def __len__(self) -> int:
        return len(self.values)

    def find(self, values: np.ndarray) -> np.ndarray:
        """Positions (int64) of the members among ``values``."""
        if self._c is not None:
            return np.frombuffer(self._c.find(np.ascontiguousarray(values, np.uint64)), np.int64)
        return np.flatnonzero(member(values, self.values)).astype(np.int64)

    def grams_in(self, stream: np.ndarray, k: int, found: SortedSet) -> tuple[np.ndarray, np.ndarray]:
        """The sums of every k consecutive tokens of ``stream`` left after dropping this set's
        members (IDM's k-grams of content words) that are members of ``found``: (sums, stream
        position where each k-gram starts)."""
        if self._c is not None and found._c is not None:
            v, at = self._c.grams_in(np.ascontiguousarray(stream, np.uint64), k, found._c)
            return np.frombuffer(v, np.uint64), np.frombuffer(at, np.int64)
        where = np.flatnonzero(~member(stream, self.values))
        g = np_window_sums(stream[where], k)
        at = found.find(g)
        return g[at], where[at]


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (np.unique's hash table is ~3x slower than a sort here)."""
    if len(values) < 2:
        return values.copy()
    s = np.sort(values)
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Boolean mask: which of ``values`` are in ``sorted_set`` (a sorted u64 array)."""
    if not len(sorted_set) or not len(values):
        return np.zeros(len(values), bool)
    i = np.searchsorted(sorted_set, values)
    i[i == len(sorted_set)] = 0
    return sorted_set[i] == values


def postings(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``values`` occurs in ``keys`` (sorted, with repeats: an index's posting
    lists): the positions of all occurrences as one array, and how many each value has."""
    lo = np.searchsorted(keys, values, "left")
    n = np.searchsorted(keys, values, "right") - lo
    total = int(n.sum())
    if not total:
        return np.empty(0, np.intp), n
    return np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(total), n


def np_window_sums(hs: np.ndarray, k: int) -> np.ndarray:
    """Sums of every k consecutive hashes of a u64 array (k <= 16: 60-bit sums fit 64 bits)."""
    if k == 1:
        return hs
    if len(hs) < k:
        return np.empty(0, np.uint64)
    prefix = np.empty(len(hs) + 1, np.uint64)
    prefix[0] = 0
    with np.errstate(over="ignore"):
        np.cumsum(hs, out=prefix[1:])
        return prefix[k:] - prefix[:-k]


def window_sums(hs: Sequence[int], k: int) -> list[int]:
    """Sums of every k consecutive hashes (k-gram fingerprints, multi-token cells)."""
    if k == 1:
        return list(hs)
    if len(hs) < k:
        return []
    prefix = list(accumulate(hs, initial=0))
    return list(map(sub, prefix[k:], prefix[:-k]))
