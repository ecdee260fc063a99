"""Passive monitor throughput: `dlp-agent sniff --pcap` next to `tshark -T fields` on the same
1,000,000-packet workday capture, in the same run.

The capture (tests/passive/workday.py) is the mix passive.md describes: 200 clients, DNS, TLS
1.2/1.3 ClientHellos (half Chromium-sized, split over two segments), plain HTTP, QUIC v1 with
real Initial protection, bulk transfers, an 802.1Q VLAN, an explicit proxy. Both tools extract
the same answers (TLS/QUIC SNI, DNS query names, HTTP hosts); the sets are compared with each
other and with the generator's ground truth. Peak RSS is the child's ru_maxrss (os.wait4).
Targets (issue 6): >= 5x tshark's packets/s with the same answers, peak RSS <= 100 MB.
Prints figures and PASS/FAIL; exits 0 either way.

    .venv/bin/python bench/bench_sniff.py [--packets 1000000] [--keep DIR] [--rounds 1]

tshark is Debian's package; if it is missing the script tries
`DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark` (as root),
and otherwise prints that the comparison is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKDAY = ROOT / "tests" / "passive" / "workday.py"
PROXY = "10.0.0.2:3128"          # workday.PROXY_IP:PROXY_PORT

TARGET_RATIO = 5.0
TARGET_RSS_MB = 100.0
TSHARK_FIELDS = ["ip.src", "tcp.srcport", "udp.srcport", "tls.handshake.extensions_server_name",
                 "dns.qry.name", "http.host"]
TSHARK_FILTER = "tls.handshake.type == 1 || dns.flags.response == 0 || http.request"


def measure(cmd: list[str], stdout_path: Path,
            env: dict[str, str] | None = None) -> tuple[float, float, float, int, str]:
    """Run ``cmd``; (wall seconds, CPU seconds, peak RSS MB, exit status, stderr).

    ru_maxrss also covers the child between fork and exec, when it is a copy of this process:
    that is why the capture is generated in a separate process and this one stays small.
    """
    with open(stdout_path, "wb") as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env=env)
        _pid, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return (wall, cpu, usage.ru_maxrss / 1024, p.returncode,
                err.read().decode(errors="replace"))


def ensure_tshark() -> str | None:
    found = shutil.which("tshark")
    if found:
        return found
    cmd = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"tshark is not installed and cannot be installed here ({cmd} needs root and apt):"
              " skipping the comparison")
        return None
    print(f"tshark missing: {cmd}")
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if r.returncode != 0 or not shutil.which("tshark"):
        print(f"installing tshark failed ({r.stderr.strip()[-300:]}): skipping the comparison")
        return None
    return shutil.which("tshark")


def ours(records_path: Path) -> dict[str, set[str] | int]:
    sni: set[str] = set()
    dns: set[str] = set()
    http: set[str] = set()
    hellos: set[tuple[str, int, str]] = set()
    direct = 0
    for line in records_path.open():
        r = json.loads(line)
        src = r.get("name_source")
        if src in ("sni", "quic_sni"):
            sni.add(r["server_name"])
            hellos.add((r["client_ip"], r["client_port"], r["server_name"]))
            direct += src == "sni" and r["proxy_role"] == "direct"
        elif src == "connect":
            sni.add(r["server_name"])        # the tunnelled hello names the same host
            http.add(r["server_name"])       # tshark reports the CONNECT request's Host too
        elif src == "http_host":
            http.add(r["server_name"])
        if r.get("dns_query"):
            dns.add(r["dns_query"])
    return {"sni": sni, "dns": dns, "http": http, "hellos": hellos, "direct_tls": direct}


def score_hellos(label: str, found: set, truth: set) -> None:
    missed, extra = truth - found, found - truth
    print(f"  {label:<7} found {len(found & truth)}/{len(truth)} ClientHellos of the ground truth"
          f" ({len(found & truth) / max(1, len(truth)):.2%}), {len(extra)} not in it"
          + (f"; missed e.g. {sorted(missed)[:3]}" if missed else ""))


def theirs(tsv: Path) -> dict[str, set]:
    sni: set[str] = set()
    dns: set[str] = set()
    http: set[str] = set()
    hellos: set[tuple[str, int, str]] = set()
    for line in tsv.open(encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        f += [""] * (6 - len(f))
        src, tport, uport = f[0], f[1], f[2]
        if f[3]:
            names = [x.lower() for x in f[3].split(",")]
            sni.update(names)
            port = (tport or uport).split(",")[0]
            if port.isdigit():
                hellos.add((src.split(",")[0], int(port), names[0]))
        if f[4]:
            dns.update(x.lower() for x in f[4].split(","))
        if f[5]:
            for h in f[5].split(","):
                host, _, port = h.rpartition(":")
                http.add((host if port.isdigit() and host else h).lower())
    return {"sni": sni, "dns": dns, "http": http, "hellos": hellos}


def compare(name: str, a: set[str], b: set[str], truth: set[str]) -> bool:
    both = a & b
    agree = len(both) / len(a | b) if a | b else 1.0
    print(f"  {name:<10} ours {len(a):>4}  tshark {len(b):>4}  both {len(both):>4}  "
          f"agreement {agree:.1%}  ours=truth {a == truth}  tshark=truth {b == truth}")
    if a != b:
        print(f"    only ours: {sorted(a - b)[:8]}  only tshark: {sorted(b - a)[:8]}")
    return a == b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="write the capture and outputs here and keep them")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each tool (best is reported)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_sniff_"))
    work.mkdir(parents=True, exist_ok=True)
    pcap = work / "workday.pcap"
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(WORKDAY), str(pcap), str(args.packets), "--truth",
                        str(work / "truth.json")], check=True, capture_output=True, cwd=ROOT)
        truth = json.loads((work / "truth.json").read_text())
        print(f"capture: {truth['packets']:,} packets, {pcap.stat().st_size / 1e6:,.0f} MB, "
              f"{truth['direct_tls']} direct TLS ({truth['split_hellos']} split hellos), "
              f"{truth['quic']} QUIC, {truth['proxied']} proxied, {len(truth['dns_queries'])} "
              f"names (generated in {time.perf_counter() - t0:.1f} s)")
        packets = truth["packets"]
        true_hellos = {(c, p, n) for c, p, n in truth["hellos"]}
        agent = str(Path(sys.executable).parent / "dlp-agent")
        sniff_cmd = [agent, "sniff", "--pcap", str(pcap), "--proxy", PROXY, "--format", "jsonl"]
        # Measure a deployed start: an installed package has its bytecode compiled, while a
        # PYTHONDONTWRITEBYTECODE environment recompiles every module on every run. Cache the
        # bytecode outside the tree and warm it once.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        subprocess.run([agent, "sniff", "--help"], env=env, cwd=ROOT, capture_output=True)
        tshark = ensure_tshark()
        tshark_cmd = ([tshark, "-r", str(pcap), "-T", "fields", "-E", "separator=/t",
                       *sum((["-e", f] for f in TSHARK_FIELDS), []), "-Y", TSHARK_FILTER]
                      if tshark else None)
        runs_ours, runs_theirs = [], []
        for _ in range(args.rounds):
            wall, cpu, rss, rc, err = measure(sniff_cmd, work / "sniff.jsonl", env)
            if rc != 0:
                print(f"dlp-agent sniff failed ({rc}): {err}")
                return 0
            runs_ours.append((wall, cpu, rss, err.strip().splitlines()[-1]))
            if tshark_cmd:
                wall_t, cpu_t, rss_t, rc_t, err_t = measure(tshark_cmd, work / "tshark.tsv")
                if rc_t != 0:
                    print(f"tshark failed ({rc_t}): {err_t[-500:]}")
                    tshark_cmd = None
                else:
                    runs_theirs.append((wall_t, cpu_t, rss_t))
        wall, cpu, rss, summary = min(runs_ours)
        pps = packets / wall
        print(f"\n$ {' '.join(sniff_cmd)} > sniff.jsonl")
        print(f"  dlp-agent sniff: {pps:>10,.0f} packets/s  ({wall:.2f} s wall incl. start-up, "
              f"{cpu:.2f} s CPU)  peak RSS {rss:.0f} MB\n  [{summary}]")
        mine = ours(work / "sniff.jsonl")
        rss_ok = max(r for _w, _c, r, _s in runs_ours) <= TARGET_RSS_MB
        found = mine["direct_tls"] / truth["direct_tls"] if truth["direct_tls"] else 1.0
        print(f"  direct TLS connections found: {mine['direct_tls']}/{truth['direct_tls']} "
              f"({found:.1%})")
        if not runs_theirs:
            print(f"\nno tshark comparison. RSS target (<= {TARGET_RSS_MB:.0f} MB): "
                  f"{'PASS' if rss_ok else 'FAIL'}")
            return 0
        wall_t, cpu_t, rss_t = min(runs_theirs)
        pps_t = packets / wall_t
        print(f"\n$ {' '.join(tshark_cmd or [])} > tshark.tsv")
        print(f"  tshark -T fields: {pps_t:>10,.0f} packets/s  ({wall_t:.2f} s wall, "
              f"{cpu_t:.2f} s CPU)  peak RSS {rss_t:.0f} MB")
        other = theirs(work / "tshark.tsv")
        print("\nanswers (sets of names):")
        same = [
            compare("SNI", mine["sni"], other["sni"], set(truth["tls_snis"] + truth["quic_snis"])),
            compare("DNS qname", mine["dns"], other["dns"], set(truth["dns_queries"])),
            compare("HTTP host", mine["http"], other["http"],
                    set(truth["http_hosts"] + truth["connect_hosts"])),
        ]
        print("per connection (client, port, SNI) of direct, proxy-upstream and QUIC hellos:")
        score_hellos("ours", mine["hellos"], true_hellos)
        score_hellos("tshark", other["hellos"], true_hellos)
        ratio = pps / pps_t
        load = os.getloadavg()[0]
        print(f"\nspeed: {ratio:.1f}x tshark by wall clock (target >= {TARGET_RATIO:.0f}x): "
              f"{'PASS' if ratio >= TARGET_RATIO else 'FAIL'};  {cpu_t / cpu:.1f}x by CPU time")
        if load > os.cpu_count() * 0.75:
            print(f"  (load average {load:.1f} on {os.cpu_count()} CPUs: other work shares the "
                  "machine, wall-clock figures are inflated; the CPU-time ratio is steadier)")
        print(f"peak RSS: {rss:.0f} MB vs tshark {rss_t:.0f} MB "
              f"(target <= {TARGET_RSS_MB:.0f} MB): {'PASS' if rss_ok else 'FAIL'}")
        print(f"same answers as tshark: {'PASS' if all(same) else 'FAIL'}")
        if len(runs_ours) > 1:
            print("all runs (wall/CPU/RSS): ours "
                  + ", ".join(f"{w:.2f}s/{c:.2f}s/{r:.0f}MB" for w, c, r, _s in runs_ours)
                  + "; tshark "
                  + ", ".join(f"{w:.2f}s/{c:.2f}s/{r:.0f}MB" for w, c, r in runs_theirs))
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
