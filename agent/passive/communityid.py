"""Community ID v1 flow hashes (corelight/community-id-spec), so records join Zeek/Suricata logs."""

from __future__ import annotations

import base64
import hashlib
import struct


def community_id(proto: int, src: bytes, sport: int, dst: bytes, dport: int, seed: int = 0) -> str:
    """``1:<base64 sha1>`` of the ordered 5-tuple; ``src``/``dst`` are packed addresses."""
    # The smaller endpoint goes first so both directions of a flow get the same id.
    if (src, sport) > (dst, dport):
        src, sport, dst, dport = dst, dport, src, sport
    data = struct.pack("!H", seed) + src + dst + struct.pack("!BxHH", proto, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()
