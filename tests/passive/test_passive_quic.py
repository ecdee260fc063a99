"""QUIC Initial protection: RFC 9001 / RFC 9369 test vectors, aioquic as an independent second
implementation both ways, CRYPTO reassembly, and hostile input."""

from __future__ import annotations

import passive_vectors as v
import pcap_builders as b
import pytest
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.packet import QuicProtocolVersion

from agent.passive import quic, tls


@pytest.mark.parametrize("version,expect", [(quic.V1, v.V1_CLIENT_KEYS),
                                            (quic.V2, v.V2_CLIENT_KEYS)])
def test_initial_keys_rfc_vectors(version, expect):
    assert quic.initial_secrets(version, v.DCID) == expect


@pytest.mark.parametrize("version,plain_header,protected", [
    (quic.V1, v.V1_PLAIN_HEADER, v.V1_PROTECTED),
    (quic.V2, v.V2_PLAIN_HEADER, v.V2_PROTECTED),
])
def test_protection_reproduces_rfc_packet(version, plain_header, protected):
    """The test generator's encryption is byte-identical to RFC 9001 A.2 / RFC 9369 A.2."""
    out = b.protect_initial(version, v.DCID, b"", v.CLIENT_PN, v.CLIENT_PLAIN_PAYLOAD, pad_to=None)
    assert out == protected
    # and the monitor opens it back to the RFC's plaintext
    hdr = quic.long_header(protected)
    assert hdr is not None and hdr.dcid == v.DCID
    keys = quic.client_keys(version, v.DCID)
    assert quic.open_initial(protected, hdr, keys) == v.CLIENT_PLAIN_PAYLOAD


@pytest.mark.parametrize("version", [quic.V1, quic.V2])
def test_rfc_packet_yields_example_com(version):
    opened = quic.open_datagram(v.V1_PROTECTED if version == quic.V1 else v.V2_PROTECTED)
    assert opened.version == version and opened.key_dcid == v.DCID
    hello = tls.handshake_status(opened.crypto[0][1])
    assert hello.server_name == "example.com" and hello.alpn == ("alpn",)


@pytest.mark.parametrize("version,aioquic_version", [
    (quic.V1, QuicProtocolVersion.VERSION_1), (quic.V2, QuicProtocolVersion.VERSION_2)])
def test_aioquic_opens_generator_packets(version, aioquic_version):
    hello = b.chromium_hello("www.instagram.com", seed=3)
    dcid = bytes.fromhex("0102030405060708")
    for pn, pkt in enumerate(b.quic_hello_datagrams(version, hello, dcid=dcid, scid=b"", parts=2)):
        pair = CryptoPair()
        pair.setup_initial(cid=dcid, is_client=False, version=aioquic_version)
        hdr = quic.long_header(pkt)
        _header, payload, got_pn = pair.decrypt_packet(pkt, hdr.pn_offset, pn)
        assert got_pn == pn and payload[0] == 0x06 and len(pkt) >= 1200


@pytest.mark.parametrize("version", [quic.V1, quic.V2])
def test_monitor_opens_aioquic_packets(version):
    dgrams = b.aioquic_initials("www.youtube.com", version=version)
    opened = quic.open_datagram(dgrams[0])
    assert opened.version == version
    stream = quic.CryptoStream()
    for off, chunk in opened.crypto:
        stream.add(off, chunk)
    assert tls.handshake_status(bytes(stream.data)).server_name == "www.youtube.com"


def test_later_initials_use_first_dcid_keys():
    """After the server answers, the client's Initials carry the server-chosen DCID but are
    still protected with keys from the first DCID (RFC 9001 §5.2)."""
    dcid, server_cid = bytes.fromhex("1111111111111111"), bytes.fromhex("22222222")
    hello = b.chromium_hello("chatgpt.com", seed=4)
    first, second = b.quic_hello_datagrams(quic.V1, hello, dcid=dcid, scid=b"", parts=2)
    plain = quic.open_initial(second, quic.long_header(second), quic.client_keys(quic.V1, dcid))
    resent = _reseal(plain, header_dcid=server_cid, key_dcid=dcid, pn=1, first=0xC3)
    assert quic.open_datagram(resent) is None                       # its own DCID: wrong keys
    opened = quic.open_datagram(resent, key_dcid=dcid)
    assert opened is not None and opened.key_dcid == dcid
    assert quic.open_datagram(first).key_dcid == dcid


def _reseal(payload: bytes, *, header_dcid: bytes, key_dcid: bytes, pn: int, first: int) -> bytes:
    """An Initial whose header DCID differs from the DCID its keys come from."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = (bytes([first]) + (1).to_bytes(4, "big") + bytes([len(header_dcid)]) + header_dcid
              + b"\x00\x00" + b.varint(4 + len(payload) + 16) + pn.to_bytes(4, "big"))
    key, iv, hp = quic.initial_secrets(quic.V1, key_dcid)
    nonce = bytes(a ^ c for a, c in zip(iv, pn.to_bytes(12, "big"), strict=True))
    sealed = AESGCM(key).encrypt(nonce, payload, header)
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sealed[:16])
    out = bytearray(header + sealed)
    out[0] ^= mask[0] & 0x0F
    for i in range(4):
        out[len(header) - 4 + i] ^= mask[1 + i]
    return bytes(out)


def test_tampered_or_wrong_key_does_not_open():
    pkt = bytearray(v.V1_PROTECTED)
    pkt[100] ^= 1
    assert quic.open_datagram(bytes(pkt)) is None
    # a wrong first-DCID key falls back to the packet's own DCID
    assert quic.open_datagram(v.V1_PROTECTED, key_dcid=b"\x00" * 8) is not None


def test_coalesced_datagram():
    junk_handshake = bytes([0xE0]) + (1).to_bytes(4, "big") + b"\x00\x00" + b.varint(30) + bytes(30)
    opened = quic.open_datagram(v.V1_PROTECTED + junk_handshake)
    assert opened is not None and opened.crypto[0][0] == 0


@pytest.mark.parametrize("payload,expect", [
    (b"\x06\x00\x03abc" + bytes(20), [(0, b"abc")]),
    (b"\x01\x02\x05\x00\x00\x00\x06\x40\x10\x02hi", [(16, b"hi")]),      # PING, ACK, CRYPTO
    (b"\x03\x05\x00\x00\x00\x01\x02\x03\x06\x00\x01x", [(0, b"x")]),     # ACK with ECN
    (b"\x08\x00\x00", None),                                             # STREAM: not in Initial
    (b"\x06\x00\x10abc", None),                                          # CRYPTO overruns
    (b"\x02\x05\x00\x7f\xff", None),                                     # truncated ACK
])
def test_crypto_frames(payload, expect):
    assert quic.crypto_frames(payload) == expect


def test_crypto_stream_reassembles_out_of_order_and_overlaps():
    data = bytes(range(256)) * 8
    s = quic.CryptoStream()
    for off in (1500, 500, 1000, 0):
        s.add(off, data[off:off + 600])
    assert bytes(s.data) == data[:2048] and not s.overflow
    s2 = quic.CryptoStream()
    s2.add(quic.MAX_CRYPTO - 10, bytes(100))
    assert s2.overflow and not s2.data


def test_varint():
    assert quic.read_varint(b"\x25", 0) == (37, 1)
    assert quic.read_varint(bytes.fromhex("7bbd"), 0) == (15293, 2)
    assert quic.read_varint(bytes.fromhex("9d7f3e7d"), 0) == (494878333, 4)
    assert quic.read_varint(bytes.fromhex("c2197c5eff14e88c"), 0) == (151288809941952652, 8)
    assert quic.read_varint(bytes.fromhex("9d7f"), 0) == (-1, -1)


def test_hmac_matches_the_standard_library():
    import hmac
    import os

    for klen in (0, 8, 20, 32, 64):
        key, msg = os.urandom(klen), os.urandom(50)
        assert quic._hmac_sha256(key, msg) == hmac.digest(key, msg, "sha256")
