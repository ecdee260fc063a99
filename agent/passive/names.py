"""IP -> name memory built from DNS answers, so flows without SNI or Host still get a name.

Keyed per client first (the name *this* client resolved to that address: shared CDN and
front-end addresses serve many names), then globally as a fallback. Entries expire with the
record's TTL (with a floor, since resolvers and browsers cache beyond short TTLs) and the map
is bounded: when full, the oldest entries are dropped.
"""

from __future__ import annotations

from collections import OrderedDict


class NameCache:
    def __init__(self, max_entries: int = 100_000, min_ttl: float = 60.0,
                 max_ttl: float = 86_400.0):
        self.max_entries = max_entries
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self._by_client: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._global: OrderedDict[bytes, tuple[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_client) + len(self._global)

    def add(self, client: bytes, addr: bytes, name: str, ttl: int, now: float) -> None:
        """Remember that ``client`` resolved ``name`` to ``addr`` (packed bytes) at ``now``."""
        expiry = now + min(max(float(ttl), self.min_ttl), self.max_ttl)
        for table, key in ((self._by_client, client + addr), (self._global, addr)):
            table[key] = (name, expiry)
            table.move_to_end(key)
            while len(table) > self.max_entries:
                table.popitem(last=False)

    def lookup(self, client: bytes, addr: bytes, now: float) -> str | None:
        for table, key in ((self._by_client, client + addr), (self._global, addr)):
            hit = table.get(key)
            if hit is not None:
                if hit[1] >= now:
                    return hit[0]
                del table[key]
        return None
