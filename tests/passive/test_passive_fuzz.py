"""Hostile bytes never raise: the monitor reads attacker-controlled input (QUIC Initial keys are
public, any host can send any ClientHello), so every parser returns None/MORE instead."""

from __future__ import annotations

import passive_vectors as v
import pcap_builders as b
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.passive import dns, http, quic, tls
from agent.passive.monitor import Monitor

HELLO = b.records(b.chromium_hello("www.dropbox.com", seed=7))
DNS_MSG = bytes.fromhex("000781800001000200000000037777770764726f70626f7803636f6d0000010001"
                        "c00c0005000100000e10000a077777772d656e76c010c02e000100010000003c0004a27d0112")
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutations(seed_bytes: bytes) -> st.SearchStrategy[bytes]:
    return st.lists(st.tuples(st.integers(0, len(seed_bytes) - 1), st.integers(0, 255)),
                    max_size=6).map(lambda edits: _apply(seed_bytes, edits))


def _apply(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for i, val in edits:
        out[i] = val
    return bytes(out)


@FAST
@given(st.one_of(st.binary(max_size=3000), _mutations(HELLO),
                 _mutations(HELLO).map(lambda d: d[:900])))
def test_tls(data):
    r = tls.parse_records(data)
    assert r is None or r is tls.MORE or isinstance(r, tls.ClientHello)
    if isinstance(r, tls.ClientHello):
        r.ja4()
    tls.parse_handshake(data[5:])


@FAST
@given(st.one_of(st.binary(max_size=600), _mutations(DNS_MSG)))
def test_dns(data):
    dns.parse(data)


@FAST
@given(st.binary(max_size=400).map(lambda d: b"GET " + d))
def test_http(data):
    http.parse_request(data)


@FAST
@given(st.one_of(st.binary(max_size=1400), _mutations(v.V1_PROTECTED),
                 _mutations(v.V1_PROTECTED[:64])))
def test_quic(data):
    quic.open_datagram(data)
    quic.crypto_frames(data)
    quic.long_header(data)


ETH_IP4_TCP = bytes.fromhex("02000000000102000000000208004500002c000100004006000"
                            "00a1e04040a00000201bb9c4000000000000000005002ffff00000000")


@FAST
@given(st.lists(st.one_of(st.binary(max_size=120), _mutations(ETH_IP4_TCP),
                          _mutations(ETH_IP4_TCP).map(lambda d: d[:30])), max_size=30),
       st.sampled_from([1, 101, 113, 276, 0]))
def test_monitor_frames(classifier_factory, frames, linktype):
    m = Monitor(classifier_factory(), lambda r: None)
    m.feed([(1000.0 + i, f) for i, f in enumerate(frames)], linktype)
    m.flush()
