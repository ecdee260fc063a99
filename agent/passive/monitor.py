"""The passive monitor: captured frames in, classified connection records out.

Pure (no sockets or files): live capture and pcapng hand it batches of ``(timestamp, frame)``
(``feed``), pcap files hand it raw record buffers (``feed_pcap``); it calls ``sink(record)``
for each finished connection and updates the metrics.

Speed is the point of this module (passive.md: scapy dissection manages 1.8k packets/s; this
runs at ~300k packets per CPU-second on the bench's workday capture): a packet of a known
flow costs one ``struct`` call, one dict lookup and a few counter updates. Everything else
(new flows, the first client bytes, flags, DNS) is on slow paths that only a few percent of
packets reach. Lengths come from the IP header, never from the frame (Ethernet pads short
frames, snaplen cuts long ones); VLAN tags (802.1Q, 802.1ad, QinQ) are skipped.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from agent.passive import flows
from agent.passive.classify import Classifier, Verdict
from agent.passive.communityid import community_id
from agent.passive.flows import (
    ACK,
    FIN,
    H_FIN_C,
    H_FIN_S,
    H_MID,
    H_RST_C,
    H_RST_S,
    H_SYN,
    H_SYNACK,
    RST,
    SYN,
    Flow,
    FlowTable,
    Timeouts,
)
from agent.passive.metrics import PassiveMetrics
from agent.passive.names import NameCache
from agent.passive.record import ConnectionRecord

# Link types (pcap LINKTYPE_* values) the decoder understands.
LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP = 0, 1, 101, 108
LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2 = 113, 228, 229, 276
DLT_RAW_ALIASES = (12, 14)
LINKTYPES = frozenset({LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP,
                       LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2,
                       *DLT_RAW_ALIASES})

VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
IPV6_EXT = frozenset({0, 43, 60, 44, 51})        # hop-by-hop, routing, dest opts, fragment, AH
DNS_PORTS = frozenset({53, 5353})
# Ports that say "server" when a connection is picked up mid-stream.
SERVER_PORTS = frozenset({53, 80, 443, 853, 8080, 8443, 3128, 8000, 8888, 1080, 5353, 123})
SWEEP_EVERY = 5.0             # seconds of capture time between idle sweeps
# pcap record header, and record header + Ethernet [+ 802.1Q] + IPv4 (no options) + the first
# 14 bytes of TCP (ports, seq, ack, data offset, flags) or UDP header + payload, per byte order
_RECORD = {e: struct.Struct(e + "IIII").unpack_from for e in "<>"}
_HOT0 = {e: struct.Struct(e + "III4x12x3sxBB2xHxB2x12s8xBB").unpack_from for e in "<>"}
_HOT1 = {e: struct.Struct(e + "III4x16x3sxBB2xHxB2x12s8xBB").unpack_from for e in "<>"}
# IPv4 "more fragments" flag and fragment offset, as the H above reads them in each byte order
_FRAGMENT = {"<": 0xFF3F, ">": 0x3FFF}


@dataclass(slots=True)
class Stats:
    packets: int = 0
    undecoded: int = 0          # not IPv4/IPv6 TCP/UDP, or truncated headers
    fragments: int = 0          # non-first IP fragments (no ports: not attributed)
    flows_created: int = 0
    flows_evicted: int = 0
    records: int = 0
    capture_drops: int = 0
    inspect_gave_up: int = 0    # unfinished hellos not buffered: too many held at once

    def as_dict(self, flows_active: int) -> dict[str, float]:
        return {"packets": self.packets,
                "flows_active": flows_active, "flows_evicted": self.flows_evicted,
                "capture_drops": self.capture_drops}


def _uid(f: Flow) -> str:
    """Zeek-style connection id, deterministic per capture (same file, same ids)."""
    digest = hashlib.blake2b(b"%d|%r|" % (f.proto, f.first_ts) + f.ckey, digest_size=12).digest()
    return "C" + base64.b64encode(digest, b"Zz").decode()


def _tls_version(v: int) -> str | None:
    return {0x0304: "1.3", 0x0303: "1.2", 0x0302: "1.1", 0x0301: "1.0", 0x0300: "ssl3"}.get(v)


class Monitor:
    def __init__(self, classifier: Classifier, sink: Callable[[ConnectionRecord], None],
                 metrics: PassiveMetrics | None = None, *, max_flows: int = 100_000,
                 timeouts: Timeouts | None = None, names: NameCache | None = None,
                 max_held: int = 2048):
        """``max_held``: connections that may hold a partial ClientHello (<= 16 KB each) at
        once; beyond it a new unfinished hello is given up on (counted in stats)."""
        timeouts = timeouts or Timeouts()
        self.max_held = max_held
        self._held = 0
        self.classifier = classifier
        self.sink = sink
        self.metrics = metrics
        self.table = FlowTable(max_flows, timeouts)
        self.names = names or NameCache()
        self.stats = Stats()
        self.timeouts = timeouts
        self._next_sweep: float | None = None
        self._ether = True
        self._ntop = {False: lambda b: socket.inet_ntop(socket.AF_INET, b),
                      True: lambda b: socket.inet_ntop(socket.AF_INET6, b)}

    # ------------------------------------------------------------------ packet path

    def feed(self, batch: Sequence[tuple[float, bytes]], linktype: int = LINKTYPE_ETHERNET) -> None:
        """Process a batch of ``(timestamp, frame)`` captured with ``linktype``."""
        tcp = self.table.tcp
        udp = self.table.udp
        stats = self.stats
        gap = self.timeouts.active_gap
        next_sweep = self._next_sweep
        if next_sweep is None and batch:
            next_sweep = self._next_sweep = batch[0][0] + SWEEP_EVERY
        npk = 0
        self._ether = linktype == LINKTYPE_ETHERNET
        for ts, data in batch:
            npk += 1
            if ts >= next_sweep:  # type: ignore[operator]
                self._sweep(ts)
                next_sweep = self._next_sweep
            d = decode(data, linktype)
            if d.__class__ is int:
                if d == FRAGMENT:
                    stats.fragments += 1
                else:
                    stats.undecoded += 1
                continue
            proto, addr, l4, end = d  # type: ignore[misc]
            # ``end`` may lie beyond the frame (snaplen-truncated capture): byte counts
            # follow the IP header, slices for parsing simply come out shorter.
            if proto == 6:
                fl = data[l4 + 13]
                pstart = l4 + ((data[l4 + 12] >> 4) << 2)
                plen = end - pstart
                if plen < 0:
                    plen = 0
                key = addr + data[l4:l4 + 4]
                f = tcp.get(key)
                if f is None:
                    if not plen and not fl & SYN:
                        continue             # a stray ACK/FIN/RST of a flow we did not see
                    f = self._new_tcp(key, addr, data, l4, fl, ts)
                up = key == f.ckey
                if up:
                    f.up_bytes += plen
                    f.up_pkts += 1
                else:
                    f.down_bytes += plen
                    f.down_pkts += 1
                if plen:
                    g = ts - f.last_act
                    if 0 < g < gap:
                        f.active += g
                    f.last_act = ts
                f.last_ts = ts
                if fl & 0x07:
                    self._tcp_flags(f, up, fl, data, l4)
                if f.inspect and plen and up:
                    # data in a SYN (TCP Fast Open) starts after the SYN's sequence number
                    seq = int.from_bytes(data[l4 + 4:l4 + 8], "big") + ((fl >> 1) & 1)
                    self._first_bytes(f, data[pstart:end], seq)
            elif proto == 17:
                plen = end - l4 - 8
                if plen < 0:
                    plen = 0
                key = addr + data[l4:l4 + 4]
                f = udp.get(key)
                if f is None:
                    f = self._new_udp(key, addr, data, l4, end, ts)
                up = key == f.ckey
                if up:
                    f.up_bytes += plen
                    f.up_pkts += 1
                else:
                    f.down_bytes += plen
                    f.down_pkts += 1
                if plen:
                    g = ts - f.last_act
                    if 0 < g < gap:
                        f.active += g
                    f.last_act = ts
                f.last_ts = ts
                if f.inspect:
                    self._inspect_udp(f, up, data[l4 + 8:end], ts)
            else:
                stats.undecoded += 1
        stats.packets += npk

    def feed_pcap(self, buf: bytes | memoryview, little_endian: bool, ts_scale: float,
                  linktype: int = LINKTYPE_ETHERNET, start: int = 0, limit: int = -1) -> int:
        """Process whole pcap records (16-byte record header + frame) in ``buf[start:limit]``;
        returns the offset after the last whole record (a partial record at the end is left).

        This fuses the pcap reader with the per-packet path because, in Python, the loop is the
        cost: one ``struct`` call reads the record header and the Ethernet/802.1Q/IPv4/TCP|UDP
        fields of a packet of a known flow at once, which is most packets of a capture. Every
        other packet (new flows, IPv6, IP options, fragments, QinQ, other link types) goes
        through ``feed`` unchanged, so both paths give identical results (tests compare them).
        ``buf`` may be a memoryview of a reused read buffer: nothing keeps a view of it.
        """
        n = len(buf) if limit < 0 else limit
        if linktype != LINKTYPE_ETHERNET:
            return self._feed_pcap_generic(buf, little_endian, ts_scale, linktype, start, n)
        e = "<" if little_endian else ">"
        hot0, hot1 = _HOT0[e], _HOT1[e]
        tcp = self.table.tcp
        udp = self.table.udp
        gap = self.timeouts.active_gap
        general = self.feed
        tcp_flags = self._tcp_flags
        first_bytes = self._first_bytes
        pos = start
        npk = 0
        if self._next_sweep is None and pos + 16 <= n:
            sec, frac = _RECORD[e](buf, pos)[:2]
            self._next_sweep = sec + frac * ts_scale + SWEEP_EVERY
        next_sweep = self._next_sweep
        plain = b"\x08\x00\x45"                 # IPv4 without options
        dot1q = b"\x81\x00"
        fragment = _FRAGMENT[e]
        while pos + 68 <= n:
            sec, frac, incl, h3, hi, lo, frag, proto, key, doff, fl = hot0(buf, pos)
            end = pos + 16 + incl
            if end > n:
                break
            ts = sec + frac * ts_scale
            if ts >= next_sweep:  # type: ignore[operator]
                self._sweep(ts)
                next_sweep = self._next_sweep
            l3 = pos + 30
            need = 48                      # frame bytes up to the TCP flags
            if h3 != plain and h3[:2] == dot1q:
                _s, _f, _i, h3, hi, lo, frag, proto, key, doff, fl = hot1(buf, pos)
                l3 = pos + 34
                need = 52
            if h3 != plain or frag & fragment or incl < need:
                general(((ts, bytes(buf[pos + 16:end])),))
                pos = end
                continue
            if proto == 6:
                f = tcp.get(key)
                if f is None:
                    general(((ts, bytes(buf[pos + 16:end])),))     # new flow: the full path
                    pos = end
                    continue
                npk += 1
                plen = ((hi << 8) | lo) - 20 - ((doff >> 4) << 2)
                up = key == f.ckey
                if plen > 0:
                    if up:
                        f.up_pkts += 1
                        f.up_bytes += plen
                    else:
                        f.down_pkts += 1
                        f.down_bytes += plen
                    g = ts - f.last_act
                    if 0 < g < gap:
                        f.active += g
                    f.last_act = ts
                    f.last_ts = ts
                    if fl & 0x07:
                        tcp_flags(f, up, fl, buf, l3 + 20)
                    if up and f.inspect:
                        l4 = l3 + 20
                        stop = min(end, l3 + ((hi << 8) | lo))
                        first_bytes(f, bytes(buf[l4 + ((doff >> 4) << 2):stop]),
                                    int.from_bytes(buf[l4 + 4:l4 + 8], "big") + ((fl >> 1) & 1))
                else:
                    if up:
                        f.up_pkts += 1
                    else:
                        f.down_pkts += 1
                    f.last_ts = ts
                    if fl & 0x07:
                        tcp_flags(f, up, fl, buf, l3 + 20)
            elif proto == 17:
                f = udp.get(key)
                if f is None:
                    general(((ts, bytes(buf[pos + 16:end])),))
                    pos = end
                    continue
                npk += 1
                plen = ((hi << 8) | lo) - 28
                up = key == f.ckey
                if up:
                    f.up_pkts += 1
                else:
                    f.down_pkts += 1
                if plen > 0:
                    if up:
                        f.up_bytes += plen
                    else:
                        f.down_bytes += plen
                    g = ts - f.last_act
                    if 0 < g < gap:
                        f.active += g
                    f.last_act = ts
                f.last_ts = ts
                if f.inspect:
                    stop = min(end, l3 + ((hi << 8) | lo))
                    self._inspect_udp(f, up, bytes(buf[l3 + 28:stop]), ts)
            else:
                general(((ts, bytes(buf[pos + 16:end])),))
            pos = end
        # the last records (shorter than the fast layout reads) go the general way
        rec = _RECORD[e]
        while pos + 16 <= n:
            sec, frac, incl, _o = rec(buf, pos)
            end = pos + 16 + incl
            if end > n:
                break
            general(((sec + frac * ts_scale, bytes(buf[pos + 16:end])),))
            pos = end
        self.stats.packets += npk
        return pos

    def _feed_pcap_generic(self, buf: bytes | memoryview, little_endian: bool, ts_scale: float,
                           linktype: int, start: int, n: int) -> int:
        rec = _RECORD["<" if little_endian else ">"]
        pos = start
        batch: list[tuple[float, bytes]] = []
        while pos + 16 <= n:
            sec, frac, incl, _o = rec(buf, pos)
            end = pos + 16 + incl
            if end > n:
                break
            batch.append((sec + frac * ts_scale, bytes(buf[pos + 16:end])))
            pos = end
        self.feed(batch, linktype)
        return pos

    # ------------------------------------------------------------------ slow paths

    def _new_tcp(self, key: bytes, addr: bytes, data: bytes, l4: int, fl: int, ts: float) -> Flow:
        half = len(addr) // 2
        src, dst = addr[:half], addr[half:]
        sport = (data[l4] << 8) | data[l4 + 1]
        dport = (data[l4 + 2] << 8) | data[l4 + 3]
        rkey = dst + src + data[l4 + 2:l4 + 4] + data[l4:l4 + 2]
        if fl & SYN and not fl & ACK:
            client_is_src = True
        elif fl & SYN:                       # SYN-ACK: the receiver opened the connection
            client_is_src = False
        else:
            client_is_src = self._client_is_src(sport, dport, dst)
        t = self.timeouts
        # a bare SYN is an attempt (short timeout) until the server answers
        idle = t.attempt if fl & SYN and not fl & ACK else t.tcp_idle
        if client_is_src:
            f = Flow(key, rkey, 6, src, dst, sport, dport, ts, idle)
        else:
            f = Flow(rkey, key, 6, dst, src, dport, sport, ts, idle)
        if not fl & SYN:
            f.hist |= H_MID
        self._register(f, data)
        return f

    def _new_udp(self, key: bytes, addr: bytes, data: bytes, l4: int, end: int, ts: float) -> Flow:
        half = len(addr) // 2
        src, dst = addr[:half], addr[half:]
        sport = (data[l4] << 8) | data[l4 + 1]
        dport = (data[l4 + 2] << 8) | data[l4 + 3]
        rkey = dst + src + data[l4 + 2:l4 + 4] + data[l4:l4 + 2]
        payload = data[l4 + 8:end]
        if flows.looks_like_quic_initial(payload) and payload[0] & 0x30 in (0x00, 0x10):
            client_is_src = True             # a long-header Initial comes from the client first
        else:
            client_is_src = self._client_is_src(sport, dport, dst)
        idle = self.timeouts.udp_idle
        if client_is_src:
            f = Flow(key, rkey, 17, src, dst, sport, dport, ts, idle)
        else:
            f = Flow(rkey, key, 17, dst, src, dport, sport, ts, idle)
        if f.sport in DNS_PORTS:
            f.kind = flows.K_DNS
        self._register(f, data)
        return f

    def _client_is_src(self, sport: int, dport: int, dst: bytes) -> bool:
        """Who is the client of a connection picked up mid-stream (or a UDP flow)?"""
        d_srv, s_srv = dport in SERVER_PORTS, sport in SERVER_PORTS
        if d_srv != s_srv:
            return d_srv
        if d_srv and s_srv:
            return dport <= sport
        if (dport < 1024) != (sport < 1024):
            return dport < 1024
        return True                           # unknown: the first sender is the client

    def _register(self, f: Flow, data: bytes) -> None:
        table = self.table
        if len(table) >= table.max_flows:
            self._make_room(f.first_ts)
        if self._ether and (data[12] << 8 | data[13]) in VLAN_TPIDS and len(data) > 16:
            f.vlan = ((data[14] << 8) | data[15]) & 0x0FFF
        f.dns_name = self.names.lookup(f.client, f.server, f.first_ts)
        table.add(f)
        self.stats.flows_created += 1

    def _make_room(self, now: float) -> None:
        for f in self.table.expired(now):
            self._finish(f)
        if len(self.table) >= self.table.max_flows:
            for f in self.table.oldest(max(1, self.table.max_flows // 100)):
                self.stats.flows_evicted += 1
                self._finish(f)

    def _tcp_flags(self, f: Flow, up: bool, fl: int, data: bytes, l4: int) -> None:
        if fl & SYN:
            if fl & ACK and not up:
                f.hist |= H_SYNACK
                if not f.closing:
                    f.idle = self.timeouts.tcp_idle
            elif up:
                f.hist |= H_SYN
                if f.buf is None:
                    f.next_seq = (int.from_bytes(data[l4 + 4:l4 + 8], "big") + 1) & 0xFFFFFFFF
                    f.seq_known = True
        if fl & FIN:
            f.hist |= H_FIN_C if up else H_FIN_S
            if f.hist & H_FIN_C and f.hist & H_FIN_S:
                f.closing = True
                f.idle = self.timeouts.close_linger
        if fl & RST:
            f.hist |= H_RST_C if up else H_RST_S
            f.closing = True
            f.idle = self.timeouts.close_linger

    def _inspect_udp(self, f: Flow, up: bool, payload: bytes, ts: float) -> None:
        if f.kind == flows.K_DNS:
            msg = flows.dns_payload(f, payload, up)
            if msg is not None and msg.is_response and not up:
                if msg.qname:
                    for a in msg.answers:
                        if a.raw:
                            self.names.add(f.client, a.raw, msg.qname, a.ttl, ts)
                f.closing = True               # one question, one answer: end it soon
                f.idle = self.timeouts.close_linger
            if f.verdict is None:
                self._classify(f)
            return
        if not up:
            return
        if f.kind == flows.K_UNDECIDED:
            f.kind = flows.K_QUIC if flows.looks_like_quic_initial(payload) else flows.K_NONE
        if f.kind == flows.K_QUIC and not flows.quic_client_datagram(f, payload):
            self._hold(f)
            return
        self._done_inspecting(f)

    def _first_bytes(self, f: Flow, payload: bytes, seq: int) -> None:
        if flows.tcp_client_payload(f, payload, seq):
            self._done_inspecting(f)
        else:
            self._hold(f)

    def _hold(self, f: Flow) -> None:
        """The flow keeps a partial hello buffered. Their number is bounded, so a flood of
        connections that never finish a hello cannot pin 16 KB each."""
        if f.held:
            return
        if self._held >= self.max_held:
            self.stats.inspect_gave_up += 1
            self._done_inspecting(f)
            return
        f.held = True
        self._held += 1

    def _done_inspecting(self, f: Flow) -> None:
        if f.held:
            f.held = False
            self._held -= 1
        f.stop_inspecting()
        self._classify(f)

    def _classify(self, f: Flow) -> Verdict:
        if f.verdict is not None:
            return f.verdict  # type: ignore[return-value]
        name = f.name
        if name is None and f.dns_name is not None:
            name = f.name = f.dns_name
            f.name_source = "dns"
        ntop = self._ntop[f.v6]
        f.cip, f.sip = ntop(f.client), ntop(f.server)
        v = self.classifier.classify(f.cip, f.sip, f.sport, name)
        f.verdict = v
        if self.metrics is not None:
            self.metrics.connection(v.app.id, v.app.category, v.department, v.via_proxy,
                                    v.bypass, f.service == "quic")
        return v

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_EVERY
        for f in self.table.expired(now):
            self._finish(f)
        if self.metrics is not None:
            self.metrics.flush()

    def _finish(self, f: Flow) -> None:
        self.table.remove(f)
        if f.held:
            f.held = False
            self._held -= 1
        v = self._classify(f)
        hello = f.hello
        rec = ConnectionRecord(
            ts=f.first_ts, uid=_uid(f),
            client_ip=f.cip, client_port=f.cport,
            server_ip=f.sip, server_port=f.sport,
            proto="tcp" if f.proto == 6 else "udp",
            service=f.service, server_name=f.name, name_source=f.name_source,
            app=v.app.id, category=v.app.category, user=v.user, department=v.department,
            via_proxy=v.via_proxy, proxy_role=v.proxy_role,  # type: ignore[arg-type]
            bypass=v.bypass,
            bytes_up=f.up_bytes, bytes_down=f.down_bytes, pkts_up=f.up_pkts, pkts_down=f.down_pkts,
            duration=max(0.0, f.last_ts - f.first_ts), active_seconds=f.active,
            conn_state=flows.conn_state(f),
            community_id=community_id(f.proto, f.client, f.cport, f.server, f.sport),
            vlan=f.vlan,
        )
        if hello is not None:
            rec.ja4 = hello.ja4("q" if f.service == "quic" else "t")
            rec.alpn = list(hello.alpn) or None
            rec.tls_version = _tls_version(hello.version)
            rec.ech = hello.ech
        if f.quic_version is not None:
            rec.quic_version = _quic_version_name(f.quic_version)
        rec.http_method = f.http_method
        if f.service == "dns":
            rec.dns_query = f.dns_query
            rec.dns_qtype = None if f.dns_qtype is None else _qtype(f.dns_qtype)
            rec.dns_rcode = None if f.dns_rcode is None else _rcode(f.dns_rcode)
            rec.dns_answers = f.dns_answers
        self.stats.records += 1
        if self.metrics is not None:
            self.metrics.finished(v.app.id, v.app.category, v.department, f.up_bytes, f.down_bytes)
        self.sink(rec)

    # ------------------------------------------------------------------ lifecycle

    def advance(self, now: float) -> None:
        """Let time pass (live capture calls it after every batch and when the link is quiet):
        end idle flows, and publish pending metric increments so scrapes are current."""
        if self._next_sweep is None or now >= self._next_sweep:
            self._sweep(now)
        elif self.metrics is not None:
            self.metrics.flush()

    def flush(self) -> None:
        """End every open connection (end of a capture file, or shutdown)."""
        for f in sorted(self.table, key=lambda f: f.first_ts):
            self._finish(f)
        if self.metrics is not None:
            self.metrics.flush()

    def stats_view(self) -> dict[str, float]:
        return self.stats.as_dict(len(self.table))

    def run(self, batches: Iterable[tuple[int, Sequence[tuple[float, bytes]]]]) -> None:
        """Feed ``(linktype, batch)`` pairs, then flush."""
        for linktype, batch in batches:
            self.feed(batch, linktype)
        self.flush()


def _quic_version_name(v: int) -> str:
    from agent.passive.quic import VERSIONS
    spec = VERSIONS.get(v)
    return spec.name if spec else f"0x{v:08x}"


def _qtype(t: int) -> str:
    from agent.passive.dns import QTYPE_NAMES
    return QTYPE_NAMES.get(t, str(t))


def _rcode(r: int) -> str:
    from agent.passive.dns import RCODE_NAMES
    return RCODE_NAMES.get(r, str(r))


UNDECODED, FRAGMENT = 0, 1


def decode(data: bytes, linktype: int) -> tuple[int, bytes, int, int] | int:
    """Link and IP layers of one frame -> (IP protocol, source + destination address bytes,
    offset of the TCP/UDP header, end of the IP packet), or UNDECODED / FRAGMENT.

    Every read is length-checked: a truncated or hostile frame is UNDECODED, never an
    exception. The end comes from the IP header and may lie past the frame (snaplen).
    """
    n = len(data)
    if linktype == LINKTYPE_ETHERNET:
        if n < 14:
            return UNDECODED
        et, off = (data[12] << 8) | data[13], 14
    elif linktype in (LINKTYPE_RAW, *DLT_RAW_ALIASES):
        if not n:
            return UNDECODED
        v = data[0] >> 4
        et, off = (0x0800 if v == 4 else 0x86DD if v == 6 else 0), 0
    elif linktype == LINKTYPE_IPV4:
        et, off = 0x0800, 0
    elif linktype == LINKTYPE_IPV6:
        et, off = 0x86DD, 0
    elif linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return UNDECODED
        et, off = (data[14] << 8) | data[15], 16
    elif linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return UNDECODED
        et, off = (data[0] << 8) | data[1], 20
    elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if n < 4:
            return UNDECODED
        fam = int.from_bytes(data[:4], "big" if linktype == LINKTYPE_LOOP else "little")
        if fam > 0xFFFF:                      # written on a host of the other byte order
            fam = int.from_bytes(data[:4], "little" if linktype == LINKTYPE_LOOP else "big")
        et, off = (0x0800 if fam == 2 else 0x86DD if fam in (10, 24, 28, 30) else 0), 4
    else:
        return UNDECODED
    while (et == 0x8100 or et == 0x88A8 or et == 0x9100) and off + 4 <= n:
        et = (data[off + 2] << 8) | data[off + 3]
        off += 4
    if et == 0x0800:
        if n < off + 20:
            return UNDECODED
        ihl = (data[off] & 0x0F) << 2
        if data[off + 6] & 0x1F or data[off + 7]:
            return FRAGMENT
        proto = data[off + 9]
        tot = (data[off + 2] << 8) | data[off + 3]
        end = off + tot if tot >= ihl else n      # 0 with TSO on the capturing host
        addr = data[off + 12:off + 20]
        l4 = off + ihl
        if ihl < 20:
            return UNDECODED
    elif et == 0x86DD:
        if n < off + 40:
            return UNDECODED
        proto = data[off + 6]
        end = off + 40 + ((data[off + 4] << 8) | data[off + 5])
        addr = data[off + 8:off + 40]
        l4 = off + 40
        if proto in IPV6_EXT:
            proto, l4 = _v6_ext(data, proto, l4)
            if proto < 0:
                return FRAGMENT if proto == -1 else UNDECODED
    else:
        return UNDECODED
    if n < l4 + (14 if proto == 6 else 8):        # TCP through its flags, or the UDP header
        return UNDECODED
    return proto, addr, l4, end


def _v6_ext(data: bytes, nh: int, pos: int) -> tuple[int, int]:
    """Skip IPv6 extension headers -> (upper protocol, its offset); (-1, 0) for a non-first
    fragment, (-2, 0) if the headers run past the frame."""
    n = len(data)
    for _ in range(8):
        if nh not in IPV6_EXT:
            return nh, pos
        if pos + 8 > n:
            return -2, 0
        if nh == 44:                          # fragment header: fixed 8 bytes
            if ((data[pos + 2] << 8) | data[pos + 3]) & 0xFFF8:
                return -1, 0
            nh, pos = data[pos], pos + 8
        elif nh == 51:                        # AH: length in 4-byte units, minus 2
            nh, pos = data[pos], pos + (data[pos + 1] + 2) * 4
        else:
            nh, pos = data[pos], pos + (data[pos + 1] + 1) * 8
    return -2, 0


def linktype_supported(linktype: int) -> bool:
    return linktype in LINKTYPES


