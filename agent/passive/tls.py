"""TLS ClientHello parsing: SNI, ALPN, offered versions and the JA4 client fingerprint.

Pure and defensive: the bytes come off the wire (or out of a QUIC Initial, whose keys are
public), so every length is checked and a malformed hello yields ``None``, never an exception.

Two entry points:
- ``parse_records(data)`` for TCP: the client's first bytes, possibly several TLS records and
  possibly incomplete (a Chromium ClientHello with a post-quantum key share is ~1.7 KB and spans
  two TCP segments). Returns ``MORE`` while the hello could still complete.
- ``parse_handshake(data)`` for QUIC: the reassembled CRYPTO stream, i.e. handshake messages
  without the record layer.
"""

from __future__ import annotations

import hashlib
import re
import struct
from functools import lru_cache
from itertools import filterfalse
from typing import Final, NamedTuple

MAX_HELLO = 16384  # a ClientHello larger than this is not worth buffering (RFC 8446 allows 2^24)

HANDSHAKE: Final = 0x16
CLIENT_HELLO: Final = 0x01


class _More:
    """Sentinel: not complete yet, but still plausibly a ClientHello."""

    def __repr__(self) -> str:
        return "MORE"


MORE: Final = _More()


def is_grease(v: int) -> bool:
    """GREASE values (RFC 8701) are 0x?a?a with both bytes equal."""
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


GREASE: Final = frozenset(v for v in range(0x0A0A, 0x10000, 0x1010))


class ClientHello(NamedTuple):
    server_name: str | None
    alpn: tuple[str, ...]
    legacy_version: int
    versions: tuple[int, ...]            # supported_versions, GREASE removed
    ciphers: tuple[int, ...]             # GREASE removed, wire order
    extensions: tuple[int, ...]          # GREASE removed, wire order
    signature_algorithms: tuple[int, ...]
    ech: bool = False                    # encrypted_client_hello offered: the SNI is the outer name

    @property
    def version(self) -> int:
        """Highest version the client offers (supported_versions wins over legacy_version)."""
        return max(self.versions) if self.versions else self.legacy_version

    def ja4(self, transport: str = "t") -> str:
        """JA4 TLS client fingerprint (FoxIO, BSD-3): ``t13d1516h2_8daaf6152771_e5627efa2ab1``.

        Evidence of the TLS stack (browser, script, sync client), never of identity.
        """
        return _ja4(transport, self.version, self.alpn[0] if self.alpn else "", self.ciphers,
                    self.extensions, self.signature_algorithms)


@lru_cache(maxsize=4096)    # a network has few distinct client stacks: hash each once
def _ja4(transport: str, version: int, first_alpn: str, ciphers: tuple[int, ...],
         extensions: tuple[int, ...], sigalgs: tuple[int, ...]) -> str:
    ver = _JA4_VERSIONS.get(version, "00")
    sni = "d" if 0x0000 in extensions else "i"
    alpn = "00"
    if first_alpn:
        a, z = first_alpn[0], first_alpn[-1]
        if a.isascii() and a.isalnum() and z.isascii() and z.isalnum():
            alpn = a + z
        else:  # non-alphanumeric ALPN bytes: first and last hex digits of the value
            h = first_alpn.encode("utf-8", "surrogateescape").hex()
            alpn = h[0] + h[-1]
    part_a = f"{transport}{ver}{sni}{min(len(ciphers), 99):02d}{min(len(extensions), 99):02d}{alpn}"
    cs = ",".join(sorted(f"{c:04x}" for c in ciphers))
    part_b = _hash12(cs) if cs else "000000000000"
    exts = ",".join(sorted(f"{e:04x}" for e in extensions if e not in (0x0000, 0x0010)))
    if sigalgs:
        exts += "_" + ",".join(f"{s:04x}" for s in sigalgs)
    part_c = _hash12(exts) if exts else "000000000000"
    return f"{part_a}_{part_b}_{part_c}"


_JA4_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10",
                 0x0300: "s3", 0x0200: "s2", 0x0100: "s1"}


def _hash12(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def looks_like_hello(data: bytes) -> bool:
    """Cheap prefilter on a flow's first client bytes: handshake record, TLS 1.x, ClientHello.

    A first byte 0x16 alone is not enough: TLS 1.2's second client flight and ~1/256 of bulk
    segments start with it, so content type, record version and handshake type are all checked.
    """
    return (len(data) >= 6 and data[0] == HANDSHAKE and data[1] == 3 and data[2] <= 4
            and data[5] == CLIENT_HELLO)


def parse_records(data: bytes) -> ClientHello | _More | None:
    """Parse a ClientHello from the start of a TCP stream (one or more TLS records)."""
    if len(data) < 6:
        if len(data) == 5 and not (data[3] or data[4]):
            return None                                # empty record
        return MORE if _prefix_ok(data) else None
    if not looks_like_hello(data):
        return None
    rlen = (data[3] << 8) | data[4]
    need = 4 + int.from_bytes(data[6:9], "big") if len(data) >= 9 else 1 << 30
    if 5 + need <= len(data) and need <= rlen:          # the common case: one record holds it
        return parse_handshake(data[5:5 + need]) if need <= MAX_HELLO else None
    # Concatenate handshake-record fragments until the hello message is complete.
    msg = bytearray()
    need = None
    pos = 0
    while True:
        if pos + 5 > len(data):
            return MORE
        if data[pos] != HANDSHAKE or data[pos + 1] != 3:
            return None
        rlen = (data[pos + 3] << 8) | data[pos + 4]
        if rlen == 0 or rlen > 16384 + 2048:
            return None
        end = pos + 5 + rlen
        msg += data[pos + 5:min(end, len(data))]
        if need is None and len(msg) >= 4:
            if msg[0] != CLIENT_HELLO:
                return None
            need = 4 + int.from_bytes(msg[1:4], "big")
            if need > MAX_HELLO:
                return None
        if need is not None and len(msg) >= need:
            return parse_handshake(bytes(msg[:need]))
        if end > len(data):
            return MORE
        pos = end


def _prefix_ok(data: bytes) -> bool:
    ref = (HANDSHAKE, 3)
    return (all(b == r for b, r in zip(data[:2], ref, strict=False))
            and (len(data) < 3 or data[2] <= 4))


def handshake_status(data: bytes) -> ClientHello | _More | None:
    """Like ``parse_handshake`` but says MORE while the message is still incomplete."""
    if not data:
        return MORE
    if data[0] != CLIENT_HELLO:
        return None
    if len(data) < 4:
        return MORE
    need = 4 + int.from_bytes(data[1:4], "big")
    if need > MAX_HELLO:
        return None
    if len(data) < need:
        return MORE
    return parse_handshake(data[:need])


def parse_handshake(msg: bytes) -> ClientHello | None:
    """Parse one ClientHello handshake message (type, 3-byte length, body)."""
    n = len(msg)
    if n < 4 + 38 or msg[0] != CLIENT_HELLO:
        return None
    end = 4 + int.from_bytes(msg[1:4], "big")
    if end > n:
        return None
    p = 4
    legacy_version = (msg[p] << 8) | msg[p + 1]
    p += 2 + 32                                        # version, random
    sid_len = msg[p]
    if sid_len > 32:
        return None
    p += 1 + sid_len
    if p + 2 > end:
        return None
    cs_len = (msg[p] << 8) | msg[p + 1]
    p += 2
    if cs_len % 2 or p + cs_len > end:
        return None
    ciphers = tuple(filterfalse(GREASE.__contains__,
                                struct.unpack_from(f"!{cs_len // 2}H", msg, p)))
    p += cs_len
    if p + 1 > end:
        return None
    p += 1 + msg[p]                                    # compression methods
    if p > end:
        return None
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    versions: tuple[int, ...] = ()
    sigalgs: tuple[int, ...] = ()
    exts: list[int] = []
    ech = False
    if p + 2 <= end:
        ext_end = p + 2 + ((msg[p] << 8) | msg[p + 1])
        if ext_end > end:
            return None
        p += 2
        while p + 4 <= ext_end:
            etype = (msg[p] << 8) | msg[p + 1]
            elen = (msg[p + 2] << 8) | msg[p + 3]
            p += 4
            q = p + elen
            if q > ext_end:
                return None
            if etype in GREASE:
                p = q
                continue
            exts.append(etype)
            if etype == 0x0000:
                sni = _sni(msg[p:q])
            elif etype == 0x0010:
                alpn = _alpn(msg[p:q])
            elif etype == 0x002B:
                versions = tuple(filterfalse(GREASE.__contains__, _u16_list(msg[p:q], 1)))
            elif etype == 0x000D:
                sigalgs = _u16_list(msg[p:q], 2)
            elif etype == 0xFE0D:
                ech = True
            p = q
    return ClientHello(sni, alpn, legacy_version, versions, ciphers, tuple(exts), sigalgs, ech)


def _u16_list(body: bytes, len_size: int) -> tuple[int, ...]:
    if len(body) < len_size:
        return ()
    n = min(int.from_bytes(body[:len_size], "big"), len(body) - len_size) // 2
    return struct.unpack_from(f"!{n}H", body, len_size)


def _sni(body: bytes) -> str | None:
    # server_name_list: u16 length, then entries of (u8 type, u16 length, name); type 0 = host_name
    if len(body) < 5:
        return None
    p, end = 2, min(len(body), 2 + int.from_bytes(body[:2], "big"))
    while p + 3 <= end:
        ntype, nlen = body[p], int.from_bytes(body[p + 1:p + 3], "big")
        p += 3
        if p + nlen > end:
            return None
        if ntype == 0:
            return valid_hostname(body[p:p + nlen])
        p += nlen
    return None


def _alpn(body: bytes) -> tuple[str, ...]:
    out = []
    if len(body) < 2:
        return ()
    p, end = 2, min(len(body), 2 + int.from_bytes(body[:2], "big"))
    while p < end and len(out) < 16:
        n = body[p]
        p += 1
        if n == 0 or p + n > end:
            break
        out.append(body[p:p + n].decode("ascii", "replace"))
        p += n
    return tuple(out)


_HOSTNAME = re.compile(rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?")


def valid_hostname(raw: bytes) -> str | None:
    """A host name as sent on the wire, lower-cased, or None if it is not one.

    Attacker-controlled: only LDH labels (and '_', seen in the wild) are accepted, so a
    crafted name cannot inject control characters into logs or JSON consumers.
    """
    if len(raw) > 253 or not _HOSTNAME.fullmatch(raw):
        return None
    return raw.decode("ascii").lower().rstrip(".")
