"""TLS ClientHello parsing: real OpenSSL hellos, Chromium-shaped hellos, fragments, near misses,
and the JA4 fingerprint against its published examples."""

from __future__ import annotations

import passive_vectors as v
import pcap_builders as b
import pytest

from agent.passive import tls


@pytest.mark.parametrize("sni,tls12", [
    ("content.dropboxapi.com", False),
    ("www.facebook.com", True),
    ("xn--bcher-kva.example", False),                  # IDNA names are plain LDH on the wire
])
def test_openssl_hello(sni, tls12):
    hello = tls.parse_records(b.openssl_hello(sni, tls12=tls12))
    assert isinstance(hello, tls.ClientHello)
    assert hello.server_name == sni
    assert hello.alpn == ("h2", "http/1.1")
    assert hello.version == (0x0303 if tls12 else 0x0304)


def test_no_sni():
    hello = tls.parse_records(b.openssl_hello(None))
    assert isinstance(hello, tls.ClientHello) and hello.server_name is None
    assert "i" == hello.ja4()[3]


def test_every_split_point_is_more_until_complete():
    data = b.records(b.chromium_hello("drive.google.com", sni_last=True))
    assert len(data) > 1460                              # Chromium + ML-KEM: two TCP segments
    for cut in range(0, len(data)):
        assert tls.parse_records(data[:cut]) is tls.MORE, cut
    assert tls.parse_records(data).server_name == "drive.google.com"


@pytest.mark.parametrize("fragment", [1, 50, 200, 1000])
def test_record_layer_fragmentation(fragment):
    data = b.records(b.chromium_hello("www.tiktok.com", pq=False), fragment=fragment)
    assert tls.parse_records(data).server_name == "www.tiktok.com"


def _mutate(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + bytes([value]) + data[at + 1:]


HELLO = b.openssl_hello("www.facebook.com")


@pytest.mark.parametrize("data", [
    _mutate(HELLO, 0, 0x17),                # application data record
    _mutate(HELLO, 5, 0x02),                # ServerHello
    _mutate(HELLO, 1, 0x02),                # SSL 2 record version
    b"\x16\x03\x01\x00\x00",                # empty record
    b"\x16\x03\x01\x00\x04\x10\x00\x00\x00",  # ClientKeyExchange: TLS 1.2 second flight
    b"GET / HTTP/1.1\r\n",
    bytes(64),
], ids=["appdata", "serverhello", "sslv2ver", "empty", "cke", "http", "zeros"])
def test_not_a_hello(data):
    assert tls.parse_records(data) is None


def test_lengths_beyond_the_message_are_rejected():
    msg = bytearray(b.chromium_hello("a.example", pq=False))
    # claim an extensions block longer than the message
    body = tls.parse_handshake(bytes(msg))
    assert body is not None
    truncated = bytes(msg[:-10])
    fixed_len = (len(truncated) - 4).to_bytes(3, "big")
    assert tls.parse_handshake(truncated[:1] + fixed_len + truncated[4:]) is None


@pytest.mark.parametrize("raw,expect", [
    (b"Content.DropboxAPI.com.", "content.dropboxapi.com"),
    (b"a_b.example", "a_b.example"),
    (b"evil\n.example", None),
    (b"evil\x00.example", None),
    (b"\xc3\xa9.example", None),
    (b"..", None),
    (b"a" * 254, None),
    (b"", None),
])
def test_valid_hostname(raw, expect):
    assert tls.valid_hostname(raw) == expect


def test_grease_ignored():
    hello = tls.parse_handshake(b.chromium_hello("x.com", seed=1))
    assert not any(tls.is_grease(c) for c in hello.ciphers + hello.extensions + hello.versions)
    assert tls.is_grease(0x2A2A) and not tls.is_grease(0x2A2B) and not tls.is_grease(0x1301)


def test_ja4_published_example():
    """JA4.md: the example hello's ciphers/extensions/signature algorithms -> its fingerprint."""
    hello = tls.ClientHello("example.com", ("h2",), 0x0303, (0x0304,), tuple(v.JA4_CIPHERS),
                            tuple(v.JA4_EXTENSIONS), tuple(v.JA4_SIGALGS))
    assert hello.ja4() == v.JA4_EXPECTED
    assert hello.ja4("q").startswith("q13d1516h2_")


def test_ja4_of_chromium_shape_matches_chrome():
    # Chrome 143 with ML-KEM and ECH GREASE publishes t13d1516h2_8daaf6152771_d8a2da3f94cd
    # (browserleaks); the permutation of extensions must not change it (JA4 sorts them).
    for seed, sni_last in ((1, False), (2, True)):
        msg = b.chromium_hello("www.google.com", seed=seed, sni_last=sni_last)
        hello = tls.parse_handshake(msg)
        assert hello.ja4() == "t13d1516h2_8daaf6152771_d8a2da3f94cd"


@pytest.mark.parametrize("alpn,expect", [(("h2",), "h2"), (("http/1.1",), "h1"), ((), "00"),
                                         (("\x00x",), "08")])
def test_ja4_alpn(alpn, expect):
    hello = tls.ClientHello(None, alpn, 0x0303, (), (0x1301,), (), ())
    assert hello.ja4()[8:10] == expect
