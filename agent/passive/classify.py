"""Who and what a passively seen connection is: the same catalogue and directory as the proxy.

Pure. The proxy rules (WC-P17-001 §11 enforcement lives in the proxy, so traffic that avoids
it is what the monitor must surface):
- client -> a configured proxy address:port: proxied; the name is the CONNECT / absolute-form
  target, the person is the client.
- a proxy's own upstream connections (source address is a proxy's): credited to the proxy
  (user and department "proxy"), never to a client and never a bypass.
- anything else reaching a bypass category (file sharing, social media, ...) is a bypass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import NamedTuple

from agent.apps import OTHER, UNKNOWN_APP, App, Catalogue
from agent.identity import UNASSIGNED, Directory

PROXY = "proxy"     # user and department label of a proxy's own upstream connections
DEFAULT_BYPASS_CATEGORIES = ("file_sharing", "social_media", "paste", "messaging", "webmail",
                             "ai_assistant")


def parse_proxy(spec: str) -> tuple[str, int]:
    """``10.0.0.2:3128`` or ``[fd00::2]:3128`` -> (normalised address, port); ValueError if bad.

    Addresses only: the monitor sees addresses, and a name would have to be resolved at start.
    """
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{spec!r}: expected ADDR:PORT, e.g. 10.0.0.2:3128 or [fd00::2]:3128")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{spec!r}: {host!r} is not an IP address (give the proxy's address, "
                         "not its name)") from None
    return str(addr), int(port)


class Verdict(NamedTuple):
    app: App
    user: str
    department: str
    proxy_role: str          # direct | to_proxy | proxy_upstream
    bypass: bool

    @property
    def via_proxy(self) -> bool:
        return self.proxy_role != "direct"


class Classifier:
    def __init__(self, catalogue: Catalogue, directory: Directory,
                 proxies: Iterable[tuple[str, int]] = (),
                 bypass_categories: Iterable[str] = DEFAULT_BYPASS_CATEGORIES):
        self.catalogue = catalogue
        self.directory = directory
        self.proxies = frozenset(proxies)
        self.proxy_ips = frozenset(ip for ip, _ in self.proxies)
        self.bypass_categories = frozenset(bypass_categories)
        unknown = self.bypass_categories - set(catalogue.categories)
        if unknown:
            raise ValueError(f"unknown bypass categories: {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(catalogue.categories)}")
        spec = directory.spec
        depts = [*directory.departments]
        if not spec.departments:   # no department list: the values users/networks name, bounded
            depts += sorted({u.department for u in spec.users.values()}
                            | {n.department for n in spec.networks if n.department})
        if self.proxies:
            depts.append(PROXY)
        self.departments: tuple[str, ...] = tuple(dict.fromkeys(depts))
        self._dept_set = frozenset(self.departments)

    def app_for(self, name: str | None) -> App:
        if not name:
            return UNKNOWN_APP
        return self.catalogue.app_for_host(name) or UNKNOWN_APP

    def classify(self, client_ip: str, server_ip: str, server_port: int,
                 name: str | None) -> Verdict:
        app = self.app_for(name)
        if client_ip in self.proxy_ips:
            return Verdict(app, PROXY, PROXY, "proxy_upstream", False)
        ident = self.directory.identify(None, client_ip)
        dept = ident.department if ident.department in self._dept_set else UNASSIGNED
        if (server_ip, server_port) in self.proxies:
            return Verdict(app, ident.user, dept, "to_proxy", False)
        bypass = app.category in self.bypass_categories and app.category != OTHER
        return Verdict(app, ident.user, dept, "direct", bypass)
