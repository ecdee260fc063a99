"""Prometheus metrics of the passive monitor, in a registry the caller owns.

Kept here until the lead merges them into a shared agent/metrics.py. Label values come only
from bounded sets: catalogue app ids and categories (plus "other"), directory departments
(plus "unassigned", and "proxy" for proxies' own upstream connections). Alertable series are
pre-created at 0 so ``increase()`` sees the first event.

Sample output::

    # HELP dlp_proxy_bypass_total Connections to a bypass-category app that did not go
    #   through a proxy
    # TYPE dlp_proxy_bypass_total counter
    dlp_proxy_bypass_total{app="dropbox",department="finance"} 1.0
    dlp_passive_connections_total{app="dropbox",category="file_sharing",department="finance",
                                  via_proxy="false"} 1.0
    dlp_passive_quic_connections_total{app="youtube",department="dss"} 3.0
    dlp_passive_packets_total 1.0e+06
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from agent.apps import OTHER
from agent.passive.classify import PROXY


class _StatsCollector(Collector):
    """Reads the monitor's plain integer counters at scrape time (no lock on the packet path)."""

    def __init__(self, read: Callable[[], Mapping[str, float]]):
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self._read()
        yield CounterMetricFamily("dlp_passive_packets", "Packets read by the passive monitor",
                                  value=s.get("packets", 0))
        yield GaugeMetricFamily("dlp_passive_flows_active", "Connections in the flow table",
                                value=s.get("flows_active", 0))
        yield CounterMetricFamily("dlp_passive_flows_evicted",
                                  "Connections ended early because the flow table was full",
                                  value=s.get("flows_evicted", 0))
        yield CounterMetricFamily("dlp_passive_capture_drops",
                                  "Packets the kernel dropped before the monitor read them (live)",
                                  value=s.get("capture_drops", 0))


class PassiveMetrics:
    def __init__(self, registry: CollectorRegistry, apps: Mapping[str, str],
                 departments: Sequence[str], bypass_categories: frozenset[str],
                 stats: Callable[[], Mapping[str, float]] | None = None):
        """``apps``: app id -> category (include "other"); ``departments``: bounded label values."""
        self.registry = registry
        self._pending: dict[tuple, int] = {}
        self.connections = Counter(
            "dlp_passive_connections", "Connections seen by the passive monitor",
            ["app", "category", "department", "via_proxy"], registry=registry)
        self.bypass = Counter(
            "dlp_proxy_bypass",
            "Connections to a bypass-category app that did not go through a proxy",
            ["app", "department"], registry=registry)
        self.quic = Counter(
            "dlp_passive_quic_connections", "QUIC (HTTP/3) connections seen by the passive monitor",
            ["app", "department"], registry=registry)
        self.bytes = Counter(
            "dlp_passive_bytes",
            "Payload bytes of finished connections seen by the passive monitor",
            ["app", "category", "direction", "department"], registry=registry)
        if stats is not None:
            registry.register(_StatsCollector(stats))
        people = [d for d in departments if d != PROXY]
        for app, cat in apps.items():
            for d in people:
                self.connections.labels(app, cat, d, "false")
                self.connections.labels(app, cat, d, "true")
                self.quic.labels(app, d)
                if cat in bypass_categories and app != OTHER:
                    self.bypass.labels(app, d)
            if PROXY in departments:
                self.connections.labels(app, cat, PROXY, "true")

    # Increments are added up in plain dicts and applied by ``flush`` (the monitor calls it on
    # every idle sweep, at most 5 s of capture time apart, and at the end): Counter.inc takes
    # a lock and validates labels on each call, which at tens of thousands of connections a
    # second is a measurable share of the work. Scrapes lag by at most one sweep.

    def connection(self, app: str, category: str, department: str, via_proxy: bool,
                   bypass: bool, quic: bool) -> None:
        p = self._pending
        key = (self.connections, app, category, department, "true" if via_proxy else "false")
        p[key] = p.get(key, 0) + 1
        if bypass:
            key = (self.bypass, app, department)
            p[key] = p.get(key, 0) + 1
        if quic:
            key = (self.quic, app, department)
            p[key] = p.get(key, 0) + 1

    def finished(self, app: str, category: str, department: str, up: int, down: int) -> None:
        p = self._pending
        if up:
            key = (self.bytes, app, category, "up", department)
            p[key] = p.get(key, 0) + up
        if down:
            key = (self.bytes, app, category, "down", department)
            p[key] = p.get(key, 0) + down

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for (metric, *labels), amount in pending.items():
            metric.labels(*labels).inc(amount)
