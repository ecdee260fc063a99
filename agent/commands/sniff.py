"""Passive monitor: read a capture file (--pcap) or a mirror-port interface (--iface) and report
each connection (who, which app, bytes, duration) and every proxy bypass (WC-P17-001 §6, §11).

Records are Zeek-like JSON lines on stdout (--format jsonl). Live capture serves Prometheus
metrics on --metrics-host:--metrics-port (loopback by default). Exit status 0 when the capture
was read, 2 on bad usage, an unreadable file, or missing capture privileges.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from agent.apps import Catalogue, default_path
from agent.commands import UsageError
from agent.identity import Directory
from agent.passive.classify import DEFAULT_BYPASS_CATEGORIES, Classifier, parse_proxy
from agent.passive.monitor import Monitor
from agent.passive.record import ConnectionRecord
from agent.yamlload import ConfigError

PROGRESS_MIN_BYTES = 8 << 20       # smaller files finish before a bar is worth drawing


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pcap", metavar="FILE", help="read a pcap or pcapng capture file")
    src.add_argument("--iface", metavar="IFACE",
                     help="capture live from this interface (needs CAP_NET_RAW); stop with "
                          "Ctrl-C or SIGTERM, open connections are then reported")
    p.add_argument("--bpf", metavar="FILTER",
                   help="live: kernel BPF filter (tcpdump syntax). Packets it drops are not "
                        "counted, so bytes and durations of filtered connections are lost; "
                        "tagged frames need an explicit vlan clause, so the filter is applied "
                        "as '(FILTER) or (vlan and (FILTER))' unless it mentions vlan")
    p.add_argument("--proxy", action="append", default=[], metavar="ADDR:PORT",
                   help="a County proxy (repeatable): client connections to it are proxied, "
                        "its own connections out are credited to the proxy, never a bypass")
    p.add_argument("--db", metavar="PATH",
                   help="add usage (connections, bytes, estimated active time, marked passive) to "
                        "this agent database; connections through the proxy are left to the proxy")
    p.add_argument("--directory", metavar="FILE",
                   help="directory file mapping addresses to users and departments")
    p.add_argument("--apps", metavar="FILE", help=f"app catalogue (default {default_path()})")
    p.add_argument("--bypass-categories", metavar="LIST",
                   default=",".join(DEFAULT_BYPASS_CATEGORIES),
                   help="comma-separated catalogue categories whose direct use is a proxy "
                        "bypass (default: %(default)s)")
    p.add_argument("--format", choices=("jsonl", "none"), default="jsonl",
                   help="jsonl: one connection record per line; none: metrics and summary only")
    p.add_argument("--output", "-o", metavar="FILE", default="-",
                   help="write records here instead of stdout")
    p.add_argument("--metrics-host", default="127.0.0.1", metavar="ADDR",
                   help="address for /metrics (default %(default)s)")
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve Prometheus metrics on this port while running")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="live: stop after this many seconds")
    p.add_argument("--max-flows", type=int, default=100_000, metavar="N",
                   help="flow table size bound; the least recently active are ended early "
                        "(default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _bpf(expr: str | None) -> str | None:
    if not expr or "vlan" in expr:
        return expr
    return f"({expr}) or (vlan and ({expr}))"


def _build(args: argparse.Namespace) -> tuple[Classifier, Catalogue]:
    try:
        catalogue = Catalogue.load(args.apps or default_path())
        directory = Directory.load(args.directory)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"cannot read {e.filename}: {e.strerror}") from None
    try:
        proxies = [parse_proxy(s) for s in args.proxy]
    except ValueError as e:
        raise UsageError(f"--proxy {e}") from None
    cats = [c.strip() for c in args.bypass_categories.split(",") if c.strip()]
    try:
        return Classifier(catalogue, directory, proxies, cats), catalogue
    except ValueError as e:
        raise UsageError(f"--bypass-categories: {e}") from None


Sink = Callable[[ConnectionRecord], None]


def _writer(args: argparse.Namespace, live: bool) -> tuple[Sink, IO[str] | None]:
    if args.format == "none":
        return (lambda rec: None), None
    if args.output == "-":
        out: IO[str] = sys.stdout
    else:
        try:
            out = open(args.output, "w", encoding="utf-8")  # noqa: SIM115 - closed in run()
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror}") from None
    dumps = json.JSONEncoder(separators=(",", ":")).encode

    def write(rec: ConnectionRecord) -> None:
        out.write(dumps(rec.to_json()) + "\n")
        if live:
            out.flush()                     # a live consumer wants each record as it ends

    return write, out


def run(args: argparse.Namespace) -> int:
    if args.max_flows < 16:
        raise UsageError("--max-flows must be at least 16")
    classifier, catalogue = _build(args)
    from prometheus_client import CollectorRegistry

    from agent.passive.metrics import PassiveMetrics

    registry = CollectorRegistry()
    sink, out = _writer(args, live=bool(args.iface))
    usage = _PassiveUsage(args.db, classifier.directory) if args.db else None
    if usage is not None:
        sink = usage.wrap(sink)
    monitor: Monitor | None = None

    def stats() -> dict[str, float]:
        return monitor.stats_view() if monitor is not None else {}

    apps = {a.id: a.category for a in catalogue.apps.values()}
    apps["other"] = "other"
    metrics = PassiveMetrics(registry, apps, classifier.departments,
                             classifier.bypass_categories, stats)
    monitor = Monitor(classifier, sink, metrics, max_flows=args.max_flows)
    server = None
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        try:
            server, _thread = start_http_server(args.metrics_port, addr=args.metrics_host,
                                                registry=registry)
        except OSError as e:
            raise UsageError(f"cannot serve metrics on {args.metrics_host}:{args.metrics_port}: "
                             f"{e.strerror or e}") from None
    started = time.monotonic()
    try:
        if args.pcap:
            _read_file(args, monitor)
        else:
            _read_live(args, monitor)
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`): not an error of the capture
        sys.stderr.close()
        return 0
    finally:
        if usage is not None:
            usage.close()
        if server is not None:
            server.shutdown()
        if out is not None and out is not sys.stdout:
            out.close()
        elif out is not None:
            try:
                out.flush()
            except BrokenPipeError:
                pass
    _summary(monitor, time.monotonic() - started)
    return 0


def _read_file(args: argparse.Namespace, monitor: Monitor) -> None:
    from agent.passive.pcapfile import CaptureError, CaptureFile

    try:
        cap = CaptureFile(args.pcap)
    except CaptureError as e:
        raise UsageError(str(e)) from None
    bar: Any = None
    if (not args.no_progress and sys.stderr.isatty() and cap.size >= PROGRESS_MIN_BYTES):
        from tqdm import tqdm

        bar = tqdm(total=cap.size, unit="B", unit_scale=True, desc="sniff", file=sys.stderr,
                   leave=False)
    try:
        if cap.linktype is not None and not _linktype_ok(cap.linktype):
            raise UsageError(f"{args.pcap}: unsupported link type {cap.linktype}")
        done = 0

        def progress(position: int) -> None:
            nonlocal done
            bar.update(position - done)
            done = position

        cap.replay(monitor, progress if bar is not None else None)
    except CaptureError as e:
        raise UsageError(str(e)) from None
    finally:
        if bar is not None:
            bar.close()
    if cap.truncated:
        print(f"dlp-agent sniff: {args.pcap}: file ends inside a packet record (truncated "
              "capture); the packets before it were read", file=sys.stderr)
    monitor.flush()


def _linktype_ok(linktype: int) -> bool:
    from agent.passive.monitor import linktype_supported

    return linktype_supported(linktype)


def _read_live(args: argparse.Namespace, monitor: Monitor) -> None:
    from agent.passive.live import CaptureUnavailable, LiveCapture

    try:
        cap = LiveCapture(args.iface, _bpf(args.bpf))
    except CaptureUnavailable as e:
        raise UsageError(str(e)) from None
    stop = threading.Event()
    deadline = time.monotonic() + args.duration if args.duration else None

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"dlp-agent sniff: listening on {args.iface}"
          + (f", metrics on http://{args.metrics_host}:{args.metrics_port}/metrics"
             if args.metrics_port is not None else ""), file=sys.stderr, flush=True)

    def stopped() -> bool:
        return stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

    try:
        with cap:
            for linktype, batch in cap.batches(stopped):
                if batch:
                    monitor.feed(batch, linktype)
                monitor.advance(time.time())
                monitor.stats.capture_drops = cap.read_drops()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    monitor.flush()


class _PassiveUsage:
    """Connection records -> hourly usage rollups in the agent's database (source=passive),
    batched: written every FLUSH records and at the end."""

    FLUSH = 20_000

    def __init__(self, db: str, directory) -> None:
        from agent.store import Store
        from agent.usage_rollup import UsageAccumulator

        try:
            self.store = Store.open(db)
        except Exception as e:  # noqa: BLE001 - any failure to open is a usage error here
            raise UsageError(f"cannot open database {db}: {e}") from None
        self.store.start()
        self.acc = UsageAccumulator(directory.schedule, source="passive")
        self.pending = 0

    def wrap(self, sink: Sink) -> Sink:
        def both(rec: ConnectionRecord) -> None:
            sink(rec)
            if not rec.via_proxy:       # proxied use is the proxy's to count (no double counting)
                self.acc.connection(rec.ts, rec.user, rec.department, rec.app, rec.category,
                                    rec.bytes_up, rec.bytes_down, rec.active_seconds)
                self.pending += 1
                if self.pending >= self.FLUSH:
                    self.flush()
        return both

    def flush(self) -> None:
        from functools import partial

        from agent.store.usage import write_usage

        drained = self.acc.drain(time.time())
        if drained.deltas:
            self.store.submit(partial(write_usage, drained.deltas), label="passive usage").result(60)
        self.pending = 0

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.store.close()


def _summary(monitor: Monitor, seconds: float) -> None:
    s = monitor.stats
    rate = s.packets / seconds if seconds > 0 else 0.0
    print(f"dlp-agent sniff: {s.packets} packets, {s.records} connections in {seconds:.1f} s "
          f"({rate:,.0f} packets/s)"
          + (f", {s.flows_evicted} ended early (flow table full)" if s.flows_evicted else "")
          + (f", {s.capture_drops} dropped by the kernel" if s.capture_drops else ""),
          file=sys.stderr)
