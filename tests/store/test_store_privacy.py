"""Evidence at rest: what the inspection summary hands the store is all that reaches the disk."""

from __future__ import annotations

from pathlib import Path

from incident_factory import HASHER, build_incident

from agent.detect import entities as E
from agent.detect.model import Finding
from agent.extract.model import FileInfo, Segment, Uninspectable
from agent.inspect import summarize
from agent.store import Store

RAW_SSNS = ["078051120", "219099999", "457555462"]
RAW_CARD = "4111111111111111"


def inspection_summary():
    """Real findings over a real segment, summarised by the agent's own summarize()."""
    text = (" ".join(f"{s[:3]}-{s[3:5]}-{s[5:]}" for s in RAW_SSNS) + " " + RAW_CARD).encode()
    segments = [Segment(text, "multipart:file=clients.csv")]
    findings = [Finding(E.SSN, 0, 0, 11, 0.9, "format", s) for s in RAW_SSNS]
    findings += [Finding(E.SSN, 0, 0, 11, 0.9, "format", RAW_SSNS[0])]       # a repeat
    findings += [Finding(E.CREDIT_CARD, 0, 36, 52, 0.9, "checksum", RAW_CARD)]
    return summarize(findings, segments, HASHER)


def raw_forms() -> list[bytes]:
    forms = [RAW_CARD]
    for s in RAW_SSNS:
        forms += [s, f"{s[:3]}-{s[3:5]}-{s[5:]}"]
    return [f.encode() for f in forms]


def test_summaries_round_trip_and_no_raw_value_reaches_any_file(tmp_path):
    db = tmp_path / "incidents.db"
    detections = inspection_summary()
    inc = build_incident(
        detections=list(detections.values()),                 # the Detection objects as-is
        files=[FileInfo("multipart:file=clients.csv", "clients.csv", "csv", 140)],
        uninspectable=[Uninspectable("encrypted", "zip:b.zip", "entry 2")])
    store = Store.open(db)
    store.start()
    store.add_incident(inc)
    stored = store.get_incident(inc.id)
    ssn = next(d for d in stored.detections if d["type"] == E.SSN)
    assert (ssn["count"], ssn["distinct"]) == (4, 3)
    assert ssn["samples"] == ["***-**-1120", "***-**-9999", "***-**-5462"]
    assert ssn["hashes"] == [HASHER.digest(E.SSN, s) for s in RAW_SSNS]
    assert ssn["verdicts"] == {"format": 4}
    assert stored.detections == [d.to_dict() for d in detections.values()]
    # Check every byte on disk while the WAL is live, then again after close (checkpointed).
    for phase in ("live", "closed"):
        if phase == "closed":
            store.close()
        files = [p for p in tmp_path.iterdir() if p.name.startswith("incidents.db")]
        assert Path(f"{db}-wal") in files or phase == "closed"
        for p in files:
            data = p.read_bytes()
            assert not [f for f in raw_forms() if f in data], f"raw value in {p.name} ({phase})"
            if p == db and phase == "closed":
                assert b"***-**-1120" in data              # the masked evidence is there
