"""Retention (WC-P17-001 §9): `dlp-agent purge` deletes incidents and usage older than the
period and keeps the rest."""

import sqlite3
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from agent.store import Incident, Store, new_incident_id
from agent.store.usage import write_usage
from agent.usage_rollup import UsageDelta

DLP = str(Path(sys.executable).parent / "dlp-agent")
DAY = 86400


def test_purge_keeps_recent_records(tmp_path):
    db = tmp_path / "dlp.sqlite"
    now = time.time()
    store = Store.open(db)
    store.start()
    for age in (400, 10):
        t = now - age * DAY
        store.add_incident(Incident(id=new_incident_id(t), time=t, rule="r", severity="high", action="block"))
        store.submit(partial(write_usage, [UsageDelta("finance", int(t // DAY), "jdoe", "x", int(t // 3600),
                                                      "proxy", "social_media", active_s=60)])).result(10)
    store.close()
    p = subprocess.run([DLP, "purge", "--db", str(db), "--older-than", "365d"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "1 incidents" in p.stdout and "1 usage rows" in p.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM usage_hourly").fetchone()[0] == 1
    assert conn.execute("SELECT min(time) FROM incidents").fetchone()[0] > now - 11 * DAY


def test_purge_usage_errors(tmp_path):
    p = subprocess.run([DLP, "purge", "--db", str(tmp_path / "none.sqlite")], capture_output=True, text=True)
    assert p.returncode == 2 and "does not exist" in p.stderr
    p = subprocess.run([DLP, "purge", "--db", str(tmp_path / "x"), "--older-than", "1y"], capture_output=True, text=True)
    assert p.returncode == 2 and "365d" in p.stderr
