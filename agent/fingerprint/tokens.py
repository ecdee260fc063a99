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

Cost model: an upload is lowered, separators are translated to spaces and ``bytes.split`` makes
the raw tokens (all in C); canonical forms and hashes are computed once per *distinct* raw token
(Python), so repeated words cost one dict lookup each.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate, compress, filterfalse, repeat
from operator import is_, sub

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

    ``words`` caches the hashes of raw tokens without digits (words, so never a number such as
    an SSN, account or phone number) across bodies: hashing costs about a microsecond a token
    while natural-language vocabulary repeats from upload to upload. The cache keeps those
    words in process memory after their request is done; a proxy process sees every body in
    clear anyway, but ``word_cache=0`` turns it off. It is emptied when it reaches its size.
    """

    __slots__ = ("_base", "words", "_max_words")

    def __init__(self, key: bytes, word_cache: int = 200_000):
        self._base = hashlib.blake2b(key=derive_token_key(key), digest_size=8)
        self.words: dict[bytes, int] = {}
        self._max_words = word_cache

    def __repr__(self) -> str:
        return "TokenHasher(<key>)"

    def __call__(self, token: bytes) -> int:
        h = self._base.copy()
        h.update(token)
        return int.from_bytes(h.digest(), "big") >> (64 - HASH_BITS)

    def remember(self, new: dict[bytes, int]) -> None:
        """Add word hashes to the cache (callers pass only raw tokens without digits)."""
        if not self._max_words:
            return
        if len(self.words) + len(new) > self._max_words:
            self.words = {}     # a new dict: readers in other threads keep the old one intact
        self.words.update(new)


def _date(y: int, m: int, d: int) -> bytes | None:
    if y < 100:
        pivot = _dt.date.today().year % 100
        y += 2000 if y <= pivot else 1900
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
    if any(48 <= c <= 57 for c in t):
        d = canonical_date(t)
        if d is not None:
            return (d,)
        t = _NON_ALNUM_RE.sub(b"", t)
        if len(t) == 11 and t[0] == 49 and t.isdigit():
            t = t[1:]
        return (t,) if t else ()
    return tuple(_fold(t))


def _month_dates(low: bytes) -> bytes:
    """Rewrite "january 2, 1990" / "2 jan 1990" as one canonical date token."""
    out: list[bytes] = []
    last = 0
    for y in _YEAR_RE.finditer(low):
        s = y.start()
        if s and 48 <= low[s - 1] <= 57:
            continue
        m = _MONTH_BEFORE_YEAR_RE.search(low, max(last, s - _MONTH_LOOKBACK), s)
        if m is None:
            continue
        if m[1] is not None:
            mon, day = m[1], m[2]
        else:
            mon, day = m["m2"], m[3]
        d = _date(int(y[0]), _MONTHS[mon[:3].decode()], int(day))
        if d is None:
            continue
        out += (low[last:m.start()], b" ", d, b" ")
        last = y.end()
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


class TokenView:
    """Tokens of one body for one key, computed lazily and shared by every matcher using the key.

    ``vocabulary``: the set of hashes of the distinct canonical tokens (cheap: one pass in C,
    one hash per distinct token). ``stream``: the hashes in reading order over all segments
    (only built when a matcher's cheap test says a match is possible).
    """

    __slots__ = ("_hasher", "_raws", "_single", "_multi", "_vocab", "_stream", "_starts",
                 "_content", "_rare")

    def __init__(self, datas: Iterable[bytes], hasher: TokenHasher):
        self._hasher = hasher
        self._raws = [prepare(d).split() for d in datas]
        self._single: dict[bytes, int] = {}
        self._multi: dict[bytes, tuple[int, ...]] = {}
        self._vocab: set[int] | None = None
        self._rare: set[int] = set()
        self._stream: list[int] | None = None
        self._starts: list[int] = [0]
        self._content: tuple[frozenset[int], list[int], list[int]] | None = None

    def _build_table(self) -> None:
        """Hash every distinct raw token once: ``single`` maps the (usual) raw tokens with one
        canonical token to its hash, ``multi`` the others (none, or several: "and/or")."""
        distinct: set[bytes] = set()
        for r in self._raws:
            distinct.update(r)
        h = self._hasher
        keys = list(distinct)
        got = list(map(h.words.get, keys))                    # words seen in earlier bodies
        single = dict(zip(keys, got, strict=True))
        multi: dict[bytes, tuple[int, ...]] = {}
        fresh: dict[bytes, int] = {}
        memo: dict[bytes, int] = {}
        rare: set[int] = set()
        for raw in compress(keys, map(is_, got, repeat(None))):
            out = []
            for c in canonical(raw):
                v = memo.get(c)
                if v is None:
                    v = memo[c] = h(c)
                    if not c.isalpha():
                        rare.add(v)
                out.append(v)
            if len(out) == 1:
                single[raw] = out[0]
                if not _DIGIT_RE.search(raw):
                    fresh[raw] = out[0]
            else:
                del single[raw]
                multi[raw] = tuple(out)
        if fresh:
            h.remember(fresh)
        self._single, self._multi = single, multi
        vocab = set(single.values())
        for hs in multi.values():
            vocab.update(hs)
        self._vocab = vocab
        self._rare = rare

    @property
    def rare_vocabulary(self) -> set[int]:
        """Hashes of the distinct canonical tokens that are not plain ASCII words: numbers,
        dates, identifiers, accented words. Few in prose; where SSNs, dates and case numbers
        live."""
        if self._vocab is None:
            self._build_table()
        return self._rare

    @property
    def size(self) -> int:
        """Number of raw tokens (an estimate of the stream's length without building it)."""
        return sum(map(len, self._raws))

    @property
    def vocabulary(self) -> set[int]:
        if self._vocab is None:
            self._build_table()
        return self._vocab  # type: ignore[return-value]

    @property
    def stream(self) -> list[int]:
        if self._stream is None:
            if self._vocab is None:
                self._build_table()
            single, multi = self._single, self._multi
            out: list[int] = []
            starts = [0]
            for r in self._raws:
                if not multi:
                    out.extend(map(single.__getitem__, r))
                else:
                    for t in r:
                        v = single.get(t)
                        if v is not None:
                            out.append(v)
                        else:
                            out.extend(multi[t])
                starts.append(len(out))
            self._starts = starts
            self._stream = out
        return self._stream

    def content_stream(self, common: frozenset[int]) -> list[int]:
        """The stream without the hashes in ``common`` (very common words), for k-grams."""
        if self._content is None or self._content[0] is not common:
            stream, starts = self.stream, self._starts
            drop = common.__contains__
            out: list[int] = []
            cstarts = [0]
            for a, b in zip(starts, starts[1:], strict=False):
                out.extend(filterfalse(drop, stream[a:b]))
                cstarts.append(len(out))
            self._content = (common, out, cstarts)
        return self._content[1]

    def where(self, position: int, segments: Sequence, content: bool = False) -> str:
        """Provenance of the segment holding ``position`` of the stream (or content stream)."""
        self.stream  # noqa: B018 - builds _starts
        starts = self._content[2] if content and self._content else self._starts
        i = max(0, bisect_right(starts, position) - 1)
        return segments[i].where if i < len(segments) else ""


def window_sums(hs: Sequence[int], k: int) -> list[int]:
    """Sums of every k consecutive hashes (k-gram fingerprints, multi-token cells)."""
    if k == 1:
        return list(hs)
    if len(hs) < k:
        return []
    prefix = list(accumulate(hs, initial=0))
    return list(map(sub, prefix[k:], prefix[:-k]))
