"""Real protocol bytes for the passive monitor's test captures.

- ``openssl_hello``: the ClientHello Python's own TLS stack (OpenSSL) sends, taken from a
  memory BIO: real bytes from a real client, no network.
- ``chromium_hello``: a Chromium-shaped ClientHello built by hand per RFC 8446 (GREASE,
  X25519MLKEM768 key share, so ~1.7 KB and split across TCP segments or QUIC Initials).
- ``protect_initial``: QUIC Initial packet protection (RFC 9001 §5), checked against the RFC's
  Appendix A test vectors in test_quic.py.
- ``aioquic_initials``: the Initial datagrams aioquic (a real QUIC stack) sends.
"""

from __future__ import annotations

import random
import ssl
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.passive import quic


def openssl_hello(sni: str | None, *, tls12: bool = False,
                  alpn: tuple[str, ...] = ("h2", "http/1.1")) -> bytes:
    """The TLS record(s) OpenSSL sends first as a client for ``sni``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def _u16(n: int) -> bytes:
    return struct.pack("!H", n)


def _vec16(b: bytes) -> bytes:
    return _u16(len(b)) + b


def _ext(etype: int, body: bytes) -> bytes:
    return _u16(etype) + _vec16(body)


GREASE = [0x0A0A + 0x1010 * i for i in range(16)]
CHROME_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                  0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
CHROME_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def chromium_hello(sni: str | None, *, seed: int = 0, pq: bool = True, sni_last: bool = False,
                   alpn: tuple[str, ...] = ("h2", "http/1.1"), quic_tp: bytes | None = None,
                   ech_grease: bool = True) -> bytes:
    """A Chromium-like ClientHello handshake message (no record header).

    ``sni_last`` puts server_name after the big key share, so on TCP it lands in the second
    segment (Chromium permutes its extensions; this happens ~40% of the time in the wild).
    """
    rnd = random.Random(seed)
    g1, g2, g3, g4 = rnd.sample(GREASE, 4)
    groups = [g2] + ([0x11EC] if pq else []) + [0x001D, 0x0017, 0x0018]
    shares = _u16(g2) + _vec16(b"\x00")
    if pq:
        shares += _u16(0x11EC) + _vec16(rnd.randbytes(1216))
    shares += _u16(0x001D) + _vec16(rnd.randbytes(32))
    exts: list[bytes] = [_ext(g3, b"")]
    sni_ext = b""
    if sni is not None:
        name = sni.encode()
        sni_ext = _ext(0x0000, _vec16(b"\x00" + _vec16(name)))
    body_exts = [
        _ext(0x0017, b""),
        _ext(0xFF01, b"\x00"),
        _ext(0x000A, _vec16(b"".join(_u16(g) for g in groups))),
        _ext(0x000B, b"\x01\x00"),
        _ext(0x0023, b""),
        _ext(0x0010, _vec16(b"".join(bytes([len(a)]) + a.encode() for a in alpn))) if alpn else b"",
        _ext(0x0005, b"\x01\x00\x00\x00\x00"),
        _ext(0x000D, _vec16(b"".join(_u16(s) for s in CHROME_SIGALGS))),
        _ext(0x0012, b""),
        _ext(0x0033, _vec16(shares)),
        _ext(0x002D, b"\x01\x01"),
        _ext(0x002B, bytes([6]) + _u16(g4) + _u16(0x0304) + _u16(0x0303)),
        _ext(0x001B, b"\x02\x00\x02"),
        _ext(0x44CD, b"\x00\x03\x02h2"),
    ]
    if ech_grease:
        body_exts.append(_ext(0xFE0D, b"\x00\x00\x01\x00\x01" + bytes([rnd.randrange(256)])
                              + _vec16(rnd.randbytes(32)) + _vec16(rnd.randbytes(144))))
    if quic_tp is not None:
        body_exts.append(_ext(0x0039, quic_tp))
    if sni_last:
        exts += body_exts + [sni_ext]
    else:
        exts += [sni_ext] + body_exts
    exts.append(_ext(g1, b"\x00"))
    ciphers = [g1] + CHROME_CIPHERS
    body = (_u16(0x0303) + rnd.randbytes(32) + bytes([32]) + rnd.randbytes(32)
            + _vec16(b"".join(_u16(c) for c in ciphers)) + b"\x01\x00"
            + _vec16(b"".join(e for e in exts if e)))
    return b"\x01" + len(body).to_bytes(3, "big") + body


def records(msg: bytes, *, fragment: int = 16384, version: int = 0x0301) -> bytes:
    """Wrap a handshake message in TLS records of at most ``fragment`` bytes."""
    out = b""
    for i in range(0, len(msg), fragment):
        piece = msg[i:i + fragment]
        out += bytes([0x16]) + _u16(version) + _vec16(piece)
    return out


# ---------------------------------------------------------------------------------- QUIC

def varint(n: int) -> bytes:
    if n < 0x40:
        return bytes([n])
    if n < 0x4000:
        return _u16(0x4000 | n)
    if n < 0x40000000:
        return struct.pack("!I", 0x80000000 | n)
    return struct.pack("!Q", 0xC000000000000000 | n)


def crypto_frame(offset: int, data: bytes) -> bytes:
    return b"\x06" + varint(offset) + varint(len(data)) + data


def protect_initial(version: int, dcid: bytes, scid: bytes, pn: int, payload: bytes, *,
                    pn_len: int = 4, token: bytes = b"", pad_to: int | None = 1200) -> bytes:
    """Build and protect a client Initial packet (RFC 9001 §5.3-5.4).

    With ``pad_to`` the payload is padded with PADDING frames so the datagram is at least that
    long, as clients must (RFC 9000 §14.1).
    """
    spec = quic.VERSIONS[version]
    first = 0xC0 | (spec.initial_type << 4) | (pn_len - 1)

    def header_for(plen: int) -> bytes:
        return (bytes([first]) + version.to_bytes(4, "big") + bytes([len(dcid)]) + dcid
                + bytes([len(scid)]) + scid + varint(len(token)) + token
                + varint(pn_len + plen + 16) + pn.to_bytes(pn_len, "big"))

    if pad_to is not None:
        short = pad_to - len(header_for(len(payload))) - len(payload) - 16
        if short > 0:
            payload += bytes(short)
            # the Length varint may have grown a byte: pad again if needed
            short = pad_to - len(header_for(len(payload))) - len(payload) - 16
            payload += bytes(max(0, short))
    header = header_for(len(payload))
    key, iv, hp = quic.initial_secrets(version, dcid, "client")
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big"), strict=True))
    sealed = AESGCM(key).encrypt(nonce, payload, header)
    pn_off = len(header) - pn_len
    sample = sealed[4 - pn_len:4 - pn_len + 16]
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sample)
    out = bytearray(header + sealed)
    out[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        out[pn_off + i] ^= mask[1 + i]
    return bytes(out)


def quic_hello_datagrams(version: int, hello: bytes, *, dcid: bytes, scid: bytes,
                         parts: int = 1) -> list[bytes]:
    """Client Initial datagrams carrying ``hello`` in ``parts`` CRYPTO frames (one per packet)."""
    size = -(-len(hello) // parts)
    out = []
    for i in range(parts):
        chunk = hello[i * size:(i + 1) * size]
        out.append(protect_initial(version, dcid, scid, i, crypto_frame(i * size, chunk)))
    return out


def aioquic_initials(sni: str, *, alpn: tuple[str, ...] = ("h3",),
                     version: int = quic.V1) -> list[bytes]:
    """The first datagrams aioquic's client sends to ``sni`` (real Initial protection)."""
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection

    cfg = QuicConfiguration(is_client=True, alpn_protocols=list(alpn), server_name=sni,
                            original_version=version, supported_versions=[version])
    conn = QuicConnection(configuration=cfg)
    conn.connect(("192.0.2.1", 443), now=0.0)
    return [d for d, _addr in conn.datagrams_to_send(now=0.0)]
