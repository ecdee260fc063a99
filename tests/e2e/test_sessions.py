"""Chunked upload sessions: a docx split into chunks is reassembled and inspected before the
request that commits it; a block answers the commit, so the file never materialises upstream."""

from __future__ import annotations

import io
import json
import random
import shutil

import pytest
from harness import ROOT, send, start_agent, stop

AUTH = ("jdoe", "pw")


def docx_with_ssns(n: int, seed: int) -> bytes:
    import docx

    rng = random.Random(seed)
    d = docx.Document()
    d.add_heading("Client roster", 1)
    table = d.add_table(rows=1, cols=3)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text, table.rows[0].cells[2].text = "Name", "SSN", "City"
    for i in range(n):
        r = table.add_row().cells
        r[0].text = f"Client {i}"
        r[1].text = f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        r[2].text = "Yonkers"
    d.add_paragraph("filler " * 20000)      # make it big enough for several chunks
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def clean_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("Snow plow schedule for the winter season. " * 4000)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def agent(tmp_path_factory, fakenet):
    d = tmp_path_factory.mktemp("sessions")
    rules = d / "rules"
    shutil.copytree(ROOT / "rules", rules)
    # jdoe may use Dropbox and Drive (written approval): chunks flow, content rules still apply
    (rules / "exceptions.yaml").write_text(
        "exceptions:\n  - id: EXC-TEST-1\n    description: test approval\n"
        "    approved_by: [Commissioner, CIO]\n    approved_on: 2026-01-01\n    expires: 2099-01-01\n"
        "    scope: {users: [jdoe], apps: [dropbox, google_drive, onedrive], rules: [file-sharing-upload]}\n")
    a = start_agent(d, fakenet, rules=rules, args=["--set", "proxyauth=any"])
    yield a
    stop(a.proc)


def chunks(data: bytes, n: int) -> list[tuple[int, bytes]]:
    size = -(-len(data) // n)
    size = -(-size // (256 * 1024)) * 256 * 1024 if len(data) > n * 256 * 1024 else size
    return [(i, data[i:i + size]) for i in range(0, len(data), size)]


def dropbox_session(agent, data: bytes, parts: int) -> list:
    hdr = {"Content-Type": "application/octet-stream", "Accept": "application/json"}
    pieces = chunks(data, parts)
    r = send(agent, "POST", "https://content.dropboxapi.com/2/files/upload_session/start", pieces[0][1],
             {**hdr, "Dropbox-API-Arg": json.dumps({"close": False})}, auth=AUTH)
    assert r.status == 200, r.body
    sid = r.json()["session_id"]
    replies = [r]
    for off, piece in pieces[1:]:
        replies.append(send(agent, "POST", "https://content.dropboxapi.com/2/files/upload_session/append_v2", piece,
                            {**hdr, "Dropbox-API-Arg": json.dumps({"cursor": {"session_id": sid, "offset": off},
                                                                   "close": False})}, auth=AUTH))
    replies.append(send(agent, "POST", "https://content.dropboxapi.com/2/files/upload_session/finish", b"",
                        {**hdr, "Dropbox-API-Arg": json.dumps({"cursor": {"session_id": sid, "offset": len(data)},
                                                               "commit": {"path": "/roster.docx"}})}, auth=AUTH))
    return replies


def drive_session(agent, data: bytes, parts: int) -> list:
    upload_id = f"ADPycdt{random.randint(0, 10**9)}"
    url = f"https://www.googleapis.com/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
    replies = []
    for off, piece in chunks(data, parts):
        replies.append(send(agent, "PUT", url, piece, {
            "Content-Type": "application/octet-stream", "Accept": "application/json",
            "Content-Range": f"bytes {off}-{off + len(piece) - 1}/{len(data)}"}, auth=AUTH))
    return replies


def commits(fakenet, path_part: str) -> list[dict]:
    return [r for r in fakenet.records() if path_part in r["path"]]


def test_dropbox_session_with_bulk_ssns_blocked_at_finish(agent, fakenet):
    data = docx_with_ssns(60, seed=1)
    replies = dropbox_session(agent, data, 5)
    assert all(r.status == 200 for r in replies[:-1])                     # chunks went through
    assert replies[-1].status == 403 and replies[-1].json()["rule"] == "bulk-personal-records"
    assert commits(fakenet, "upload_session/finish") == []                # never committed upstream
    assert len(commits(fakenet, "upload_session/append_v2")) >= 3


def test_drive_resumable_with_bulk_ssns_blocked_at_last_chunk(agent, fakenet):
    data = docx_with_ssns(60, seed=2)
    before = len(commits(fakenet, "upload_id="))
    replies = drive_session(agent, data, 5)
    assert [r.status for r in replies[:-1]] == [308] * (len(replies) - 1)
    assert replies[-1].status == 403 and replies[-1].json()["rule"] == "bulk-personal-records"
    got = commits(fakenet, "upload_id=")[before:]
    assert len(got) == len(replies) - 1                                   # the commit never arrived


def test_clean_sessions_commit(agent, fakenet):
    data = clean_docx()
    assert dropbox_session(agent, data, 3)[-1].status == 200
    assert commits(fakenet, "upload_session/finish")
    assert drive_session(agent, data, 3)[-1].status == 200


def test_onedrive_upload_session_blocked_at_last_range(agent, fakenet):
    """Graph createUploadSession hands out an upload URL; byte ranges PUT there are reassembled."""
    r = send(agent, "POST", "https://graph.microsoft.com/v1.0/me/drive/root:/roster.docx:/createUploadSession",
             b'{"item": {"@microsoft.graph.conflictBehavior": "replace"}}',
             {"Content-Type": "application/json", "Accept": "application/json"}, auth=AUTH)
    assert r.status == 200
    url = r.json()["uploadUrl"]
    data = docx_with_ssns(60, seed=3)
    replies = []
    for off, piece in chunks(data, 4):
        replies.append(send(agent, "PUT", url, piece, {
            "Content-Type": "application/octet-stream", "Accept": "application/json",
            "Content-Range": f"bytes {off}-{off + len(piece) - 1}/{len(data)}"}, auth=AUTH))
    assert [x.status for x in replies[:-1]] == [308] * (len(replies) - 1)
    assert replies[-1].status == 403 and replies[-1].json()["rule"] == "bulk-personal-records"
    ranges = [x for x in fakenet.records() if x["host"] == "sn3302.up.1drv.com"]
    assert len(ranges) == len(replies) - 1
