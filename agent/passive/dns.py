"""DNS message parsing (RFC 1035): the question and the A/AAAA/CNAME answers.

Pure and defensive: compression pointers are followed with a hop limit and must point
backwards, names are length-checked, and anything malformed yields ``None``.
"""

from __future__ import annotations

import socket
from typing import NamedTuple

from agent.passive.tls import valid_hostname

A, CNAME, AAAA = 1, 5, 28
QTYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
               33: "SRV", 64: "SVCB", 65: "HTTPS"}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
MAX_ANSWERS = 64


class Answer(NamedTuple):
    name: str
    rtype: int
    ttl: int
    value: str           # dotted/colon IP for A/AAAA, target name for CNAME
    raw: bytes = b""     # packed address for A/AAAA (the flow table keys on packed bytes)


class DnsMessage(NamedTuple):
    id: int
    is_response: bool
    rcode: int
    qname: str | None
    qtype: int
    answers: tuple[Answer, ...]

    @property
    def qtype_name(self) -> str:
        return QTYPE_NAMES.get(self.qtype, str(self.qtype))

    @property
    def rcode_name(self) -> str:
        return RCODE_NAMES.get(self.rcode, str(self.rcode))


def _name(msg: bytes, pos: int, seen: dict[int, str | None]) -> tuple[str | None, int]:
    """Read a possibly compressed name; returns (name or None if invalid, position after it).

    ``seen`` maps offsets of names already read in this message to their value: answers
    usually point straight back at the question (c0 0c), which then costs one lookup.
    """
    if pos + 1 < len(msg) and msg[pos] & 0xC0 == 0xC0:
        ptr = ((msg[pos] & 0x3F) << 8) | msg[pos + 1]
        if ptr in seen and ptr < pos:
            return seen[ptr], pos + 2
    start = pos
    labels: list[bytes] = []
    end_pos = -1
    hops = 0
    total = 0
    n = len(msg)
    while True:
        if pos >= n:
            return None, -1
        ln = msg[pos]
        if ln == 0:
            pos += 1
            break
        if ln & 0xC0 == 0xC0:
            if pos + 1 >= n:
                return None, -1
            ptr = ((ln & 0x3F) << 8) | msg[pos + 1]
            if end_pos < 0:
                end_pos = pos + 2
            hops += 1
            if hops > 16 or ptr >= pos:     # pointers go backwards; this also stops loops
                return None, -1
            pos = ptr
            continue
        if ln & 0xC0:
            return None, -1                  # 0x40/0x80 label types are obsolete
        total += ln + 1
        if total > 255 or pos + 1 + ln > n:
            return None, -1
        labels.append(msg[pos + 1:pos + 1 + ln])
        pos += 1 + ln
    name = valid_hostname(b".".join(labels)) if labels else ""
    seen[start] = name
    return name, (end_pos if end_pos >= 0 else pos)


def parse(msg: bytes) -> DnsMessage | None:
    if len(msg) < 12:
        return None
    ident = (msg[0] << 8) | msg[1]
    flags = (msg[2] << 8) | msg[3]
    qd = (msg[4] << 8) | msg[5]
    an = (msg[6] << 8) | msg[7]
    if flags & 0x7800:                       # opcode other than QUERY
        return None
    pos = 12
    seen: dict[int, str | None] = {}
    qname: str | None = None
    qtype = 0
    for i in range(min(qd, 4)):
        name, pos = _name(msg, pos, seen)
        if pos < 0 or pos + 4 > len(msg):
            return None
        if i == 0:
            qname, qtype = name, (msg[pos] << 8) | msg[pos + 1]
        pos += 4
    answers: list[Answer] = []
    for _ in range(min(an, MAX_ANSWERS)):
        name, pos = _name(msg, pos, seen)
        if pos < 0 or pos + 10 > len(msg):
            break                            # truncated answers: keep what was read
        rtype = (msg[pos] << 8) | msg[pos + 1]
        ttl = int.from_bytes(msg[pos + 4:pos + 8], "big")
        rdlen = (msg[pos + 8] << 8) | msg[pos + 9]
        rdata_at = pos + 10
        pos = rdata_at + rdlen
        if pos > len(msg):
            break
        if ttl >= 2**31:                     # RFC 2181 §8: treat as zero
            ttl = 0
        if name is None:
            continue
        if rtype == A and rdlen == 4:
            raw = msg[rdata_at:pos]
            answers.append(Answer(name, A, ttl, socket.inet_ntop(socket.AF_INET, raw), raw))
        elif rtype == AAAA and rdlen == 16:
            raw = msg[rdata_at:pos]
            answers.append(Answer(name, AAAA, ttl, socket.inet_ntop(socket.AF_INET6, raw), raw))
        elif rtype == CNAME:
            target, _ = _name(msg, rdata_at, seen)
            if target:
                answers.append(Answer(name, CNAME, ttl, target))
    return DnsMessage(ident, bool(flags & 0x8000), flags & 0x0F, qname, qtype, tuple(answers))
