"""Text bytes made ASCII-compatible for the scanner, copying only when the source is not.

UTF-8, Latin-1, cp1252 and the other ASCII supersets pass through untouched: detectors look
for ASCII shapes (digits, dashes, keywords), so a 50 MB body costs no decode. UTF-16/32 (told
by a BOM, a declared charset, or the NUL pattern of mostly-ASCII text) and the few declared
charsets that are not ASCII supersets (EBCDIC ...) are transcoded to UTF-8.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

_SAMPLE = 4096
_PROBE = "azAZ09-_@.:/ \n"


def bom_codec(data: bytes) -> tuple[str, int] | None:
    """Codec named by a byte-order mark, and the mark's length."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if data.startswith(codecs.BOM_UTF32_LE):
        return "utf-32-le", 4
    if data.startswith(codecs.BOM_UTF32_BE):
        return "utf-32-be", 4
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    return None


def nul_pattern_codec(data: bytes) -> str | None:
    """UTF-16/32 without a BOM, recognised by where mostly-ASCII text puts its NUL bytes."""
    sample = data[:_SAMPLE]
    n = len(sample) - len(sample) % 4
    if n < 8:
        return None
    sample = sample[:n]
    lanes = [sample[i::4].count(0) for i in range(4)]
    quarter = n // 4
    full = [c >= quarter * 0.9 for c in lanes]
    none = [c <= quarter * 0.05 for c in lanes]
    if none[0] and all(full[1:]):
        return "utf-32-le"
    if all(full[:3]) and none[3]:
        return "utf-32-be"
    even = lanes[0] + lanes[2]
    odd = lanes[1] + lanes[3]
    half = n // 2
    if odd >= half * 0.3 and even <= half * 0.02:
        return "utf-16-le"
    if even >= half * 0.3 and odd <= half * 0.02:
        return "utf-16-be"
    return None


@lru_cache(maxsize=64)
def _canonical(charset: str) -> str | None:
    try:
        return codecs.lookup(charset.strip().strip('"').lower()).name
    except (LookupError, ValueError):
        return None


@lru_cache(maxsize=64)
def ascii_compatible(codec: str) -> bool:
    try:
        return _PROBE.encode(codec) == _PROBE.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def needs_transcoding(data: bytes, declared: str | None = None) -> tuple[str, int] | None:
    """The codec (and BOM length to skip) when ``data`` is not ASCII-compatible as it stands."""
    bom = bom_codec(data)
    if bom:
        return bom
    nul = nul_pattern_codec(data)
    if nul:
        return nul, 0
    codec = _canonical(declared) if declared else None
    if codec and codec.startswith(("utf-16", "utf-32")):
        # declared UTF-16 without BOM or NUL pattern (e.g. CJK text): RFC 2781 says big-endian
        return ("utf-16-be" if codec == "utf-16" else "utf-32-be" if codec == "utf-32"
                else codec), 0
    if codec and not ascii_compatible(codec):
        return codec, 0
    return None


def to_ascii_compatible(data: bytes, declared: str | None = None) -> tuple[bytes, bool]:
    """``(text, transcoded)``: ``data`` itself when it is already ASCII-compatible."""
    how = needs_transcoding(data, declared)
    if how is None:
        return data, False
    codec, skip = how
    if codec == "utf-8":
        return data[skip:], False
    return data[skip:].decode(codec, "replace").encode("utf-8", "surrogatepass"), True
