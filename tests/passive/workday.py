"""A synthetic County workday on the mirror port, at any size (bench: 1,000,000 packets).

The mix passive.md measured: 200 clients (a quarter on an 802.1Q-tagged VLAN, a third behind the
explicit proxy), DNS lookups before direct connections, TLS 1.2/1.3 ClientHellos (OpenSSL-sized,
and Chromium-sized with an ML-KEM key share that spans two TCP segments), plain HTTP, QUIC v1
with real Initial protection (Chromium hellos split over two Initials), bulk transfers with
delayed ACKs, and the proxy's CONNECT tunnels plus its own upstream connections.

Frames are packed with ``struct`` (with correct IP/TCP/UDP checksums) rather than through scapy
layers: a million scapy packets take minutes to build. The payload bytes are the same real
ones the scapy-built test captures use (pcap_builders). ``Truth`` records what was written,
so the monitor and tshark are both scored against it.
"""

from __future__ import annotations

import array
import heapq
import random
import socket
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pcap_builders as b  # noqa: E402

from agent.passive import quic  # noqa: E402

PROXY_IP, PROXY_PORT, RESOLVER = "10.0.0.2", 3128, "10.0.0.53"
START = 1772460000.0
MSS = 1400

# (name, weight, supports QUIC). Catalogue apps and County/other sites.
SITES = [
    ("content.dropboxapi.com", 3, False), ("www.dropbox.com", 2, False),
    ("drive.google.com", 3, True), ("docs.google.com", 4, True), ("mail.google.com", 3, True),
    ("www.youtube.com", 4, True), ("www.facebook.com", 3, True), ("www.instagram.com", 2, True),
    ("www.linkedin.com", 2, False), ("x.com", 1, False), ("www.reddit.com", 1, False),
    ("chatgpt.com", 2, True), ("claude.ai", 1, False), ("gemini.google.com", 1, True),
    ("pastebin.com", 1, False), ("discord.com", 1, False), ("web.whatsapp.com", 1, False),
    ("app.box.com", 1, False), ("outlook.live.com", 1, False), ("www.tiktok.com", 1, False),
    ("www.westchestergov.com", 8, False), ("westchestergov.sharepoint.com", 6, False),
    ("login.microsoftonline.com", 5, False), ("www.nytimes.com", 2, False),
    ("www.weather.gov", 2, False), ("cdn.jsdelivr.net", 3, False),
    ("update.microsoft.com", 3, False),
    ("www.wikipedia.org", 2, False), ("api.github.com", 1, False), ("www.irs.gov", 1, False),
]
Step = tuple[float, bytes, tuple | None]    # delay since the previous frame, frame, truth event
HTTP_SITES = ["www.westchestergov.com", "pastebin.com", "neverssl.com", "www.weather.gov",
              "ctldl.windowsupdate.com", "ocsp.digicert.com"]


def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    return sum(array.array("H", data))


def _fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Frames:
    """Packs Ethernet (+802.1Q) / IPv4 / TCP|UDP frames with correct checksums."""

    def __init__(self) -> None:
        self._sums: dict[int, tuple[bytes, int]] = {}
        self._ipid = 0

    def _payload_sum(self, payload: bytes) -> int:
        hit = self._sums.get(id(payload))
        if hit is not None and hit[0] is payload:
            return hit[1]
        s = _sum16(payload)
        if len(payload) >= 512:            # bulk blocks are reused: remember their sums
            self._sums[id(payload)] = (payload, s)
        return s

    def frame(self, mac: bytes, vlan: int | None, src: bytes, dst: bytes, proto: int,
              l4: bytes, payload: bytes) -> bytes:
        self._ipid = (self._ipid + 1) & 0xFFFF
        total = 20 + len(l4) + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self._ipid, 0x4000, 64, proto, 0,
                         src, dst)
        ip = ip[:10] + struct.pack("!H", _fold(_sum16(ip))) + ip[12:]
        pseudo = _sum16(src + dst) + proto + len(l4) + len(payload)
        csum = _fold(pseudo + _sum16(l4) + self._payload_sum(payload))
        at = 16 if proto == 6 else 6
        l4 = l4[:at] + struct.pack("!H", csum or (0xFFFF if proto == 17 else 0)) + l4[at + 2:]
        eth = mac + (struct.pack("!HH", 0x8100, vlan) if vlan else b"") + b"\x08\x00"
        return eth + ip + l4 + payload

    def tcp(self, mac: bytes, vlan: int | None, src: bytes, dst: bytes, sport: int, dport: int,
            seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50,
                          flags, 65535, 0, 0)
        return self.frame(mac, vlan, src, dst, 6, hdr, payload)

    def udp(self, mac: bytes, vlan: int | None, src: bytes, dst: bytes, sport: int, dport: int,
            payload: bytes) -> bytes:
        hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
        return self.frame(mac, vlan, src, dst, 17, hdr, payload)


@dataclass
class Client:
    ip: bytes
    mac: bytes
    vlan: int | None
    proxied: bool
    resolved: dict[str, float] = field(default_factory=dict)


@dataclass
class Truth:
    tls_snis: set[str] = field(default_factory=set)        # direct TLS + upstream + tunnelled
    quic_snis: set[str] = field(default_factory=set)
    dns_queries: set[str] = field(default_factory=set)
    http_hosts: set[str] = field(default_factory=set)
    connect_hosts: set[str] = field(default_factory=set)
    direct_tls: int = 0             # direct TLS connections whose hello was written completely
    split_hellos: int = 0
    quic: int = 0
    proxied: int = 0
    packets: int = 0
    hellos: list[tuple[str, int, str]] = field(default_factory=list)   # client, port, SNI

    def to_json(self) -> dict:
        return {k: sorted(v) if isinstance(v, set) else v for k, v in self.__dict__.items()}


def _dns_query(ident: int, name: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + b"\x00\x01\x00\x01"


def _dns_answer(ident: int, name: str, addr: bytes, ttl: int) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return (struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + b"\x00\x01\x00\x01"
            + b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", ttl, 4) + addr)


class Workday:
    def __init__(self, seed: int = 1, clients: int = 200):
        self.rnd = random.Random(seed)
        self.f = Frames()
        self.truth = Truth()
        self.clients = []
        for i in range(clients):
            vlan = 30 if i % 4 == 0 else None
            ip = socket.inet_aton(f"10.{30 if vlan else 20}.{i // 200}.{i % 200 + 10}")
            mac = b"\x02\x00\x00\x00\x00\xfe" + bytes([2, 0, 0, 0, i // 256, i % 256])
            self.clients.append(Client(ip, mac, vlan, proxied=(i % 3 == 1)))
        self.proxy = Client(socket.inet_aton(PROXY_IP),
                            b"\x02\x00\x00\x00\x00\xfe\x02\x00\x00\x00\xff\x02", None, False)
        self.server_ip = {
            n: socket.inet_aton(f"{100 + i // 200}.{64 + i % 60}.{i * 7 % 250}.{i + 1}")
            for i, (n, _w, _q) in enumerate(SITES)}
        for h in HTTP_SITES:
            addr = f"198.51.100.{len(self.server_ip) % 250 + 1}"
            self.server_ip.setdefault(h, socket.inet_aton(addr))
        self.weights = [w for _n, w, _q in SITES]
        self.bulk = [bytes([i]) * MSS for i in range(1, 9)]
        # Encrypted TLS traffic is a stream of application-data records that span segments:
        # 14,000-byte records (5-byte header + ciphertext) cut into ten 1,400-byte segments.
        record = b"\x17\x03\x03" + (14000 - 5).to_bytes(2, "big") + self.rnd.randbytes(14000 - 5)
        self.tls_bulk = [record[i:i + MSS] for i in range(0, len(record), MSS)]
        server_hello = (b"\x02\x00\x00\x56\x03\x03" + self.rnd.randbytes(32) + b"\x20"
                        + self.rnd.randbytes(32) + b"\x13\x01\x00\x00\x2e\x00\x2b\x00\x02\x03\x04"
                        + b"\x00\x33\x00\x24\x00\x1d\x00\x20" + self.rnd.randbytes(32))
        flight = (b"\x16\x03\x03" + len(server_hello).to_bytes(2, "big") + server_hello
                  + b"\x14\x03\x03\x00\x01\x01"
                  + b"\x17\x03\x03" + (3200).to_bytes(2, "big") + self.rnd.randbytes(3200))
        self.tls_flight = [flight[i:i + MSS] for i in range(0, len(flight), MSS)]
        self.tls_finished = b"\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x35" + self.rnd.randbytes(53)
        self._hellos: dict[tuple[str, int], bytes] = {}
        self._port = 49152

    # ------------------------------------------------------------------ helpers
    def port(self) -> int:
        # Windows' ephemeral range: County workstations are Windows
        self._port = 49152 + (self._port - 49152 + 1) % 16384
        return self._port

    def hello(self, name: str, chromium: bool) -> bytes:
        key = (name, chromium)
        if key not in self._hellos:
            if chromium:
                self._hellos[key] = b.records(b.chromium_hello(name, seed=hash(name) & 0xFFFF,
                                                               sni_last=len(name) % 2 == 0))
            else:
                self._hellos[key] = b.openssl_hello(name, tls12=len(name) % 3 == 0)
        return self._hellos[key]

    def _delay(self, scale: float = 0.02) -> float:
        return self.rnd.expovariate(1 / scale)

    # ------------------------------------------------------------------ connection scripts
    # Each yields (delay since the previous packet, frame, truth event or None).

    def dns(self, c: Client, name: str) -> Iterator[Step]:
        sp, ident = self.port(), self.rnd.randrange(65536)
        res = socket.inet_aton(RESOLVER)
        query = self.f.udp(c.mac, c.vlan, c.ip, res, sp, 53, _dns_query(ident, name))
        yield 0.0, query, ("dns", name)
        yield 0.003, self.f.udp(c.mac, c.vlan, res, c.ip, 53, sp,
                                _dns_answer(ident, name, self.server_ip[name], 300)), None

    def tcp_session(self, c: Client, dst: bytes, dport: int, first: list[bytes],
                    events: list[tuple | None], data_down: int, data_up: int,
                    reply: list[bytes] | None = None, bulk: list[bytes] | None = None,
                    second: bytes | None = None) -> Iterator[Step]:
        """Handshake, the client's first segments (``first``; the event goes with the last),
        the server reply, the client's second flight, bulk (segments cycled from ``bulk``) with
        an ACK every second segment, FIN/FIN."""
        f, sp = self.f, self.port()
        cs, ss = self.rnd.randrange(1 << 32), self.rnd.randrange(1 << 32)
        m, v = c.mac, c.vlan
        yield 0.0, f.tcp(m, v, c.ip, dst, sp, dport, cs, 0, 0x02), None
        yield 0.01, f.tcp(m, v, dst, c.ip, dport, sp, ss, cs + 1, 0x12), None
        cs += 1
        ss += 1
        yield 0.01, f.tcp(m, v, c.ip, dst, sp, dport, cs, ss, 0x10), None
        for seg, ev in zip(first, events, strict=True):
            if ev is not None:
                ev = (*ev, socket.inet_ntoa(c.ip), sp)
            yield 0.001, f.tcp(m, v, c.ip, dst, sp, dport, cs, ss, 0x18, seg), ev
            cs += len(seg)
        for seg in (reply or self.tls_flight):
            yield 0.02, f.tcp(m, v, dst, c.ip, dport, sp, ss, cs, 0x18, seg), None
            ss += len(seg)
        if second:
            yield 0.002, f.tcp(m, v, c.ip, dst, sp, dport, cs, ss, 0x18, second), None
            cs += len(second)
        else:
            yield 0.002, f.tcp(m, v, c.ip, dst, sp, dport, cs, ss, 0x10), None
        segments = bulk or self.bulk
        for n, down in ((data_down, True), (data_up, False)):
            for i in range(n):
                seg = segments[i % len(segments)]
                if down:
                    frame = f.tcp(m, v, dst, c.ip, dport, sp, ss, cs, 0x10, seg)
                    ss += len(seg)
                else:
                    frame = f.tcp(m, v, c.ip, dst, sp, dport, cs, ss, 0x10, seg)
                    cs += len(seg)
                yield self._delay(0.002), frame, None
                if i % 2:
                    if down:
                        yield 0.0005, f.tcp(m, v, c.ip, dst, sp, dport, cs, ss, 0x10), None
                    else:
                        yield 0.0005, f.tcp(m, v, dst, c.ip, dport, sp, ss, cs, 0x10), None
        yield self._delay(0.5), f.tcp(m, v, c.ip, dst, sp, dport, cs, ss, 0x11), None
        yield 0.01, f.tcp(m, v, dst, c.ip, dport, sp, ss, cs + 1, 0x11), None
        yield 0.01, f.tcp(m, v, c.ip, dst, sp, dport, cs + 1, ss + 1, 0x10), None

    def _sizes(self) -> tuple[int, int]:
        r = self.rnd.random()
        if r < 0.04:                                     # a large download or upload
            n = self.rnd.randrange(200, 1500)
            return (n, 4) if self.rnd.random() < 0.7 else (6, n)
        return int(self.rnd.lognormvariate(2.0, 1.0)), self.rnd.randrange(0, 4)

    def tls(self, c: Client, name: str) -> Iterator[Step]:
        chromium = self.rnd.random() < 0.5
        hello = self.hello(name, chromium)
        segs = [hello[:1448], hello[1448:]] if len(hello) > 1448 else [hello]
        down, up = self._sizes()
        ev = ("tls", name, len(segs) > 1)
        yield from self.tcp_session(c, self.server_ip[name], 443, segs,
                                    [None] * (len(segs) - 1) + [ev], down, up,
                                    bulk=self.tls_bulk, second=self.tls_finished)

    def http(self, c: Client, host: str) -> Iterator[Step]:
        req = (f"GET /{self.rnd.randrange(10**6)} HTTP/1.1\r\nHost: {host}\r\n"
               f"User-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n").encode()
        down, _up = self._sizes()
        yield from self.tcp_session(c, self.server_ip[host], 80, [req], [("http", host)], down, 0,
                                    reply=[b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"])

    def quic(self, c: Client, name: str) -> Iterator[Step]:
        f, sp, dst = self.f, self.port(), self.server_ip[name]
        hello = b.chromium_hello(name, seed=self.rnd.randrange(1 << 16),
                                 quic_tp=b"\x01\x02\x67\x10", alpn=("h3",))
        dcid = self.rnd.randbytes(8)
        d1, d2 = b.quic_hello_datagrams(quic.V1, hello, dcid=dcid, scid=b"", parts=2)
        m, v = c.mac, c.vlan
        yield 0.0, f.udp(m, v, c.ip, dst, sp, 443, d1), None
        event = ("quic", name, socket.inet_ntoa(c.ip), sp)
        yield 0.0005, f.udp(m, v, c.ip, dst, sp, 443, d2), event
        server_initial = b"\xc1\x00\x00\x00\x01" + self.bulk[3][:1195]
        yield 0.02, f.udp(m, v, dst, c.ip, 443, sp, server_initial), None
        down, up = self._sizes()
        for i in range(down + up):
            if i < down:
                frame = f.udp(m, v, dst, c.ip, 443, sp, b"\x41" + self.bulk[4][:1250])
                yield self._delay(0.002), frame, None
                if i % 3 == 2:
                    yield 0.001, f.udp(m, v, c.ip, dst, sp, 443, b"\x41" + self.bulk[5][:40]), None
            else:
                frame = f.udp(m, v, c.ip, dst, sp, 443, b"\x41" + self.bulk[6][:1250])
                yield self._delay(0.002), frame, None

    def proxied(self, c: Client, name: str) -> Iterator[Step]:
        """Client CONNECT tunnel; the proxy's own DNS lookup and upstream connection run inside
        it (interleaved by the scheduler through ``spawn``)."""
        req = f"CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n".encode()
        hello = self.hello(name, False)
        down, up = self._sizes()
        proxy = socket.inet_aton(PROXY_IP)
        yield 0.0, b"", ("spawn", self.upstream(name, down, up))
        yield from self.tcp_session(c, proxy, PROXY_PORT, [req, hello],
                                    [("connect", name), ("tunnel", name)], down, up,
                                    reply=[b"HTTP/1.1 200 Connection established\r\n\r\n",
                                           *self.tls_flight],
                                    bulk=self.tls_bulk, second=self.tls_finished)

    def upstream(self, name: str, down: int, up: int) -> Iterator[Step]:
        p = self.proxy
        if self.rnd.random() < 0.3:
            yield from self.dns(p, name)
        hello = self.hello(name, False)
        yield from self.tcp_session(p, self.server_ip[name], 443, [hello], [("upstream", name)],
                                    down, up, bulk=self.tls_bulk, second=self.tls_finished)

    def session(self, c: Client, now: float) -> Iterator[Step]:
        r = self.rnd.random()
        if r < 0.05:
            yield from self.http(c, self.rnd.choice(HTTP_SITES))
            return
        idx = self.rnd.choices(range(len(SITES)), self.weights)[0]
        name, _w, has_quic = SITES[idx]
        if c.proxied:
            yield from self.proxied(c, name)
            return
        if c.resolved.get(name, 0) < now:
            yield from self.dns(c, name)
            c.resolved[name] = now + 300
        if has_quic and self.rnd.random() < 0.5:
            yield from self.quic(c, name)
        else:
            yield from self.tls(c, name)

    # ------------------------------------------------------------------ the day
    def packets(self, n: int, rate: float = 20.0) -> Iterator[tuple[float, bytes]]:
        """``n`` frames in time order; ``rate`` new sessions per second on average."""
        heap: list[tuple[float, int, Iterator]] = []
        seq = 0
        t = START
        written = 0
        pending: dict[int, list[str]] = {}       # split-hello sessions: events after the frame

        def push(when: float, it: Iterator) -> None:
            nonlocal seq
            seq += 1
            heapq.heappush(heap, (when, seq, it))

        next_arrival = t
        while written < n:
            if not heap or next_arrival <= heap[0][0]:
                c = self.rnd.choice(self.clients)
                push(next_arrival, self.session(c, next_arrival))
                next_arrival += self.rnd.expovariate(rate)
                continue
            when, _s, it = heapq.heappop(heap)
            step = next(it, None)
            if step is None:
                continue
            delay, frame, ev = step
            when += delay
            if ev is not None and ev[0] == "spawn":
                push(when, ev[1])
                push(when, it)
                continue
            if frame:
                yield when, frame
                written += 1
                if ev is not None:
                    self._record(ev)
            push(when, it)
        self.truth.packets = written
        del pending

    def _record(self, ev: tuple) -> None:
        t = self.truth
        kind, name = ev[0], ev[1]
        if kind == "dns":
            t.dns_queries.add(name)
        elif kind == "tls":
            t.tls_snis.add(name)
            t.direct_tls += 1
            t.split_hellos += ev[2]
            t.hellos.append((ev[3], ev[4], name))
        elif kind == "upstream":
            t.tls_snis.add(name)
            t.hellos.append((ev[2], ev[3], name))
        elif kind == "tunnel":
            t.tls_snis.add(name)
        elif kind == "connect":
            t.connect_hosts.add(name)
            t.proxied += 1
        elif kind == "quic":
            t.quic_snis.add(name)
            t.quic += 1
            t.hellos.append((ev[2], ev[3], name))
        elif kind == "http":
            t.http_hosts.add(name)

    def write(self, path: Path, n: int, rate: float = 20.0) -> Truth:
        with open(path, "wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            buf = []
            for ts, frame in self.packets(n, rate):
                sec = int(ts)
                buf.append(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(frame), len(frame)))
                buf.append(frame)
                if len(buf) >= 8192:
                    out.write(b"".join(buf))
                    buf.clear()
            out.write(b"".join(buf))
        return self.truth


def main(argv: list[str]) -> int:
    import argparse
    import json
    import time

    ap = argparse.ArgumentParser(description="write a synthetic workday capture")
    ap.add_argument("pcap", type=Path)
    ap.add_argument("packets", type=int, nargs="?", default=100_000)
    ap.add_argument("--truth", type=Path, help="write the ground truth here as JSON")
    args = ap.parse_args(argv)
    t0 = time.time()
    truth = Workday().write(args.pcap, args.packets)
    if args.truth:
        args.truth.write_text(json.dumps(truth.to_json()))
    print(f"{truth.packets} packets in {time.time() - t0:.1f} s: {truth.direct_tls} direct TLS "
          f"({truth.split_hellos} split), {truth.quic} QUIC, {truth.proxied} proxied, "
          f"{len(truth.dns_queries)} names")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
