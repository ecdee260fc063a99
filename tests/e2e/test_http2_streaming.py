"""HTTP/2 uploads without a content-length (curl -T -, browser upload streams) are streamed and
inspected like chunked HTTP/1 uploads: bounded proxy memory, cut off on a block rule; requests
whose headers end the stream (no body) keep the ordinary path."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest
from harness import DLP_AGENT, start_agent, stop

MiB = 1 << 20
LINE = b"quarterly inventory of county road salt and plow schedules, no personal data\n"


@pytest.fixture(scope="module")
def agent(tmp_path_factory, fakenet):
    a = start_agent(tmp_path_factory.mktemp("h2agent"), fakenet)
    yield a
    stop(a.proc)


def vm(pid: int, field: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


def h2_upload(agent, url: str, body: bytes | None, method: str = "POST") -> tuple[int, str, str]:
    """curl over HTTP/2 through the agent; with a body, from stdin (no content-length)."""
    cmd = ["curl", "-sS", "--max-time", "120", "-x", agent.proxy, "--cacert", str(agent.ca),
           "--http2", "-X", method, "-w", "\n%{http_code} %{http_version}"]
    if body is not None:
        cmd += ["-H", "Content-Type: text/plain", "-T", "-"]
    p = subprocess.run(cmd + [url], input=body, capture_output=True, timeout=150)
    out = p.stdout.decode("utf-8", "replace")
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def arrived(fakenet, host: str) -> list[dict]:
    return [r for r in fakenet.records() if r["host"] == host]


def test_clean_unsized_h2_upload_arrives_intact_in_bounded_memory(agent, fakenet):
    total = 160 * MiB
    body = (LINE * (total // len(LINE) + 1))[:total]
    before = vm(agent.proc.pid, "VmRSS")
    code, out, err = h2_upload(agent, "https://api.example.org/v1/drafts", body)
    assert code == 0 and out.endswith("200 2"), (out[-200:], err)
    rec = arrived(fakenet, "api.example.org")[-1]
    assert rec["length"] == total and rec["sha256"] == hashlib.sha256(body).hexdigest()
    # buffered whole, the proxy grew by several times the body (1.8 GB peak for 300 MB)
    assert vm(agent.proc.pid, "VmHWM") - before < 64 * MiB


def test_unsized_h2_upload_with_ssn_is_cut_off(agent, fakenet):
    total = 48 * MiB
    body = bytearray((LINE * (total // len(LINE) + 1))[:total])
    at = total - 3 * MiB
    body[at:at + 24] = b" my SSN is 219-44-1234 "
    before = agent.metric("dlp_policy_violations_total", rule="social-confidential", action="block")
    earlier = len(arrived(fakenet, "api.x.com"))      # fakenet is shared by test modules
    code, out, err = h2_upload(agent, "https://api.x.com/2/tweets", bytes(body))
    assert code != 0 or not out.endswith("200 2"), out[-200:]
    assert len(arrived(fakenet, "api.x.com")) == earlier
    after = agent.metric("dlp_policy_violations_total", rule="social-confidential", action="block")
    assert after == before + 1


def test_h2_requests_without_a_body_take_the_ordinary_path(agent, fakenet):
    code, out, err = h2_upload(agent, "https://api.example.org/v1/ping", None, method="POST")
    assert code == 0 and out.endswith("200 2"), (out, err)
    assert arrived(fakenet, "api.example.org")[-1]["length"] == 0
    code, out, err = h2_upload(agent, "https://api.example.org/v1/feed", None, method="GET")
    assert code == 0 and out.endswith("200 2"), (out, err)


def test_unsized_h2_upload_to_a_blocked_destination_is_cut_on_its_first_bytes(agent, fakenet):
    """No content-length: whether there is a body at all is only known when it arrives, so a
    rule on the destination alone (uploads to Dropbox) fires on the first bytes."""
    body = b"harmless notes\n" * 100_000
    earlier = len(arrived(fakenet, "content.dropboxapi.com"))
    code, out, err = h2_upload(agent, "https://content.dropboxapi.com/2/files/upload", body)
    assert code != 0 or not out.endswith("200 2"), out[-200:]
    assert len(arrived(fakenet, "content.dropboxapi.com")) == earlier
    out = subprocess.run([DLP_AGENT, "incidents", "list", "--db", str(agent.db), "--format",
                          "jsonl"], capture_output=True, text=True, check=True).stdout
    inc = [json.loads(line) for line in out.splitlines()]
    cut = [i for i in inc if i["rule"] == "file-sharing-upload"][-1]
    why = " ".join(cut["why"])
    n = int(re.search(r"cut off after (\d+) bytes", why).group(1))
    assert n < 1024 * 1024 < len(body)          # at the first bytes, not at the end
