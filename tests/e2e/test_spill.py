"""The proxy spills the text of large uploads into its spool directory (the upload-session one)
and still finds what is at the very end; nothing is left on disk or open afterwards."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from harness import DLP_AGENT, send, start_agent, stop

SSN = "219-44-1234"


def big_docx() -> bytes:
    """About 2.5 MB of text that deflates poorly (so the upload goes to a worker process),
    the SSN in the last paragraph."""
    import docx

    rnd = random.Random(11)
    d = docx.Document()
    for _ in range(400):
        d.add_paragraph(" ".join(f"permit {rnd.getrandbits(48):012x}" for _ in range(300)))
    d.add_paragraph(f"Maria Lopez, SSN {SSN}")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def open_files_under(directory: Path) -> list[str]:
    """Descriptors of any process of ours on files in ``directory`` (unnamed ones included)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(str(directory) + "/"):
                    found.append(f"{pid}:{target}")
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def spool(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spill") / "spool"


@pytest.fixture(scope="module")
def agent(tmp_path_factory, fakenet, spool):
    cfg = tmp_path_factory.mktemp("cfg") / "config.yaml"
    cfg.write_text(f"spool_dir: {spool}\nlimits:\n  memory_text_bytes: 65536\n")
    a = start_agent(tmp_path_factory.mktemp("agent"), fakenet,
                    args=["--set", "proxyauth=any", "--config", str(cfg)])
    yield a
    stop(a.proc)


def test_large_upload_is_spilled_inspected_whole_and_cleaned_up(agent, fakenet, spool):
    body = big_docx()
    assert len(body) > 512 * 1024          # inspected in a worker process
    r = send(agent, "POST", "https://content.dropboxapi.com/2/files/upload", body,
             {"Content-Type": "application/octet-stream", "Dropbox-API-Arg": '{"path": "/p.docx"}',
              "Accept": "application/json"}, auth=("jdoe", "pw"), timeout=60)
    assert r.status == 403 and r.json()["rule"] == "file-sharing-upload"
    out = subprocess.run([DLP_AGENT, "incidents", "list", "--db", str(agent.db), "--format", "jsonl"],
                         capture_output=True, text=True, check=True)
    inc = next(json.loads(line) for line in out.stdout.splitlines()
               if json.loads(line)["id"] == r.json()["incident_id"])
    ssn = next(d for d in inc["detections"] if d["type"] == "SSN")
    assert ssn["count"] == 1 and ssn["where"] == ["part:body"]
    assert "size_limit" not in json.dumps(inc)
    assert [p for p in spool.iterdir() if not p.is_dir()] == []   # spill files have no name
    assert open_files_under(spool) == []
    # operators see the disk the spilling used
    assert agent.metric("dlp_inspection_spilled_bytes_total") > 1_000_000


@pytest.mark.parametrize("config, spill_dir", [
    ({"db": "/srv/dlp/dlp.sqlite"}, "/srv/dlp/sessions"),
    ({"db": "/srv/dlp/dlp.sqlite", "spool_dir": "/var/spool/dlp"}, "/var/spool/dlp"),
])
def test_inspection_limits_spill_into_the_session_spool_directory(config, spill_dir):
    from agent.addon import DlpAddon
    from agent.config import AgentConfig, LimitsConfig

    cfg = AgentConfig(**config, limits=LimitsConfig(memory_text_bytes=1 << 20, max_spilled_bytes=1 << 30))
    limits = DlpAddon()._build_state(cfg).inspector.limits   # also what worker processes get
    assert (limits.spill_dir, limits.memory_text_bytes, limits.max_spilled_bytes) == \
        (spill_dir, 1 << 20, 1 << 30)
