"""Privacy bypass: destinations never intercepted (banking, health, government benefits).

WC-P17-001 §6 monitors social media use; it does not ask DoIT to read employees' bank or
health sessions. Connections to these domains pass through encrypted and untouched; only the
fact of the connection (host, user, time) is counted for usage.
"""

from __future__ import annotations

import re

_DOMAIN = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


class PrivacyBypass:
    def __init__(self, domains: list[str]):
        self.domains: set[str] = set()
        for d in domains:
            d = d.lower().rstrip(".")
            if not _DOMAIN.fullmatch(d):
                raise ValueError(f"privacy_bypass: {d!r} is not a domain name")
            self.domains.add(d.removeprefix("*."))

    def __bool__(self) -> bool:
        return bool(self.domains)

    def matches(self, host: str | None) -> bool:
        """'bank.com' covers bank.com and every sub-domain, at label boundaries."""
        if not host or not self.domains:
            return False
        labels = host.lower().rstrip(".").split(".")
        return any(".".join(labels[i:]) in self.domains for i in range(len(labels)))
