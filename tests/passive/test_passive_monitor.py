"""The monitor against the generator's ground truth: every connection of the test capture, in
pcap and pcapng, across link types and capture quirks; metrics; the flow table's bounds."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import PcapNgReader, RawPcapReader, RawPcapWriter, wrpcap

from agent.passive import flows, monitor
from agent.passive.classify import PROXY as PROXY_LABEL
from agent.passive.flows import Timeouts
from agent.passive.metrics import PassiveMetrics
from agent.passive.monitor import Monitor
from agent.passive.names import NameCache
from agent.passive.pcapfile import CaptureError, CaptureFile

MAC = "02:00:00:00:00:01"
KEY = ("proto", "client_ip", "client_port", "server_ip", "server_port")


def run(classifier, path: Path, fast: bool = True, **kw) -> tuple[list[dict], Monitor]:
    """Records of a capture: through ``replay`` (the fused pcap fast path) or ``batches``."""
    out: list = []
    m = Monitor(classifier, out.append, **kw)
    if fast:
        CaptureFile(path).replay(m)
        m.flush()
    else:
        m.run(CaptureFile(path).batches())
    return [r.to_json() for r in out], m


def check(records: list[dict], truth: list[dict], skip: tuple[str, ...] = ()) -> None:
    got = {tuple(r[k] for k in KEY): r for r in records}
    want = {tuple(t[k] for k in KEY): t for t in truth}
    assert set(got) == set(want), (set(got) ^ set(want))
    problems = []
    for k, t in want.items():
        for field, value in t.items():
            if field in skip:
                continue
            if got[k].get(field) != value:
                problems.append((k, field, value, got[k].get(field)))
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("name,fast", [("passive.pcap", True), ("passive.pcap", False),
                                       ("passive.pcapng", True)])
def test_every_connection_matches_ground_truth(classifier, capture_dir, truth, name, fast):
    records, m = run(classifier, capture_dir / name, fast)
    check(records, truth)
    assert m.stats.undecoded == 0 and m.stats.packets == _count(capture_dir / "passive.pcap")


def _count(path: Path) -> int:
    return sum(1 for _ in RawPcapReader(str(path)))


def test_reader_matches_scapy(capture_dir):
    """Our struct reader returns exactly the frames and timestamps scapy's readers return."""
    ours = [p for _lt, batch in CaptureFile(capture_dir / "passive.pcap").batches() for p in batch]
    theirs = [(md.sec + md.usec / 1e6, data)
              for data, md in RawPcapReader(str(capture_dir / "passive.pcap"))]
    assert [d for _, d in ours] == [d for _, d in theirs]
    assert all(abs(a - b) < 1e-6 for (a, _), (b, _) in zip(ours, theirs, strict=True))
    ng = [p for _lt, batch in CaptureFile(capture_dir / "passive.pcapng").batches() for p in batch]
    scapy_ng = [(float(p.time), bytes(p))
                for p in PcapNgReader(str(capture_dir / "passive.pcapng"))]
    assert [d for _, d in ng] == [d for _, d in scapy_ng]
    assert all(abs(a - b) < 1e-6 for (a, _), (b, _) in zip(ng, scapy_ng, strict=True))


def _write(path: Path, frames, linktype: int = 1, *, nano: bool = False, **kw) -> None:
    w = RawPcapWriter(str(path), linktype=linktype or 1, nano=nano, **kw)
    w.write_header(None)
    for ts, frame, wirelen in frames:
        sec = int(ts)
        w.write_packet(frame, sec=sec, usec=round((ts - sec) * (1e9 if nano else 1e6)),
                       wirelen=wirelen)
    w.close()
    if linktype == 0:   # scapy's writer takes linktype 0 (BSD loopback) for "unset": patch it
        data = bytearray(path.read_bytes())
        data[20:24] = b"\x00\x00\x00\x00"
        path.write_bytes(bytes(data))


def _frames(capture_dir: Path) -> list[tuple[float, bytes]]:
    return [p for _lt, batch in CaptureFile(capture_dir / "passive.pcap").batches() for p in batch]


def _strip_l2(frame: bytes) -> tuple[int, bytes]:
    et, off = struct.unpack_from("!H", frame, 12)[0], 14
    while et in (0x8100, 0x88A8):
        et, off = struct.unpack_from("!H", frame, off + 2)[0], off + 4
    return et, frame[off:]


def _relink(linktype: int, frame: bytes) -> bytes:
    et, l3 = _strip_l2(frame)
    if linktype == monitor.LINKTYPE_RAW:
        return l3
    if linktype == monitor.LINKTYPE_LINUX_SLL:
        return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, et) + l3
    if linktype == monitor.LINKTYPE_LINUX_SLL2:
        return struct.pack("!HHIHBB8s", et, 0, 2, 1, 0, 6, b"\x02" * 8) + l3
    if linktype == monitor.LINKTYPE_NULL:
        return struct.pack("<I", 2 if et == 0x0800 else 30) + l3
    raise AssertionError(linktype)


@pytest.mark.parametrize("linktype", [monitor.LINKTYPE_RAW, monitor.LINKTYPE_LINUX_SLL,
                                      monitor.LINKTYPE_LINUX_SLL2, monitor.LINKTYPE_NULL])
def test_other_link_types(classifier, capture_dir, truth, tmp_path, linktype):
    path = tmp_path / f"lt{linktype}.pcap"
    _write(path, [(ts, _relink(linktype, f), None) for ts, f in _frames(capture_dir)], linktype)
    records, _ = run(classifier, path)
    check(records, [{**t, "vlan": None} if "vlan" in t else t for t in truth])
    assert records == run(classifier, path, fast=False)[0]


@pytest.mark.parametrize("endianness,nano", [(">", False), ("<", True)])
def test_pcap_variants(classifier, capture_dir, truth, tmp_path, endianness, nano):
    path = tmp_path / "v.pcap"
    _write(path, [(ts, f, None) for ts, f in _frames(capture_dir)], endianness=endianness,
           nano=nano)
    assert path.read_bytes()[:4] == {(">", False): b"\xa1\xb2\xc3\xd4",
                                     ("<", True): b"\x4d\x3c\xb2\xa1"}[(endianness, nano)]
    records, _ = run(classifier, path)
    check(records, truth)
    assert records == run(classifier, path, fast=False)[0]


def test_snaplen_truncated_frames_keep_byte_counts(classifier, capture_dir, truth, tmp_path):
    """Bytes come from the IP header, so a 96-byte snaplen still counts every byte."""
    path = tmp_path / "snap.pcap"
    _write(path, [(ts, f[:96], len(f)) for ts, f in _frames(capture_dir)], snaplen=96)
    records, _ = run(classifier, path)
    assert records == run(classifier, path, fast=False)[0]
    check(records, truth, skip=("service", "server_name", "name_source", "app", "category",
                                "bypass", "tls_version", "quic_version", "ja4", "alpn",
                                "http_method", "dns_query", "dns_qtype", "dns_rcode",
                                "dns_answers"))


def test_truncated_file_reads_what_is_there(classifier, capture_dir, tmp_path):
    data = (capture_dir / "passive.pcap").read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:len(data) // 2 + 7])
    for fast in (True, False):
        cap = CaptureFile(path)
        out: list = []
        m = Monitor(classifier, out.append)
        if fast:
            cap.replay(m)
        else:
            m.run(cap.batches())
        m.flush()
        assert cap.truncated and out and m.stats.packets < _count(capture_dir / "passive.pcap")


@pytest.mark.parametrize("content,msg", [
    (b"", "too short"),
    (b"hello world, not pcap", "not a pcap"),
    (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\xff\xff\xff\xff" + bytes(16), "byte-order"),
])
def test_not_a_capture(tmp_path, content, msg):
    path = tmp_path / "x.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=msg):
        for _ in CaptureFile(path).batches():
            pass


def test_corrupt_record_length(classifier, capture_dir, tmp_path):
    data = bytearray((capture_dir / "passive.pcap").read_bytes()[:4000])
    data[24 + 8:24 + 12] = (10**8).to_bytes(4, "little")     # first record claims 100 MB
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(data) + bytes(8 << 20))
    with pytest.raises(CaptureError, match="corrupt record at byte 24"):
        CaptureFile(path).replay(Monitor(classifier, lambda r: None))


def test_metrics(classifier, capture_dir, truth, catalogue):
    registry = CollectorRegistry()
    apps = {a.id: a.category for a in catalogue.apps.values()} | {"other": "other"}
    out: list = []
    m: Monitor | None = None
    metrics = PassiveMetrics(registry, apps, classifier.departments, classifier.bypass_categories,
                             lambda: m.stats_view())
    m = Monitor(classifier, out.append, metrics)
    m.run(CaptureFile(capture_dir / "passive.pcap").batches())
    records = [r.to_json() for r in out]
    bypass = Counter((r["app"], r["department"]) for r in records if r["bypass"])
    assert bypass[("dropbox", "finance")] == 2          # direct upload + rejected attempt
    for (app, dept), n in bypass.items():
        labels = {"app": app, "department": dept}
        assert registry.get_sample_value("dlp_proxy_bypass_total", labels) == n
    conns = Counter((r["app"], r["category"], r["department"], str(r["via_proxy"]).lower())
                    for r in records)
    for (app, cat, dept, via), n in conns.items():
        assert registry.get_sample_value("dlp_passive_connections_total", {
            "app": app, "category": cat, "department": dept, "via_proxy": via}) == n
    quic_ = Counter((r["app"], r["department"]) for r in records if r["service"] == "quic")
    assert sum(quic_.values()) == 3
    for (app, dept), n in quic_.items():
        assert registry.get_sample_value("dlp_passive_quic_connections_total",
                                         {"app": app, "department": dept}) == n
    # pre-created at 0 so increase() sees the first event; proxy never has bypass series
    assert registry.get_sample_value("dlp_proxy_bypass_total",
                                     {"app": "gmail", "department": "it"}) == 0
    assert registry.get_sample_value("dlp_proxy_bypass_total",
                                     {"app": "dropbox", "department": PROXY_LABEL}) is None
    assert registry.get_sample_value("dlp_passive_packets_total") == m.stats.packets
    up = sum(r["bytes_up"] for r in records
             if r["app"] == "dropbox" and r["department"] == "finance")
    assert registry.get_sample_value("dlp_passive_bytes_total", {
        "app": "dropbox", "category": "file_sharing", "direction": "up",
        "department": "finance"}) == up
    # bounded labels only, and nothing leaked into the global registry
    for metric in registry.collect():
        for s in metric.samples:
            assert s.labels.get("department", "unassigned") in classifier.departments
            assert s.labels.get("app", "other") in apps
    assert not [m for m in REGISTRY.collect() if m.name.startswith("dlp_passive")]


def _udp_frames(n: int, t0: float, dt: float) -> list[tuple[float, bytes]]:
    return [(t0 + i * dt, bytes(Ether(src=MAC, dst=MAC)
                                 / IP(src=f"10.30.{i // 250}.{i % 250 + 1}", dst="192.0.2.9")
                                 / UDP(sport=40000 + i, dport=9999) / Raw(b"x" * 10)))
            for i in range(n)]


def test_flow_table_bound_evicts_oldest(classifier):
    out: list = []
    m = Monitor(classifier, out.append, max_flows=16)
    m.feed(_udp_frames(40, 1000.0, 0.001))
    assert len(m.table) <= 16 and m.stats.flows_evicted >= 24
    m.flush()
    assert len(out) == 40 and sorted(r.client_port for r in out) == list(range(40000, 40040))


def test_idle_flows_end_before_the_capture_does(classifier):
    out: list = []
    m = Monitor(classifier, out.append, timeouts=Timeouts(udp_idle=60))
    frames = _udp_frames(4, 1000.0, 0.1)
    m.feed(frames[:3])
    m.feed([(1100.0, frames[3][1])])                # a new flow 100 s later
    assert len(out) == 3 and len(m.table) == 1      # the first three timed out meanwhile


def test_advance_ends_idle_flows_without_packets(classifier):
    out: list = []
    m = Monitor(classifier, out.append)
    m.feed(_udp_frames(2, 1000.0, 0.1))
    m.advance(1030.0)
    assert not out
    m.advance(1100.0)
    assert len(out) == 2


def test_seq_wraparound_reassembly():
    """A split hello whose sequence numbers wrap past 2^32."""
    import pcap_builders as b

    data = b.records(b.chromium_hello("www.dropbox.com", sni_last=True))
    f = flows.Flow(b"c", b"s", 6, b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 1, 443, 0.0)
    f.next_seq, f.seq_known = 0xFFFFFF00, True
    second = (0xFFFFFF00 + 1000) & 0xFFFFFFFF
    assert not flows.tcp_client_payload(f, data[1000:], second)     # held: ahead of the start
    assert flows.tcp_client_payload(f, data[:1000], 0xFFFFFF00)
    assert f.name == "www.dropbox.com"


@pytest.mark.parametrize("hist,down,expect", [
    (flows.H_SYN, 0, "S0"), (flows.H_SYN | flows.H_RST_S, 1, "REJ"),
    (flows.H_SYN | flows.H_SYNACK, 1, "S1"),
    (flows.H_SYN | flows.H_SYNACK | flows.H_FIN_C | flows.H_FIN_S, 1, "SF"),
    (flows.H_SYN | flows.H_SYNACK | flows.H_FIN_C, 1, "S2"),
    (flows.H_SYN | flows.H_SYNACK | flows.H_FIN_S, 1, "S3"),
    (flows.H_SYN | flows.H_SYNACK | flows.H_RST_C, 1, "RSTO"),
    (flows.H_SYN | flows.H_SYNACK | flows.H_RST_S, 1, "RSTR"),
    (flows.H_SYN | flows.H_FIN_C, 0, "SH"), (flows.H_MID, 3, "OTH"),
])
def test_conn_state(hist, down, expect):
    f = flows.Flow(b"c", b"s", 6, b"a" * 4, b"b" * 4, 1, 2, 0.0)
    f.hist, f.down_pkts = hist, down
    assert flows.conn_state(f) == expect


def test_name_cache_ttl_floor_and_bound():
    c = NameCache(max_entries=3, min_ttl=60)
    c.add(b"C1", b"A1", "a.example", ttl=5, now=0)           # TTL 5 is raised to the floor 60
    assert c.lookup(b"C1", b"A1", 59) == "a.example"
    assert c.lookup(b"C1", b"A1", 61) is None
    c.add(b"C1", b"A2", "b.example", 300, 0)
    assert c.lookup(b"C9", b"A2", 10) == "b.example"          # global fallback for another client
    c.add(b"C2", b"A2", "c.example", 300, 1)
    assert c.lookup(b"C1", b"A2", 10) == "b.example"          # per-client answer wins
    for i in range(5):
        c.add(b"C3", bytes([i]), f"n{i}.example", 300, 2)
    assert len(c) <= 6 and c.lookup(b"C3", bytes([4]), 3) == "n4.example"


def test_pcap_written_by_wrpcap_is_read(classifier, tmp_path):
    """A plain scapy wrpcap file (what an operator would hand over) reads the same."""
    pkts = [Ether(src=MAC, dst=MAC) / IP(src="10.20.1.5", dst="192.0.2.1")
            / UDP(sport=5000, dport=53) / Raw(b"\x00" * 12)]
    wrpcap(str(tmp_path / "w.pcap"), pkts)
    records, m = run(classifier, tmp_path / "w.pcap")
    assert m.stats.packets == 1 and records[0]["server_port"] == 53


def test_partial_hellos_held_at_once_are_bounded(classifier):
    """Connections that send only the first half of a split hello hold a buffer each; beyond
    ``max_held`` the monitor gives up on new ones instead of growing."""
    import pcap_builders as b
    from scapy.layers.inet import TCP

    hello = b.records(b.chromium_hello("www.dropbox.com", sni_last=True))
    frames = []
    for i in range(40):
        ip = IP(src=f"10.30.9.{i + 1}", dst="162.125.1.20")
        frames.append((1000.0 + i * 0.01, bytes(Ether(src=MAC, dst=MAC) / ip / TCP(
            sport=50000 + i, dport=443, flags="S", seq=100))))
        frames.append((1000.0 + i * 0.01 + 0.001, bytes(Ether(src=MAC, dst=MAC) / ip / TCP(
            sport=50000 + i, dport=443, flags="PA", seq=101) / Raw(hello[:1000]))))
    out: list = []
    m = Monitor(classifier, out.append, max_held=10)
    m.feed(frames)
    assert m._held == 10 and m.stats.inspect_gave_up == 30
    m.flush()
    assert m._held == 0 and len(out) == 40
    assert not any(r.server_name for r in out)         # no hello was ever complete


def test_hello_in_a_fast_open_syn(classifier):
    """TCP Fast Open carries the ClientHello in the SYN; its data starts at ISN + 1."""
    import pcap_builders as b
    from scapy.layers.inet import TCP

    hello = b.openssl_hello("www.dropbox.com")
    ip, back = IP(src="10.30.9.1", dst="162.125.1.20"), IP(src="162.125.1.20", dst="10.30.9.1")
    eth = Ether(src=MAC, dst=MAC)
    frames = [(1000.0, bytes(eth / ip / TCP(sport=50000, dport=443, flags="S", seq=100)
                             / Raw(hello))),
              (1000.01, bytes(eth / back / TCP(sport=443, dport=50000, flags="SA", seq=7,
                                               ack=101 + len(hello))))]
    out: list = []
    m = Monitor(classifier, out.append)
    m.feed(frames)
    m.flush()
    assert out[0].server_name == "www.dropbox.com" and out[0].bytes_up == len(hello)
