"""Generate the passive monitor's test captures with scapy, with the ground truth of every
connection the monitor must report.

    .venv/bin/python tests/passive/make_pcaps.py OUTDIR

writes OUTDIR/passive.pcap, passive.pcapng, truth.json and directory.yaml. Every frame is built
by scapy (Ether / Dot1Q / IP / IPv6 / TCP / UDP / DNS layers) around real payload bytes: OpenSSL
ClientHellos taken from a memory BIO, hand-built Chromium-shaped ClientHellos (RFC 8446), aioquic
QUIC Initials and hand-protected QUIC v1/v2 Initials (RFC 9001 / RFC 9369). Short frames are
padded to 60 bytes as NICs do, so lengths must come from the IP header.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.packet import Packet, Padding, Raw
from scapy.utils import PcapNgWriter, PcapWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pcap_builders as builders  # noqa: E402

from agent.passive import quic  # noqa: E402

BASE_TS = 1772460000.0          # 2026-03-02 14:00:00 UTC
ACTIVE_GAP = 30.0
RESOLVER = "10.0.0.53"
PROXY = ("10.0.0.2", 3128)
CLIENT_MAC, GW_MAC = "02:00:00:00:00:01", "02:00:00:00:00:fe"

DIRECTORY_YAML = """\
departments:
  finance: {name: Finance}
  dss: {name: Social Services}
  it: {name: Information Technology}
users:
  jdoe: {department: finance}
networks:
  - {cidr: 10.20.1.0/24, department: finance}
  - {cidr: 10.20.1.5/32, user: jdoe}
  - {cidr: 10.30.0.0/16, department: dss}
  - {cidr: 127.0.0.0/8, department: it}
  - {cidr: "fd00:20::/64", department: it}
"""


def _pad(p: Packet) -> Packet:
    short = 60 - len(p)
    return p / Padding(load=b"\x00" * short) if short > 0 else p


@dataclass
class Capture:
    packets: list[Packet] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ts: float, pkt: Packet) -> None:
        pkt = _pad(pkt)
        pkt.time = BASE_TS + ts
        self.packets.append(pkt)

    def expect(self, **fields: Any) -> None:
        self.truth.append(fields)

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        pkts = sorted(self.packets, key=lambda p: float(p.time))
        with PcapWriter(str(out / "passive.pcap"), linktype=1, sync=False) as w:
            for p in pkts:
                w.write(p)
        w2 = PcapNgWriter(str(out / "passive.pcapng"))
        for p in pkts:
            w2.write(p)
        w2.close()
        (out / "truth.json").write_text(json.dumps(self.truth, indent=1))
        (out / "directory.yaml").write_text(DIRECTORY_YAML)


def _l2(vlan: tuple[int, ...] | None) -> Packet:
    eth = Ether(src=CLIENT_MAC, dst=GW_MAC)
    if not vlan:
        return eth
    if len(vlan) == 1:
        return eth / Dot1Q(vlan=vlan[0])
    return eth / Dot1AD(vlan=vlan[0]) / Dot1Q(vlan=vlan[1])


def _ip(src: str, dst: str) -> Packet:
    return IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)


class Conn:
    """One TCP connection: builds its frames and keeps the counts the monitor must report."""

    def __init__(self, cap: Capture, client: str, cport: int, server: str, sport: int, t0: float,
                 vlan: tuple[int, ...] | None = None):
        self.cap, self.client, self.cport = cap, client, cport
        self.server, self.sport = server, sport
        self.t = t0
        self.t0 = t0
        self.vlan = vlan
        self.cseq, self.sseq = 1000, 5000
        self.up = self.down = self.pkts_up = self.pkts_down = 0
        self.active = 0.0
        self.last_act: float | None = None

    def _frame(self, up: bool, flags: str, seq: int, ack: int, payload: bytes = b"") -> Packet:
        src, dst = (self.client, self.server) if up else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if up else (self.sport, self.cport)
        p = _l2(self.vlan) / _ip(src, dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack)
        return p / Raw(load=payload) if payload else p

    def pkt(self, up: bool, flags: str = "A", payload: bytes = b"", dt: float = 0.01,
            seq: int | None = None, advance: bool = True) -> None:
        self.t += dt
        s = (self.cseq if up else self.sseq) if seq is None else seq
        a = self.sseq if up else self.cseq
        self.cap.add(self.t, self._frame(up, flags, s, a, payload))
        if up:
            self.up += len(payload)
            self.pkts_up += 1
        else:
            self.down += len(payload)
            self.pkts_down += 1
        if payload:
            if self.last_act is not None and self.t - self.last_act < ACTIVE_GAP:
                self.active += self.t - self.last_act
            self.last_act = self.t
        if advance:
            n = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
            if up:
                self.cseq += n
            else:
                self.sseq += n

    def handshake(self) -> Conn:
        self.pkt(True, "S", dt=0)
        self.pkt(False, "SA")
        self.pkt(True, "A")
        return self

    def send(self, up: bool, data: bytes, mss: int = 1400, dt: float = 0.002) -> None:
        for i in range(0, len(data), mss):
            self.pkt(up, "PA", data[i:i + mss], dt=dt)

    def close(self) -> None:
        self.pkt(True, "FA")
        self.pkt(False, "FA")
        self.pkt(True, "A")

    def truth(self, **fields: Any) -> None:
        base = dict(proto="tcp", client_ip=self.client, client_port=self.cport,
                    server_ip=self.server, server_port=self.sport, bytes_up=self.up,
                    bytes_down=self.down, pkts_up=self.pkts_up, pkts_down=self.pkts_down,
                    active_seconds=round(self.active, 3), ts=round(BASE_TS + self.t0, 6))
        base.update(fields)
        self.cap.expect(**base)


class Udp:
    """A UDP flow (DNS exchange or QUIC connection)."""

    def __init__(self, cap: Capture, client: str, cport: int, server: str, sport: int, t0: float,
                 vlan: tuple[int, ...] | None = None):
        self.cap, self.client, self.cport = cap, client, cport
        self.server, self.sport = server, sport
        self.t = self.t0 = t0
        self.vlan = vlan
        self.up = self.down = self.pkts_up = self.pkts_down = 0
        self.active = 0.0
        self.last_act: float | None = None

    def send(self, up: bool, payload: bytes | Packet, dt: float = 0.01) -> None:
        self.t += dt
        src, dst = (self.client, self.server) if up else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if up else (self.sport, self.cport)
        p = _l2(self.vlan) / _ip(src, dst) / UDP(sport=sp, dport=dp) / payload
        n = len(bytes(payload))
        self.cap.add(self.t, p)
        if up:
            self.up += n
            self.pkts_up += 1
        else:
            self.down += n
            self.pkts_down += 1
        if self.last_act is not None and self.t - self.last_act < ACTIVE_GAP:
            self.active += self.t - self.last_act
        self.last_act = self.t

    def truth(self, **fields: Any) -> None:
        base = dict(proto="udp", client_ip=self.client, client_port=self.cport,
                    server_ip=self.server, server_port=self.sport, bytes_up=self.up,
                    bytes_down=self.down, pkts_up=self.pkts_up, pkts_down=self.pkts_down,
                    active_seconds=round(self.active, 3), ts=round(BASE_TS + self.t0, 6))
        base.update(fields)
        self.cap.expect(**base)


def dns_exchange(cap: Capture, client: str, cport: int, t0: float, qname: str,
                 answers: list[tuple[str, str, str, int]], *, ident: int = 1,
                 tags: tuple[int, ...] | None = None, **truth: Any) -> None:
    """A query and its answer; ``answers`` are (rrname, type, rdata, ttl)."""
    qtype = "AAAA" if any(a[1] == "AAAA" for a in answers) else "A"
    u = Udp(cap, client, cport, RESOLVER, 53, t0, tags)
    u.send(True, DNS(id=ident, rd=1, qd=DNSQR(qname=qname, qtype=qtype)), dt=0)
    an = [DNSRR(rrname=n, type=t, rdata=d, ttl=ttl) for n, t, d, ttl in answers]
    answer = DNS(id=ident, qr=1, ra=1, rd=1, qd=DNSQR(qname=qname, qtype=qtype), an=an)
    u.send(False, answer, dt=0.004)
    u.truth(service="dns", dns_query=qname, dns_qtype=qtype, dns_rcode="NOERROR",
            dns_answers=[a[2] for a in answers], server_name=None, name_source=None,
            app="other", category="other", bypass=False, via_proxy=False, proxy_role="direct",
            conn_state="SF", **truth)


def tls_conn(cap: Capture, client: str, cport: int, server: str, t0: float, hello: bytes, *,
             up_bytes: int = 0, down_bytes: int = 3000, segments: list[int] | None = None,
             order: list[int] | None = None, vlan: tuple[int, ...] | None = None,
             retransmit_first: bool = False, sport: int = 443) -> Conn:
    """Handshake, the client's first flight (``hello`` split at ``segments`` and sent in
    ``order``), a server flight, optional bulk each way, FIN/FIN."""
    c = Conn(cap, client, cport, server, sport, t0, vlan).handshake()
    cuts = [0, *(segments or []), len(hello)]
    pieces = [(cuts[i], hello[cuts[i]:cuts[i + 1]]) for i in range(len(cuts) - 1)]
    base = c.cseq
    for idx in (order or range(len(pieces))):
        off, piece = pieces[idx]
        c.pkt(True, "PA", piece, seq=base + off, advance=False)
    if retransmit_first:
        c.pkt(True, "PA", pieces[0][1], seq=base, advance=False)
    c.cseq = base + len(hello)
    c.send(False, bytes(range(256)) * (down_bytes // 256) + b"\x16" * (down_bytes % 256))
    if up_bytes:
        # bulk that happens to start with handshake-looking bytes: data, not a hello
        c.send(True, (b"\x16\x03\x01\x02\x00\x01" + bytes(4096))[:min(up_bytes, 4102)]
               + bytes(max(0, up_bytes - 4102)))
    c.close()
    return c


def build() -> Capture:
    cap = Capture()
    t = 0.0

    # 1. DNS for content.dropboxapi.com (CNAME chain), then a direct TLS 1.3 upload: a bypass.
    dns_exchange(cap, "10.20.1.5", 50001, t, "content.dropboxapi.com",
                 [("content.dropboxapi.com", "CNAME", "edge-block-www-env.dropbox-dns.com", 300),
                  ("edge-block-www-env.dropbox-dns.com", "A", "162.125.1.20", 300)],
                 user="jdoe", department="finance")
    c = tls_conn(cap, "10.20.1.5", 50002, "162.125.1.20", t + 0.1,
                 builders.openssl_hello("content.dropboxapi.com"), up_bytes=50_000, down_bytes=4000)
    c.truth(service="ssl", server_name="content.dropboxapi.com", name_source="sni", app="dropbox",
            category="file_sharing", user="jdoe", department="finance", bypass=True,
            via_proxy=False, proxy_role="direct", conn_state="SF", tls_version="1.3")

    # 2. TLS 1.2 (OpenSSL capped at 1.2) to Facebook from DSS.
    t += 2
    c = tls_conn(cap, "10.30.4.4", 40001, "157.240.1.35", t,
                 builders.openssl_hello("www.facebook.com", tls12=True))
    c.truth(service="ssl", server_name="www.facebook.com", name_source="sni", app="facebook",
            category="social_media", user="unknown", department="dss", bypass=True,
            via_proxy=False, proxy_role="direct", conn_state="SF", tls_version="1.2")

    # 3. Chromium-sized ClientHello split over 2 segments, SNI in the second.
    t += 2
    hello = builders.records(builders.chromium_hello("drive.google.com", seed=3, sni_last=True))
    c = tls_conn(cap, "10.30.4.5", 40002, "142.250.1.100", t, hello, segments=[1400],
                 up_bytes=20_000)
    c.truth(service="ssl", server_name="drive.google.com", name_source="sni", app="google_drive",
            category="file_sharing", department="dss", bypass=True, conn_state="SF",
            tls_version="1.3", ja4="t13d1516h2_8daaf6152771_d8a2da3f94cd")

    # 4. Split hello delivered out of order, first segment retransmitted.
    t += 2
    hello = builders.records(builders.chromium_hello("www.linkedin.com", seed=4, sni_last=True))
    c = tls_conn(cap, "10.30.4.6", 40003, "13.107.42.14", t, hello, segments=[1000],
                 order=[1, 0], retransmit_first=True)
    c.truth(service="ssl", server_name="www.linkedin.com", name_source="sni", app="linkedin",
            category="social_media", department="dss", bypass=True, conn_state="SF")

    # 5. A hello split across two TLS records inside one segment (record-layer fragmentation).
    t += 2
    hello = builders.records(builders.chromium_hello("www.tiktok.com", seed=5, pq=False),
                             fragment=200)
    c = tls_conn(cap, "10.30.4.13", 40013, "23.1.2.3", t, hello)
    c.truth(service="ssl", server_name="www.tiktok.com", name_source="sni", app="tiktok",
            category="social_media", department="dss", bypass=True)

    # 6. Plain HTTP with an oddly-cased Host header and a port.
    t += 2
    c = Conn(cap, "10.30.4.7", 40004, "104.20.1.1", 80, t).handshake()
    c.send(True, b"GET /raw/abc HTTP/1.1\r\nUser-Agent: curl/8\r\nhOsT: PasteBin.com:80\r\n\r\n")
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    c.close()
    c.truth(service="http", server_name="pastebin.com", name_source="http_host", app="pastebin",
            category="paste", department="dss", bypass=True, http_method="GET", conn_state="SF")

    # 7. QUIC v1 from aioquic (a real QUIC client) to YouTube, plus server and 1-RTT traffic.
    t += 2
    u = Udp(cap, "10.30.4.8", 51000, "142.250.1.200", 443, t)
    for d in builders.aioquic_initials("www.youtube.com"):
        u.send(True, Raw(load=d), dt=0)
    u.send(False, Raw(load=b"\xc0\x00\x00\x00\x01" + bytes(1195)))   # server Initial (opaque)
    for _ in range(5):
        u.send(True, Raw(load=b"\x40" + bytes(300)), dt=0.02)          # short header
        u.send(False, Raw(load=b"\x40" + bytes(1200)), dt=0.01)
    u.truth(service="quic", server_name="www.youtube.com", name_source="quic_sni", app="youtube",
            category="social_media", department="dss", bypass=True, quic_version="1",
            conn_state="SF", alpn=["h3"])

    # 8. QUIC v1, Chromium hello split over two Initials that arrive out of order.
    t += 2
    hello = builders.chromium_hello("www.instagram.com", seed=8, quic_tp=b"\x01\x02\x67\x10")
    dgrams = builders.quic_hello_datagrams(quic.V1, hello, dcid=bytes.fromhex("a1b2c3d4e5f60718"),
                                           scid=b"\x01\x02\x03\x04", parts=2)
    u = Udp(cap, "10.30.4.9", 51001, "157.240.1.174", 443, t)
    u.send(True, Raw(load=dgrams[1]), dt=0)
    u.send(True, Raw(load=dgrams[0]), dt=0.001)
    u.send(False, Raw(load=b"\xc0\x00\x00\x00\x01" + bytes(1000)))
    u.truth(service="quic", server_name="www.instagram.com", name_source="quic_sni",
            app="instagram", category="social_media", department="dss", bypass=True,
            quic_version="1")

    # 9. QUIC v2 (RFC 9369) to ChatGPT.
    t += 2
    hello = builders.chromium_hello("chatgpt.com", seed=9, pq=False, alpn=("h3",))
    u = Udp(cap, "10.30.4.10", 51002, "104.18.32.47", 443, t)
    for d in builders.quic_hello_datagrams(quic.V2, hello, dcid=bytes.fromhex("0011223344556677"),
                                           scid=b""):
        u.send(True, Raw(load=d), dt=0)
    u.truth(service="quic", server_name="chatgpt.com", name_source="quic_sni", app="chatgpt",
            category="ai_assistant", department="dss", bypass=True, quic_version="2",
            conn_state="S0")

    # 10. 802.1Q-tagged TLS, and QinQ (802.1ad outer + 802.1Q inner) DNS + TLS.
    t += 2
    c = tls_conn(cap, "10.30.5.1", 40005, "151.101.1.140", t,
                 builders.openssl_hello("www.reddit.com"), vlan=(120,), up_bytes=3000)
    c.truth(service="ssl", server_name="www.reddit.com", name_source="sni", app="reddit",
            category="social_media", department="dss", bypass=True, vlan=120)
    t += 2
    dns_exchange(cap, "10.30.5.2", 50010, t, "discord.com",
                 [("discord.com", "A", "162.159.128.233", 300)], tags=(300, 20), ident=10,
                 department="dss", vlan=300)
    c = tls_conn(cap, "10.30.5.2", 40006, "162.159.128.233", t + 0.2,
                 builders.openssl_hello("discord.com"), vlan=(300, 20))
    c.truth(service="ssl", server_name="discord.com", name_source="sni", app="discord",
            category="messaging", department="dss", bypass=True, vlan=300)

    # 11. Through the proxy: CONNECT, then the tunnelled hello and bulk (to_proxy, no bypass) ...
    t += 2
    c = Conn(cap, "10.20.1.7", 40007, *PROXY, t).handshake()
    c.send(True, b"CONNECT content.dropboxapi.com:443 HTTP/1.1\r\n"
                 b"Host: content.dropboxapi.com:443\r\n\r\n")
    c.send(False, b"HTTP/1.1 200 Connection established\r\n\r\n")
    c.send(True, builders.openssl_hello("content.dropboxapi.com"))
    c.send(False, bytes(2500))
    c.send(True, bytes(30_000))
    c.close()
    c.truth(service="http", server_name="content.dropboxapi.com", name_source="connect",
            app="dropbox", category="file_sharing", department="finance", bypass=False,
            via_proxy=True, proxy_role="to_proxy", http_method="CONNECT")
    # ... and the proxy's own upstream connection: credited to the proxy, never a bypass.
    c = tls_conn(cap, PROXY[0], 61000, "162.125.1.20", t + 0.05,
                 builders.openssl_hello("content.dropboxapi.com"), up_bytes=30_000)
    c.truth(service="ssl", server_name="content.dropboxapi.com", name_source="sni", app="dropbox",
            category="file_sharing", user="proxy", department="proxy", bypass=False,
            via_proxy=True, proxy_role="proxy_upstream")
    # absolute-form request through the proxy
    t += 2
    c = Conn(cap, "10.30.4.11", 40008, *PROXY, t).handshake()
    c.send(True, b"GET http://pastebin.com/raw/x HTTP/1.1\r\nHost: pastebin.com\r\n\r\n")
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.close()
    c.truth(service="http", server_name="pastebin.com", name_source="http_host", app="pastebin",
            category="paste", department="dss", bypass=False, via_proxy=True, proxy_role="to_proxy")

    # 12. No SNI: named from this client's earlier DNS answer (TTL 300) ...
    t += 2
    dns_exchange(cap, "10.30.6.1", 50020, t, "www.reddit.com",
                 [("www.reddit.com", "A", "151.101.65.140", 300)], ident=20, department="dss")
    c = tls_conn(cap, "10.30.6.1", 40009, "151.101.65.140", t + 1, builders.openssl_hello(None))
    c.truth(service="ssl", server_name="www.reddit.com", name_source="dns", app="reddit",
            category="social_media", department="dss", bypass=True)
    # ... but not once the answer has expired (TTL 60, connection 400 s later).
    dns_exchange(cap, "10.30.6.2", 50021, t, "www.dropbox.com",
                 [("www.dropbox.com", "A", "162.125.2.18", 60)], ident=21, department="dss")
    c = tls_conn(cap, "10.30.6.2", 40010, "162.125.2.18", t + 400, builders.openssl_hello(None))
    c.truth(service="ssl", server_name=None, name_source=None, app="other", category="other",
            department="dss", bypass=False)

    # 13. Near misses: a look-alike domain; a ServerHello-typed first record; a non-TLS first
    #     payload followed by hello-looking bytes; a label-boundary look-alike of x.com.
    t += 2
    c = tls_conn(cap, "10.30.4.14", 40011, "203.0.113.9", t,
                 builders.openssl_hello("notdropbox.com"))
    c.truth(service="ssl", server_name="notdropbox.com", name_source="sni", app="other",
            category="other", bypass=False)
    c = tls_conn(cap, "10.30.4.15", 40014, "203.0.113.10", t + 0.3,
                 builders.openssl_hello("mx.com"))
    c.truth(service="ssl", server_name="mx.com", app="other", bypass=False)
    hello = builders.openssl_hello("www.facebook.com")
    c = tls_conn(cap, "10.30.4.16", 40015, "157.240.1.35", t + 0.5, hello[:5] + b"\x02" + hello[6:])
    c.truth(service=None, server_name=None, app="other", bypass=False)
    c = Conn(cap, "10.30.4.17", 40016, "157.240.1.35", 443, t + 0.7).handshake()
    c.send(True, b"SSH-2.0-OpenSSH_9.2\r\n")
    c.send(True, builders.openssl_hello("www.facebook.com"))
    c.close()
    c.truth(service=None, server_name=None, app="other", bypass=False, conn_state="SF")

    # 14. IPv6 direct Dropbox from IT.
    t += 2
    c = tls_conn(cap, "fd00:20::7", 40012, "2620:100:6000::a27d:1014", t,
                 builders.openssl_hello("www.dropbox.com"), up_bytes=10_000)
    c.truth(service="ssl", server_name="www.dropbox.com", name_source="sni", app="dropbox",
            category="file_sharing", department="it", bypass=True)

    # 15. Connection states: rejected (RST to the SYN), unanswered SYN, reset by the client.
    t += 2
    c = Conn(cap, "10.20.1.5", 40020, "162.125.1.20", 443, t)
    c.pkt(True, "S", dt=0)
    c.pkt(False, "RA")
    c.truth(service=None, server_name="content.dropboxapi.com", name_source="dns",
            app="dropbox", bypass=True, conn_state="REJ")
    c = Conn(cap, "10.30.4.18", 40021, "93.184.215.14", 443, t + 0.1)
    c.pkt(True, "S", dt=0)
    c.truth(service=None, server_name=None, app="other", conn_state="S0")
    c = tls_conn(cap, "10.30.4.19", 40022, "93.184.215.15", t + 0.2,
                 builders.openssl_hello("example.org"))
    c2 = Conn(cap, "10.30.4.19", 40023, "93.184.215.15", 443, t + 1).handshake()
    c2.send(True, builders.openssl_hello("example.org"))
    c2.pkt(True, "RA")
    c.truth(service="ssl", server_name="example.org", app="other", conn_state="SF")
    c2.truth(service="ssl", server_name="example.org", app="other", conn_state="RSTO")

    # 16. Bulk both ways for byte counts, with a 45 s idle gap that is not active time.
    t += 2
    c = Conn(cap, "10.30.4.20", 40030, "162.125.1.20", 443, t).handshake()
    c.send(True, builders.openssl_hello("api.dropboxapi.com"))
    c.send(False, bytes(200_000), dt=0.001)
    c.send(True, bytes(80_000), dt=0.001)
    c.t += 45
    c.send(True, bytes(1000))
    c.close()
    c.truth(service="ssl", server_name="api.dropboxapi.com", name_source="sni", app="dropbox",
            bypass=True, conn_state="SF")
    return cap


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make_pcaps.py OUTDIR", file=sys.stderr)
        return 2
    cap = build()
    cap.write(Path(argv[0]))
    print(f"{len(cap.packets)} packets, {len(cap.truth)} connections -> {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
