"""Connections: per-flow state, the flow table with idle timeouts and a size bound, and the
reading of each connection's first client bytes (TLS ClientHello, HTTP request head, QUIC
Initials, DNS).

Pure: no sockets, no files. Only a connection's *first* client payload is looked at (as Zeek
detaches its SSL analyzer after the handshake): a 0x16 byte later in a stream is data, not a
hello. The first bytes are buffered per flow until the message is complete, then the buffer is
dropped; it never exceeds ``MAX_BUFFER``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from agent.passive import dns, http, quic, tls

MAX_BUFFER = 16384          # bytes of a connection's first client payload kept for parsing
MAX_INSPECT_PKTS = 12       # client packets looked at before giving up on a name
MAX_PENDING = 8             # out-of-order segments held while reassembling a ClientHello
MAX_DNS_ANSWERS = 8         # answers kept on a DNS record (all go into the name cache)

# TCP flag bits
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
# Flow.hist bits (Zeek's "history" in spirit)
H_SYN, H_SYNACK, H_FIN_C, H_FIN_S, H_RST_C, H_RST_S, H_MID = 1, 2, 4, 8, 16, 32, 64

# Inspection kinds
K_NONE, K_UNDECIDED, K_TLS, K_HTTP, K_QUIC, K_DNS = 0, 1, 2, 3, 4, 5


@dataclass(frozen=True, slots=True)
class Timeouts:
    tcp_idle: float = 300.0      # Zeek tcp_inactivity_timeout
    udp_idle: float = 60.0       # Zeek udp_inactivity_timeout
    close_linger: float = 5.0    # after FIN/FIN, RST or a DNS answer: late packets still count
    attempt: float = 30.0        # SYN with no answer
    active_gap: float = 30.0     # gaps longer than this between payload packets are idle time


class Flow:
    """One connection. ``ckey``/``skey`` are the flow-table keys of the client->server and
    server->client directions (packed addresses + ports)."""

    __slots__ = (
        "ckey", "skey", "proto", "client", "server", "cport", "sport", "v6", "vlan",
        "first_ts", "last_ts", "last_act", "active", "idle",
        "up_bytes", "down_bytes", "up_pkts", "down_pkts", "hist", "closing",
        "inspect", "kind", "buf", "next_seq", "seq_known", "pending", "inspected",
        "name", "name_source", "service", "dns_name", "hello", "http_method",
        "quic_version", "quic_dcid", "crypto",
        "dns_query", "dns_qtype", "dns_rcode", "dns_answers", "verdict", "cip", "sip", "held",
    )

    def __init__(self, ckey: bytes, skey: bytes, proto: int, client: bytes, server: bytes,
                 cport: int, sport: int, ts: float, idle: float = 300.0):
        self.ckey, self.skey, self.proto = ckey, skey, proto
        self.client, self.server, self.cport, self.sport = client, server, cport, sport
        self.v6 = len(client) == 16
        self.vlan: int | None = None
        self.first_ts = self.last_ts = ts
        self.last_act = float("-inf")   # time of the last payload packet
        self.active = 0.0
        self.idle = idle             # seconds without packets after which the flow ends
        self.up_bytes = self.down_bytes = self.up_pkts = self.down_pkts = 0
        self.hist = 0
        self.closing = False
        self.inspect = True          # still reading the first client bytes
        self.kind = K_UNDECIDED
        self.buf: bytearray | None = None
        self.next_seq = 0
        self.seq_known = False       # next_seq came from the client's SYN
        self.pending: dict[int, bytes] | None = None
        self.inspected = 0
        self.name: str | None = None
        self.name_source: str | None = None
        self.service: str | None = None
        self.dns_name: str | None = None
        self.hello: tls.ClientHello | None = None
        self.http_method: str | None = None
        self.quic_version: int | None = None
        self.quic_dcid: bytes | None = None
        self.crypto: quic.CryptoStream | None = None
        self.dns_query: str | None = None
        self.dns_qtype: int | None = None
        self.dns_rcode: int | None = None
        self.dns_answers: list[str] | None = None
        self.verdict: object = None  # set by the monitor when the connection is classified
        self.cip = self.sip = ""     # printable addresses, set with the verdict
        self.held = False            # counted among the monitor's partial-hello buffers

    def stop_inspecting(self) -> None:
        self.inspect = False
        self.buf = None
        self.pending = None
        self.crypto = None


def conn_state(f: Flow) -> str:
    """Zeek-like connection state from the flags seen (a simplification of Zeek's table)."""
    h = f.hist
    if f.proto != 6:
        return "SF" if f.down_pkts else "S0"
    if not h & H_SYN:
        return "OTH"
    if not h & H_SYNACK:
        if h & H_RST_S:
            return "REJ"
        if h & H_FIN_C:
            return "SH"
        return "S0" if not f.down_pkts else "OTH"
    if h & H_RST_C:
        return "RSTO"
    if h & H_RST_S:
        return "RSTR"
    fin_c, fin_s = h & H_FIN_C, h & H_FIN_S
    if fin_c and fin_s:
        return "SF"
    if fin_c:
        return "S2"
    if fin_s:
        return "S3"
    return "S1"


# ------------------------------------------------------------------ first client bytes: TCP

def tcp_client_payload(f: Flow, payload: bytes, seq: int) -> bool:
    """Feed a client->server TCP payload while inspecting; True when inspection is over.

    With the client's SYN seen, the first bytes are known by sequence number, so a segment
    that arrives ahead of the stream's start is held, not mistaken for the start.
    """
    f.inspected += 1
    if f.buf is None:
        if f.seq_known:
            d = (seq - f.next_seq) & 0xFFFFFFFF
            if 0 < d < 0x80000000:                 # later bytes first: hold them
                if f.pending is None:
                    f.pending = {}
                if len(f.pending) < MAX_PENDING and d < MAX_BUFFER:
                    f.pending[seq] = payload
                return f.inspected >= MAX_INSPECT_PKTS
            if d:                                  # starts before the stream: trim the overlap
                payload = payload[(f.next_seq - seq) & 0xFFFFFFFF:]
                seq = f.next_seq
                if not payload:
                    return f.inspected >= MAX_INSPECT_PKTS
        else:
            f.next_seq = seq
        if tls.looks_like_hello(payload):
            f.kind = K_TLS
        elif http.looks_like_request(payload):
            f.kind = K_HTTP
        else:
            f.kind = K_NONE
            return True
        f.buf = bytearray()
    if not _reassemble(f, payload, seq):
        return f.inspected >= MAX_INSPECT_PKTS
    return _try_parse(f)


def _reassemble(f: Flow, payload: bytes, seq: int) -> bool:
    """Append in-order bytes to the buffer, hold early ones; True if the buffer grew."""
    assert f.buf is not None
    d = (seq - f.next_seq) & 0xFFFFFFFF
    if d >= 0x80000000:                       # starts before what we have: retransmit/overlap
        overlap = (f.next_seq - seq) & 0xFFFFFFFF
        if overlap >= len(payload):
            return False
        payload = payload[overlap:]
        d = 0
    if d:                                     # a gap: an earlier segment is missing (yet)
        if f.pending is None:
            f.pending = {}
        if len(f.pending) < MAX_PENDING and d < MAX_BUFFER:
            f.pending[seq] = payload
        return False
    f.buf += payload
    f.next_seq = (f.next_seq + len(payload)) & 0xFFFFFFFF
    while f.pending:                          # drain held segments that now fit
        for s in list(f.pending):
            d = (s - f.next_seq) & 0xFFFFFFFF
            if d == 0 or d >= 0x80000000:
                piece = f.pending.pop(s)
                overlap = (f.next_seq - s) & 0xFFFFFFFF if d else 0
                if overlap < len(piece):
                    f.buf += piece[overlap:]
                    f.next_seq = (f.next_seq + len(piece) - overlap) & 0xFFFFFFFF
                break
        else:
            break
    if len(f.buf) > MAX_BUFFER:
        del f.buf[MAX_BUFFER:]
    return True


def _try_parse(f: Flow) -> bool:
    buf = bytes(f.buf or b"")
    if f.kind == K_TLS:
        res = tls.parse_records(buf)
        if isinstance(res, tls.ClientHello):
            f.hello = res
            f.service = "ssl"
            if res.server_name:
                f.name, f.name_source = res.server_name, "sni"
            return True
    else:
        res = http.parse_request(buf)
        if isinstance(res, http.HttpRequest):
            f.service = "http"
            f.http_method = res.method
            if res.host:
                f.name = res.host
                f.name_source = "connect" if res.target_form == "authority" else "http_host"
            return True
    if res is None:
        return True
    # MORE: keep reading unless the buffer or packet budget is spent
    return len(buf) >= MAX_BUFFER or f.inspected >= MAX_INSPECT_PKTS


# ------------------------------------------------------------------ first client bytes: UDP

QUIC_VERSIONS = frozenset(v.to_bytes(4, "big") for v in quic.VERSIONS)


def looks_like_quic_initial(payload: bytes) -> bool:
    return len(payload) >= 20 and payload[0] & 0xC0 == 0xC0 and payload[1:5] in QUIC_VERSIONS


def quic_client_datagram(f: Flow, payload: bytes) -> bool:
    """Feed a client->server datagram of a QUIC flow; True when inspection is over."""
    f.inspected += 1
    if not payload or not payload[0] & 0x80:      # short header: the handshake is past
        return True
    opened = quic.open_datagram(payload, f.quic_dcid)
    if opened is None:
        return f.inspected >= MAX_INSPECT_PKTS
    f.quic_dcid = opened.key_dcid
    f.quic_version = opened.version
    f.service = "quic"
    if f.crypto is None:
        f.crypto = quic.CryptoStream()
    for off, chunk in opened.crypto:
        f.crypto.add(off, chunk)
    res = tls.handshake_status(bytes(f.crypto.data))
    if isinstance(res, tls.ClientHello):
        f.hello = res
        if res.server_name:
            f.name, f.name_source = res.server_name, "quic_sni"
        return True
    return res is None or f.crypto.overflow or f.inspected >= MAX_INSPECT_PKTS


def dns_payload(f: Flow, payload: bytes, up: bool) -> dns.DnsMessage | None:
    """Parse a DNS message of a DNS flow and keep its summary on the flow."""
    msg = dns.parse(payload)
    if msg is None:
        return None
    f.service = "dns"
    if not msg.is_response:
        if f.dns_query is None:
            f.dns_query, f.dns_qtype = msg.qname, msg.qtype
        return msg
    if f.dns_query is None:
        f.dns_query, f.dns_qtype = msg.qname, msg.qtype
    f.dns_rcode = msg.rcode
    if f.dns_answers is None:
        f.dns_answers = []
    for a in msg.answers:
        if len(f.dns_answers) < MAX_DNS_ANSWERS:
            f.dns_answers.append(a.value)
    return msg


# ------------------------------------------------------------------ the table

class FlowTable:
    """Both directions of each flow map to the same Flow, so a packet needs one dict lookup.

    ``order`` holds each flow once (client key -> flow) for sweeps and eviction.
    """

    def __init__(self, max_flows: int = 100_000, timeouts: Timeouts | None = None):
        if max_flows < 16:
            raise ValueError("max_flows must be at least 16")
        self.max_flows = max_flows
        self.timeouts = timeouts or Timeouts()
        self.tcp: dict[bytes, Flow] = {}
        self.udp: dict[bytes, Flow] = {}
        self.order: dict[tuple[int, bytes], Flow] = {}

    def __len__(self) -> int:
        return len(self.order)

    def add(self, f: Flow) -> None:
        table = self.tcp if f.proto == 6 else self.udp
        table[f.ckey] = f
        table[f.skey] = f
        self.order[(f.proto, f.ckey)] = f

    def remove(self, f: Flow) -> None:
        table = self.tcp if f.proto == 6 else self.udp
        if table.get(f.ckey) is f:
            del table[f.ckey]
        if table.get(f.skey) is f:
            del table[f.skey]
        self.order.pop((f.proto, f.ckey), None)

    def expired(self, now: float) -> list[Flow]:
        # ``idle`` follows the state (attempt, established, closing), so a sweep is one pass
        return [f for f in self.order.values() if f.last_ts + f.idle < now]

    def oldest(self, n: int) -> list[Flow]:
        return heapq.nsmallest(n, self.order.values(), key=lambda f: f.last_ts)

    def __iter__(self) -> Iterator[Flow]:
        return iter(list(self.order.values()))
