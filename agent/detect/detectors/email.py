"""E-mail addresses.

Hyperscan only finds "x@y"; the domain is parsed with one regex match and the local part with
one translate + rfind (a full address regex in the shared database slows every scan 3x, and
tracking the start of a local part that begins with a broad class costs 60x). The TLD must be
a real one (public suffix list, as Presidio's tldextract check) and not a file extension
(icon@2x.png, logo@3x.webp); documentation domains (example.com, RFC 2606) are not addresses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from agent.detect import entities as E
from agent.detect.detectors.base import SCORE_FORMAT, Detector, Pattern
from agent.detect.filters import FILE_EXTENSIONS

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState

# Documentation and reserved names (RFC 2606 / 6761): not anyone's address.
_RESERVED_DOMAINS = frozenset({b"example.com", b"example.org", b"example.net"})
_RESERVED_SUFFIXES = tuple(b"." + d for d in _RESERVED_DOMAINS)
_RESERVED_TLDS = {"test", "example", "invalid", "localhost", "local"}
_DOMAIN_RE = re.compile(rb"[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.([A-Za-z]{2,24})\b")
# File names that look like addresses (icon@2x.png) and reserved names (RFC 2606 / 6761).
_BAD_TLDS = frozenset(t.encode() for t in FILE_EXTENSIONS | _RESERVED_TLDS)
_LOCAL_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-'"
# Local-part bytes -> 0x00, anything else -> 0x01: rfind(0x01) finds where the local part begins.
_LOCAL_PART = bytes(0 if c in _LOCAL_CHARS else 1 for c in range(256))


@lru_cache(maxsize=1)
def known_tlds() -> frozenset[bytes]:
    """Top-level domains from the public suffix list bundled with publicsuffix2 (a mitmproxy
    dependency); an empty set (shape check only) when it is not installed."""
    try:
        from importlib.resources import files

        text = files("publicsuffix2").joinpath("public_suffix_list.dat").read_text("utf-8")
    except (ImportError, OSError):
        return frozenset()
    tlds = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            tld = line.rsplit(".", 1)[-1].lstrip("!*")
            if tld.isascii() and tld.isalpha():
                tlds.add(tld.lower().encode())
    return frozenset(tlds)


class EmailDetector(Detector):
    entity = E.EMAIL

    def __init__(self) -> None:
        self._tlds = known_tlds()

    def patterns(self) -> Sequence[Pattern]:
        # A trigger on "x@y": the full address regex in the shared database (even without
        # start-of-match) slows the whole pass 3x; the domain is parsed here instead.
        return (Pattern("email", rb"[A-Za-z0-9._%+\-]@[A-Za-z0-9]", 3),)

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        buf, lo = st.buf, st.lo
        at = s + 1
        m = _DOMAIN_RE.match(buf, at + 1, st.hi)
        if m is None:
            return
        e = m.end()
        if not self._tld_ok(m.group(1)):
            return
        first = max(lo, at - 64)
        s = first + buf[first:at].translate(_LOCAL_PART).rfind(b"\x01") + 1
        while buf[s] in b".'":  # leading dots / quotes are punctuation, not the local part
            s += 1
        if s >= at or e - at > 254:
            return
        addr = buf[s:e].lower()
        if _reserved(addr[at - s + 1:]):
            return
        st.emit(self.entity, s, e, SCORE_FORMAT, "format", addr.decode("ascii"))

    def _tld_ok(self, tld: bytes) -> bool:
        tld = tld.lower()
        return tld not in _BAD_TLDS and (not self._tlds or tld in self._tlds)

    def domain_ok(self, domain: bytes) -> bool:
        """Whether ``on_match`` accepts ``domain`` as the whole domain part of an address,
        when the byte after it cannot continue a domain (a delimiter, CR/LF, the end). The
        table fast path checks each distinct domain of an e-mail column once with it."""
        m = _DOMAIN_RE.match(domain + b"\n")
        return (m is not None and m.end() == len(domain) and self._tld_ok(m.group(1))
                and len(domain) < 254 and not _reserved(domain.lower()))


def _reserved(domain: bytes) -> bool:
    """Documentation and reserved names (RFC 2606 / 6761); ``domain`` in lower case."""
    return domain in _RESERVED_DOMAINS or domain.endswith(_RESERVED_SUFFIXES)
