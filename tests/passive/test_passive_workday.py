"""The benchmark's workday capture at small scale: every ClientHello (direct, split, proxy
upstream, QUIC) found per connection, and the same name sets as tshark when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from workday import Workday

from agent.passive.monitor import Monitor
from agent.passive.pcapfile import CaptureFile


@pytest.fixture(scope="module")
def workday(tmp_path_factory):
    path = tmp_path_factory.mktemp("workday") / "w.pcap"
    truth = Workday(seed=5).write(path, 30_000)
    return path, truth


def _records(classifier, path: Path, fast: bool) -> list:
    out: list = []
    m = Monitor(classifier, out.append)
    if fast:
        CaptureFile(path).replay(m)
        m.flush()
    else:
        m.run(CaptureFile(path).batches())
    return out


def test_every_hello_found_per_connection(classifier, workday):
    path, truth = workday
    recs = _records(classifier, path, fast=True)
    hellos = {(r.client_ip, r.client_port, r.server_name) for r in recs
              if r.name_source in ("sni", "quic_sni")}
    assert hellos == set(truth.hellos)
    assert truth.split_hellos > 50 and truth.quic > 10 and truth.proxied > 50
    assert {r.dns_query for r in recs if r.dns_query} == truth.dns_queries
    assert {r.server_name for r in recs if r.name_source == "connect"} == truth.connect_hosts
    assert {r.server_name for r in recs if r.name_source == "http_host"} == truth.http_hosts
    # the proxy's connections are never bypasses; proxied clients never resolve names
    assert not [r for r in recs if r.bypass and r.via_proxy]
    assert all(r.department == "proxy" for r in recs if r.client_ip == "10.0.0.2")
    assert sum(r.pkts_up + r.pkts_down for r in recs) == truth.packets


def test_fast_and_general_paths_agree(classifier, workday):
    path, _ = workday
    fast = [r.to_json() for r in _records(classifier, path, fast=True)]
    general = [r.to_json() for r in _records(classifier, path, fast=False)]
    assert fast == general


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed (Debian package)")
def test_same_names_as_tshark(classifier, workday):
    path, truth = workday
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-E", "separator=/t",
                          "-e", "tls.handshake.extensions_server_name", "-e", "dns.qry.name",
                          "-Y", "tls.handshake.type == 1 || dns.flags.response == 0"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    sni, dns = set(), set()
    for line in out.splitlines():
        a, _, b = line.partition("\t")
        sni.update(filter(None, a.split(",")))
        dns.update(filter(None, b.split(",")))
    recs = _records(classifier, path, fast=True)
    assert sni == {r.server_name for r in recs if r.name_source in ("sni", "quic_sni")}
    assert dns == {r.dns_query for r in recs if r.dns_query}
