"""DNS and HTTP request-head parsing: real messages from scapy, near misses, hostile input."""

from __future__ import annotations

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR

from agent.passive import dns, http


def test_query():
    msg = dns.parse(bytes(DNS(id=7, rd=1, qd=DNSQR(qname="Content.DropboxAPI.com", qtype="A"))))
    assert msg and not msg.is_response and msg.qname == "content.dropboxapi.com"
    assert msg.qtype_name == "A" and msg.answers == ()


def test_response_with_cname_chain_and_aaaa():
    raw = bytes(DNS(id=9, qr=1, qd=DNSQR(qname="www.dropbox.com", qtype="AAAA"), an=[
        DNSRR(rrname="www.dropbox.com", type="CNAME", rdata="www-env.dropbox-dns.com", ttl=60),
        DNSRR(rrname="www-env.dropbox-dns.com", type="AAAA", rdata="2620:100:6000::a27d:1012",
              ttl=30)]))
    msg = dns.parse(raw)
    assert msg.is_response and msg.rcode_name == "NOERROR"
    assert [(a.rtype, a.value, a.ttl) for a in msg.answers] == [
        (dns.CNAME, "www-env.dropbox-dns.com", 60), (dns.AAAA, "2620:100:6000::a27d:1012", 30)]
    assert len(msg.answers[1].raw) == 16


def test_nxdomain():
    msg = dns.parse(bytes(DNS(id=1, qr=1, rcode=3, qd=DNSQR(qname="nope.example"))))
    assert msg.rcode_name == "NXDOMAIN" and msg.answers == ()


HEADER = b"\x00\x01\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"


@pytest.mark.parametrize("raw", [
    b"",
    HEADER[:11],
    HEADER + b"\xc0\x0c\x00\x01\x00\x01",              # question name points at itself
    HEADER + b"\xc0\x20\x00\x01\x00\x01",              # pointer forward / out of range
    HEADER + b"\x3fabc",                               # label runs past the end
    HEADER + b"\x40abc\x00\x00\x01\x00\x01",           # obsolete label type
    b"\x00\x01\x28\x00" + HEADER[4:] + b"\x00\x00\x01\x00\x01",  # opcode UPDATE
], ids=["empty", "short", "selfloop", "forward", "overrun", "labeltype", "update"])
def test_hostile_dns(raw):
    assert dns.parse(raw) is None


def test_truncated_answers_keep_the_question():
    raw = bytes(DNS(id=9, qr=1, qd=DNSQR(qname="a.example"),
                    an=[DNSRR(rrname="a.example", type="A", rdata="192.0.2.1", ttl=5)]))
    msg = dns.parse(raw[:-3])
    assert msg.qname == "a.example" and msg.answers == ()


@pytest.mark.parametrize("head,expect", [
    (b"GET /x HTTP/1.1\r\nHost: PasteBin.com\r\n\r\n", ("GET", "pastebin.com", None, "origin")),
    (b"POST / HTTP/1.1\r\nhOsT:   www.box.com:8080 \r\nX: y\r\n\r\n",
     ("POST", "www.box.com", 8080, "origin")),
    (b"CONNECT content.dropboxapi.com:443 HTTP/1.1\r\n\r\n",
     ("CONNECT", "content.dropboxapi.com", 443, "authority")),
    (b"GET http://user@pastebin.com:81/raw?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n",
     ("GET", "pastebin.com", 81, "absolute")),
    (b"GET / HTTP/1.0\r\n\r\n", ("GET", None, None, "origin")),
    (b"GET / HTTP/1.1\r\nHost: [fd00::1]:80\r\n\r\n", ("GET", "fd00::1", 80, "origin")),
])
def test_http_request(head, expect):
    req = http.parse_request(head)
    assert (req.method, req.host, req.port, req.target_form) == expect


@pytest.mark.parametrize("data,expect", [
    (b"GET /x HTT", http.MORE),                         # request line incomplete
    (b"GET /x HTTP/1.1\r\nAccept: */*\r\n", http.MORE),  # no Host yet, head not finished
    (b"GETX / HTTP/1.1\r\n\r\n", None),
    (b"get / HTTP/1.1\r\nHost: a\r\n\r\n", None),        # methods are case-sensitive
    (b"GET / SPDY/3\r\n\r\n", None),
    (b"SSH-2.0-OpenSSH_9.2\r\n", None),
    (b"GET / HTTP/1.1\r\nHost: evil\x01.example\r\n\r\n", "nohost"),
])
def test_http_near_misses(data, expect):
    res = http.parse_request(data)
    if expect == "nohost":
        assert isinstance(res, http.HttpRequest) and res.host is None
    else:
        assert res is expect
