"""Crash safety: SIGKILL the writing process mid-stream; nothing acknowledged may be missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from incident_factory import build_incident

from agent.store import Reader, Store

CHILD = Path(__file__).with_name("crash_writer.py")
ROUNDS = 3
ACKS_BEFORE_KILL = 300


def run_and_kill(db: Path) -> set[str]:
    """Start the child, SIGKILL it after some acknowledgements; return every id it printed."""
    p = subprocess.Popen([sys.executable, str(CHILD), str(db)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    acked: set[str] = set()
    try:
        while len(acked) < ACKS_BEFORE_KILL:
            line = p.stdout.readline()
            if not line:
                raise AssertionError(f"child ended early: {p.stderr.read().decode()[-2000:]}")
            acked.add(line.decode().strip())
        os.kill(p.pid, signal.SIGKILL)
        p.wait(30)
        # Lines already in the pipe were printed - acknowledged - before the kill, too.
        # A torn last line (no newline) was never a complete acknowledgement.
        rest = p.stdout.read().decode()
        acked.update(line for line in rest.split("\n")[:-1] if line)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(30)
        p.stdout.close()
        p.stderr.close()
    assert p.returncode == -signal.SIGKILL
    return acked


def test_sigkill_loses_nothing_acknowledged(tmp_path):
    db = tmp_path / "incidents.db"
    all_acked: set[str] = set()
    for _ in range(ROUNDS):
        acked = run_and_kill(db)
        # killed with a live WAL: recovery from it is what is being tested
        assert Path(f"{db}-wal").exists()
        # a read-only reader first (what an analyst would run right after the crash) ...
        with Reader(db) as r:
            stored = {row[0] for row in r.execute("SELECT id FROM incidents")}
            assert r.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        missing = acked - stored
        assert not missing, f"{len(missing)} acknowledged incidents lost: {sorted(missing)[:3]}"
        all_acked |= acked
    # ... then the agent restarting on the same file: it opens, writes, and keeps everything.
    with Store.open(db) as s:
        after = build_incident()
        s.add_incident(after)
    with Reader(db) as r:
        stored = {row[0] for row in r.execute("SELECT id FROM incidents")}
        assert r.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert all_acked | {after.id} <= stored
