"""`dlp-agent sniff` end to end: the real command in a subprocess on the generated captures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_passive_monitor import check

ROOT = Path(__file__).resolve().parents[2]
# the installed console script, as operators run it (make setup puts it next to the interpreter)
AGENT = [str(Path(sys.executable).parent / "dlp-agent"), "sniff"]


def sniff(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AGENT, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          **kw)


@pytest.mark.parametrize("name", ["passive.pcap", "passive.pcapng"])
def test_jsonl_matches_ground_truth(capture_dir, truth, name):
    r = sniff("--pcap", str(capture_dir / name), "--directory", str(capture_dir / "directory.yaml"),
              "--proxy", "10.0.0.2:3128", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    check(records, truth)
    assert all(rec["source"] == "passive" and rec["uid"].startswith("C") for rec in records)
    assert "535 packets, 30 connections" in r.stderr
    assert "\r" not in r.stderr                       # no progress bar when stderr is not a tty


def test_output_file_and_stable_uids(capture_dir, tmp_path):
    args = ["--pcap", str(capture_dir / "passive.pcap"), "--proxy", "10.0.0.2:3128"]
    r = sniff(*args, "--output", str(tmp_path / "out.jsonl"))
    assert r.returncode == 0 and r.stdout == ""
    again = sniff(*args)
    assert (tmp_path / "out.jsonl").read_text() == again.stdout   # deterministic per capture


def test_without_proxy_the_proxied_upload_is_not_hidden(capture_dir):
    """Without --proxy, the proxy's own upstream Dropbox upload is a bypass from 'unassigned'."""
    r = sniff("--pcap", str(capture_dir / "passive.pcap"), "--directory",
              str(capture_dir / "directory.yaml"))
    recs = {(x["client_ip"], x["client_port"]): x for x in map(json.loads, r.stdout.splitlines())}
    upstream = recs[("10.0.0.2", 61000)]
    assert upstream["bypass"] and not upstream["via_proxy"]
    assert upstream["department"] == "unassigned"


def test_bypass_categories_option(capture_dir):
    r = sniff("--pcap", str(capture_dir / "passive.pcap"), "--bypass-categories", "paste")
    recs = list(map(json.loads, r.stdout.splitlines()))
    assert {x["app"] for x in recs if x["bypass"]} == {"pastebin"}


@pytest.mark.parametrize("args,message", [
    (["--pcap", "/nonexistent/x.pcap"], "cannot read /nonexistent/x.pcap"),
    (["--pcap", "README.md"], "not a pcap or pcapng file"),
    (["--pcap", "{pcap}", "--proxy", "proxy.county.local:3128"], "is not an IP address"),
    (["--pcap", "{pcap}", "--proxy", "10.0.0.2"], "expected ADDR:PORT"),
    (["--pcap", "{pcap}", "--bypass-categories", "gambling"],
     "unknown bypass categories: gambling"),
    (["--pcap", "{pcap}", "--directory", "/nonexistent.yaml"], "/nonexistent.yaml"),
    (["--iface", "nosuch0"], "no network interface 'nosuch0'"),
    (["--iface", "lo", "--bpf", "tcp port banana"], "cannot use BPF filter"),
])
def test_bad_usage_exits_2_naming_the_problem(capture_dir, args, message):
    r = sniff(*[a.replace("{pcap}", str(capture_dir / "passive.pcap")) for a in args])
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_missing_capture_privileges_exit_2():
    """Without CAP_NET_RAW the command says what is needed and exits 2."""
    cmd = [*AGENT, "--iface", "lo"]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux setpriv: cannot drop CAP_NET_RAW")
        cmd = [setpriv, "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "needs the CAP_NET_RAW capability" in r.stderr and "Traceback" not in r.stderr


def test_progress_bar_only_on_a_terminal(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    from workday import Workday

    pcap = tmp_path / "big.pcap"
    Workday(seed=2).write(pcap, 12_000)
    assert pcap.stat().st_size > 8 << 20                # above the bar's threshold
    master, slave = pty.openpty()
    # a real terminal has a size; tqdm draws nothing in 0 columns
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    p = subprocess.Popen([*AGENT, "--pcap", str(pcap), "--format", "none"], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:                                  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.wait(timeout=60) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert "sniff:" in text and "%" in text and "12000 packets" in text
    # and without a terminal, the same file draws nothing
    r = sniff("--pcap", str(pcap), "--format", "none")
    assert "%" not in r.stderr and "12000 packets" in r.stderr


def test_usage_goes_to_the_agent_database_marked_passive(capture_dir, tmp_path):
    """--db: connections that did not go through the proxy become usage rows (source passive),
    with the same bytes the records carry; proxied connections are left to the proxy."""
    import sqlite3

    db = tmp_path / "dlp.sqlite"
    r = sniff("--pcap", str(capture_dir / "passive.pcap"), "--directory", str(capture_dir / "directory.yaml"),
              "--proxy", "10.0.0.2:3128", "--format", "jsonl", "--db", str(db))
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    direct = [x for x in records if not x["via_proxy"]]
    assert direct and len(direct) < len(records)
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT na.name, nd.name, sum(u.requests), sum(u.bytes_up), sum(u.bytes_down), sum(u.active_s), "
        "min(u.source), max(u.source) FROM usage_hourly u JOIN names na ON na.id = u.app_id "
        "JOIN names nd ON nd.id = u.department_id GROUP BY na.name, nd.name").fetchall()
    got = {(app, dept): (n, up, down, act) for app, dept, n, up, down, act, s0, s1 in rows}
    assert all(s0 == s1 == 1 for *_, s0, s1 in rows)          # every row marked passive
    want: dict = {}
    for x in direct:
        k = (x["app"], x["department"])
        n, up, down, act = want.get(k, (0, 0, 0, 0.0))
        want[k] = (n + 1, up + x["bytes_up"], down + x["bytes_down"], act + x["active_seconds"])
    assert set(got) == set(want)
    for k, (n, up, down, act) in want.items():
        assert got[k][:3] == (n, up, down) and abs(got[k][3] - act) < 0.01, k
