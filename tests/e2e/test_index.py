"""Exact data match through the proxy: an upload carrying rows of a protected County table is
recognised (EDM:<dataset>) and blocked by a rule on the count of matched rows."""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import subprocess

from harness import DLP_AGENT, ROOT, start_agent, stop
from test_inline import send


def test_edm_rows_in_an_upload_are_blocked(tmp_path, fakenet):
    rng = random.Random(5)
    first = ["Maria", "James", "Aisha", "Robert", "Chen", "Linda", "Jose", "Fatima", "David", "Grace"]
    last = ["Garcia", "Smith", "Khan", "Johnson", "Wong", "Brown", "Lopez", "Ali", "Miller", "Okafor"]
    rows = [(f"{rng.choice(first)} {rng.choice(last)}{i}", f"19{rng.randint(40, 99)}-{rng.randint(1, 12):02d}-"
             f"{rng.randint(1, 28):02d}", f"CL-{100000 + i}") for i in range(2000)]
    table = tmp_path / "clerk.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["full_name", "date_of_birth", "case_number"])
        w.writerows(rows)
    key = tmp_path / "fp.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    index = tmp_path / "idx"
    subprocess.run([DLP_AGENT, "fingerprint", "records", "--dataset", "clerk_records", "--key-file", str(key),
                    "--out", str(index), str(table)], check=True, capture_output=True)
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "edm.yaml").write_text(
        "rules:\n  - id: clerk-records-copy\n    description: Rows of the County Clerk's records leaving the County\n"
        "    policy_ref: WC-P17-001 §11\n    severity: critical\n    action: block\n"
        "    match: {not_categories: [county], activity: [body], detections: ['EDM:clerk_records >= 10']}\n")
    a = start_agent(tmp_path, fakenet, rules=rules,
                    args=["--index", str(index), "--index-key-file", str(key)])
    try:
        # 12 rows, reformatted ("Last, First", other date format), in a JSON body
        picked = rng.sample(rows, 12)
        body = io.StringIO()
        for name, dob, case in picked:
            fn, ln = name.split(" ", 1)
            y, m, d = dob.split("-")
            body.write(f"{ln}, {fn} born {m}/{d}/{y} case {case}\n")
        r = send(a, "POST", "https://forms.example.net/upload", body.getvalue().encode(),
                 {"Content-Type": "text/plain", "Accept": "application/json"})
        assert r.status == 403 and r.json()["rule"] == "clerk-records-copy", r.body
        # unrelated people of the same shape pass
        other = "".join(f"Otherperson, Someone{i} born 01/02/1970 case XX-{i}\n" for i in range(12))
        assert send(a, "POST", "https://forms.example.net/upload", other.encode(),
                    {"Content-Type": "text/plain"}).status == 200
        assert a.metric("dlp_detections_total", type="EDM:clerk_records", app="other") >= 10
    finally:
        stop(a.proc)
