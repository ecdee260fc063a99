"""The per-connection record the passive monitor emits: a Zeek conn.log row plus classification.

This is the value a usage store consumes (``source == "passive"``): who (user, department),
what (app, category), when (ts, duration), how much (bytes each way) and an estimate of
active time. ``dlp-agent sniff --format jsonl`` prints ``to_json()`` of each record.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Literal

ProxyRole = Literal["direct", "to_proxy", "proxy_upstream"]
SOURCE = "passive"


@dataclass(slots=True)
class ConnectionRecord:
    """One connection (TCP) or flow (UDP 5-tuple until idle) seen on the wire.

    Fields named after Zeek's conn/ssl/quic/dns logs where one exists. Byte counts are
    transport payload bytes (Zeek's orig_bytes/resp_bytes); retransmitted segments are counted
    again. ``active_seconds`` sums the gaps between payload-carrying packets that are shorter
    than the monitor's activity gap (30 s by default): a rough "someone was using it" time, not
    wall-clock duration. Keep-alives and idle periods do not count.
    """

    ts: float                       # first packet, Unix seconds
    uid: str                        # stable id for this connection (deterministic per capture)
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    proto: Literal["tcp", "udp"]
    service: str | None             # ssl | http | quic | dns | None
    server_name: str | None         # the name the client asked for (see name_source)
    name_source: str | None         # sni | http_host | connect | quic_sni | dns
    app: str                        # catalogue app id or "other"
    category: str                   # catalogue category or "other"
    user: str                       # directory user, "unknown", or "proxy" for proxy upstreams
    department: str                 # directory department, "unassigned", or "proxy"
    via_proxy: bool                 # to a configured proxy, or a proxy's own upstream connection
    proxy_role: ProxyRole
    bypass: bool                    # bypass category reached without the proxy
    bytes_up: int                   # client -> server payload bytes
    bytes_down: int                 # server -> client payload bytes
    pkts_up: int
    pkts_down: int
    duration: float                 # last packet - first packet, seconds
    active_seconds: float
    conn_state: str                 # Zeek-like: S0 REJ S1 SF RSTO RSTR SH OTH; UDP: SF/S0
    community_id: str
    ja4: str | None = None          # JA4 of the ClientHello (TLS or QUIC): stack evidence only
    alpn: list[str] | None = None
    tls_version: str | None = None  # highest offered: "1.3", "1.2", ...
    ech: bool = False               # hello offered encrypted_client_hello: SNI is the outer name
    quic_version: str | None = None
    http_method: str | None = None
    dns_query: str | None = None
    dns_qtype: str | None = None
    dns_rcode: str | None = None
    dns_answers: list[str] | None = None
    vlan: int | None = None
    source: str = SOURCE

    def to_json(self) -> dict[str, Any]:
        """Plain dict for JSON, dropping unset optional fields (Zeek leaves them '-')."""
        out = dict(zip(_FIELDS, _VALUES(self), strict=True))
        for f in _OPTIONAL:
            if out[f] is None:
                del out[f]
        out["ts"] = round(self.ts, 6)
        out["duration"] = round(self.duration, 6)
        out["active_seconds"] = round(self.active_seconds, 3)
        return out


_FIELDS = tuple(f.name for f in fields(ConnectionRecord))
_VALUES = attrgetter(*_FIELDS)
_OPTIONAL = frozenset({"ja4", "alpn", "tls_version", "quic_version", "http_method", "dns_query",
                       "dns_qtype", "dns_rcode", "dns_answers", "vlan"})
