"""QUIC Initial packets: remove Initial protection and collect the client's CRYPTO frames.

The Initial packet protection keys are derived from the client's first Destination Connection
ID (RFC 9001 §5.2), so a passive observer can decrypt the client's Initials and read the TLS
ClientHello (SNI, ALPN) inside. Supported: QUIC v1 (RFC 9000/9001) and v2 (RFC 9369: other
salt, labels and packet-type bits); not the draft versions browsers dropped in 2021.

The keys are public, so decrypted content is attacker-controlled: every varint and length is
checked, and a bad packet yields ``None`` or an empty list, never an exception.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

V1 = 0x00000001
V2 = 0x6B3343CF


class VersionSpec(NamedTuple):
    name: str
    salt: bytes
    label_prefix: str        # "quic " (v1) or "quicv2 " (v2) before key / iv / hp
    initial_type: int        # long-header packet-type bits of an Initial


VERSIONS: dict[int, VersionSpec] = {
    V1: VersionSpec("1", bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), "quic ", 0),
    V2: VersionSpec("2", bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), "quicv2 ", 1),
}
MAX_CID = 20
MAX_CRYPTO = 16384          # ClientHello bytes buffered per connection, at most


def _hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) for keys <= 64 bytes, written out because OpenSSL 3's one-shot
    HMAC costs ~4 us a call against ~1 us for two plain SHA-256 hashes (5 per QUIC connection).
    Checked against the RFC 9001 key-derivation vectors and hmac.digest in the tests."""
    key = key.ljust(64, b"\x00")
    inner = hashlib.sha256(key.translate(_IPAD) + msg).digest()
    return hashlib.sha256(key.translate(_OPAD) + inner).digest()


_IPAD = bytes(b ^ 0x36 for b in range(256))     # byte translation tables: XOR in C
_OPAD = bytes(b ^ 0x5C for b in range(256))


def _hkdf_expand_label(secret: bytes, label: str, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256 and an empty context; length <= 32."""
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return _hmac_sha256(secret, info + b"\x01")[:length]


def initial_secrets(version: int, dcid: bytes, side: str = "client") -> tuple[bytes, bytes, bytes]:
    """(key, iv, hp) protecting the ``side`` ("client" or "server") Initial packets."""
    spec = VERSIONS[version]
    initial_secret = _hmac_sha256(spec.salt, dcid)                          # HKDF-Extract
    secret = _hkdf_expand_label(initial_secret, f"{side} in", 32)
    p = spec.label_prefix
    return (_hkdf_expand_label(secret, p + "key", 16), _hkdf_expand_label(secret, p + "iv", 12),
            _hkdf_expand_label(secret, p + "hp", 16))


class InitialKeys:
    __slots__ = ("aead", "iv", "_hp")

    def __init__(self, key: bytes, iv: bytes, hp: bytes):
        self.aead = AESGCM(key)
        self.iv = iv
        # ECB has no state between blocks, so one encryptor serves every sample
        self._hp = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()

    def mask(self, sample: bytes) -> bytes:
        return self._hp.update(sample)


@lru_cache(maxsize=1024)
def client_keys(version: int, dcid: bytes) -> InitialKeys:
    return InitialKeys(*initial_secrets(version, dcid, "client"))


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """QUIC variable-length integer (RFC 9000 §16) -> (value, new position); (-1, -1) if short."""
    if pos >= len(buf):
        return -1, -1
    first = buf[pos]
    size = 1 << (first >> 6)
    if pos + size > len(buf):
        return -1, -1
    value = first & 0x3F
    for i in range(1, size):
        value = (value << 8) | buf[pos + i]
    return value, pos + size


class LongHeader(NamedTuple):
    start: int               # offset of the first byte inside the datagram
    version: int
    ptype: int               # raw packet-type bits
    dcid: bytes
    scid: bytes
    pn_offset: int           # start of the protected packet number (Initial only)
    end: int                 # end of this packet inside the datagram


def long_header(dgram: bytes, pos: int = 0) -> LongHeader | None:
    """Parse a QUIC long header at ``pos``; None if it is not one or is malformed."""
    n = len(dgram)
    if pos + 7 > n or dgram[pos] & 0xC0 != 0xC0:       # long form + fixed bit
        return None
    version = int.from_bytes(dgram[pos + 1:pos + 5], "big")
    p = pos + 5
    dlen = dgram[p]
    if dlen > MAX_CID or p + 1 + dlen + 1 > n:
        return None
    dcid = dgram[p + 1:p + 1 + dlen]
    p += 1 + dlen
    slen = dgram[p]
    if slen > MAX_CID or p + 1 + slen > n:
        return None
    scid = dgram[p + 1:p + 1 + slen]
    p += 1 + slen
    ptype = (dgram[pos] >> 4) & 0x03
    spec = VERSIONS.get(version)
    if spec is None or ptype != spec.initial_type:
        return LongHeader(pos, version, ptype, dcid, scid, -1, _skip_other(dgram, p, spec, ptype))
    tlen, p = read_varint(dgram, p)                       # token
    if p < 0 or p + tlen > n:
        return None
    p += tlen
    length, p = read_varint(dgram, p)
    if p < 0 or length < 20 or p + length > n:            # 4-byte pn sample + 16-byte tag
        return None
    return LongHeader(pos, version, ptype, dcid, scid, p, p + length)


def _skip_other(dgram: bytes, p: int, spec: VersionSpec | None, ptype: int) -> int:
    """End of a non-Initial long-header packet (for coalesced datagrams); len(dgram) if unknown."""
    if spec is None:
        return len(dgram)
    retry = 3 if spec.initial_type == 0 else 0
    if ptype == retry:
        return len(dgram)
    length, p = read_varint(dgram, p)
    return len(dgram) if p < 0 or p + length > len(dgram) else p + length


def open_initial(dgram: bytes, hdr: LongHeader, keys: InitialKeys) -> bytes | None:
    """Remove header protection and decrypt one Initial packet; None if it does not open."""
    pn_off = hdr.pn_offset
    sample = dgram[pn_off + 4:pn_off + 20]
    if len(sample) < 16:
        return None
    mask = keys.mask(sample)
    start = hdr.start
    first = dgram[start] ^ (mask[0] & 0x0F)
    pn_len = (first & 0x03) + 1
    pn_bytes = bytes(b ^ m for b, m in zip(dgram[pn_off:pn_off + pn_len], mask[1:1 + pn_len],
                                              strict=True))
    header = bytes([first]) + dgram[start + 1:pn_off] + pn_bytes
    # The packet number of a client's first Initials is small: the truncated value is the full one.
    pn = int.from_bytes(pn_bytes, "big")
    nonce = (int.from_bytes(keys.iv, "big") ^ pn).to_bytes(12, "big")
    try:
        return keys.aead.decrypt(nonce, dgram[pn_off + pn_len:hdr.end], header)
    except InvalidTag:
        return None


def crypto_frames(plain: bytes) -> list[tuple[int, bytes]] | None:
    """CRYPTO frame (offset, data) pairs of a decrypted Initial payload; None if malformed.

    Only frames allowed in Initial packets are accepted (RFC 9000 §12.4): PADDING, PING, ACK,
    CRYPTO, CONNECTION_CLOSE.
    """
    out: list[tuple[int, bytes]] = []
    p, n = 0, len(plain)
    while p < n:
        ftype = plain[p]
        if ftype == 0x00:                     # PADDING: runs of hundreds of bytes, skip in C
            rest = plain[p:]
            p = n - len(rest.lstrip(b"\x00"))
            continue
        p += 1
        if ftype == 0x01:
            continue
        if ftype in (0x02, 0x03):                          # ACK (with ECN counts for 0x03)
            ecn = 3 if ftype == 0x03 else 0
            _, p = read_varint(plain, p)                   # largest acknowledged
            _, p = read_varint(plain, p) if p >= 0 else (-1, -1)
            count, p = read_varint(plain, p) if p >= 0 else (-1, -1)
            if p < 0 or count > 256:
                return None
            for _ in range(1 + 2 * count + ecn):   # first range, (gap, range) pairs, ECN
                _, p = read_varint(plain, p)
                if p < 0:
                    return None
            continue
        if ftype == 0x06:
            off, p = read_varint(plain, p)
            ln, p = read_varint(plain, p) if p >= 0 else (-1, -1)
            if p < 0 or p + ln > n:
                return None
            out.append((off, plain[p:p + ln]))
            p += ln
            continue
        if ftype in (0x1C, 0x1D):
            _, p = read_varint(plain, p)
            if ftype == 0x1C and p >= 0:
                _, p = read_varint(plain, p)
            rl, p = read_varint(plain, p) if p >= 0 else (-1, -1)
            if p < 0 or p + rl > n:
                return None
            p += rl
            continue
        return None
    return out


class CryptoStream:
    """Reassembles CRYPTO frame data by offset (across packets, in any order), up to MAX_CRYPTO."""

    __slots__ = ("data", "_pending", "overflow")

    def __init__(self) -> None:
        self.data = bytearray()          # contiguous bytes from offset 0
        self._pending: dict[int, bytes] = {}
        self.overflow = False

    def add(self, offset: int, chunk: bytes) -> None:
        if offset + len(chunk) > MAX_CRYPTO:
            self.overflow = True
            chunk = chunk[:max(0, MAX_CRYPTO - offset)]
        if not chunk:
            return
        self._pending[offset] = max(chunk, self._pending.get(offset, b""), key=len)
        progressed = True
        while progressed and self._pending:
            progressed = False
            have = len(self.data)
            for off in sorted(self._pending):
                if off > have:
                    break
                piece = self._pending.pop(off)
                if off + len(piece) > have:
                    self.data += piece[have - off:]
                    have = len(self.data)
                progressed = True


class ClientInitials(NamedTuple):
    version: int
    key_dcid: bytes                      # the DCID the keys were derived from
    crypto: list[tuple[int, bytes]]      # CRYPTO frames of every Initial in the datagram


def open_datagram(dgram: bytes, key_dcid: bytes | None = None) -> ClientInitials | None:
    """Decrypt the client Initial packet(s) of one UDP datagram.

    ``key_dcid`` is the DCID of the connection's first client Initial: later Initials carry the
    server-chosen DCID but keep the first one's keys (RFC 9001 §5.2). After a Retry the keys
    come from the new DCID, so the packet's own DCID is tried as well.
    """
    pos, version, found = 0, 0, False
    frames: list[tuple[int, bytes]] = []
    used = key_dcid
    while pos < len(dgram):
        hdr = long_header(dgram, pos)
        if hdr is None:
            break
        if hdr.pn_offset >= 0:
            plain = None
            for dcid in (key_dcid, hdr.dcid) if key_dcid not in (None, hdr.dcid) else (hdr.dcid,):
                assert dcid is not None
                plain = open_initial(dgram, hdr, client_keys(hdr.version, dcid))
                if plain is not None:
                    used = dcid
                    break
            if plain is not None:
                got = crypto_frames(plain)
                if got is not None:
                    frames.extend(got)
                    version, found = hdr.version, True
        pos = hdr.end
    if not found or used is None:
        return None
    return ClientInitials(version, used, frames)
