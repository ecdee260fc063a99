"""ECS 8.x mapping of incidents (pure)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from incident_factory import RAW_FORMS, build_incident

from agent.store.ecs import ECS_VERSION, to_ecs


def test_core_fields_of_a_block(make_incident):
    inc = make_incident(time=1795765411.5, files=[
        {"where": "multipart:file=Payroll Q3.XLSX", "name": "Payroll Q3.XLSX", "type": "xlsx",
         "size": 5120}])
    doc = to_ecs(inc, agent_version="9.9.9")
    assert doc["@timestamp"] == "2026-11-27T07:43:31.500Z"
    assert doc["ecs"]["version"] == ECS_VERSION and ECS_VERSION.startswith("8.")
    ev = doc["event"]
    assert ev["kind"] == "alert" and ev["category"] == ["network"] and ev["type"] == ["denied"]
    assert ev["action"] == "block" and ev["outcome"] == "failure" and ev["id"] == inc.id
    assert ev["severity"] == 3 and ev["risk_score"] == 73
    assert doc["rule"] == {"id": inc.rule, "name": inc.rule, "description": inc.description,
                           "reference": "WC-P17-001 §6", "ruleset": "WC-P17-001"}
    assert doc["user"] == {"name": "jdoe"}
    assert doc["source"] == {"ip": "10.20.1.5"}
    assert doc["url"] == {"domain": "graph.facebook.com", "path": "/me/feed"}
    assert doc["http"]["request"] == {"method": "POST", "body": {"bytes": 2048}}
    assert doc["observer"]["name"] == "proxy-a" and doc["observer"]["version"] == "9.9.9"
    assert doc["observer"]["type"] == "proxy"
    assert doc["labels"] == {"department": "finance", "app": "facebook",
                             "app_category": "social_media"}
    assert doc["file"] == {"name": "Payroll Q3.XLSX", "extension": "xlsx", "size": 5120}
    assert doc["related"]["hash"] == sorted(inc.detections[0]["hashes"])
    assert doc["dlp"]["detections"][0]["samples"] == inc.detections[0]["samples"]
    assert doc["dlp"]["detection_types"] == ["SSN"]


@pytest.mark.parametrize("action,etype,outcome", [
    ("block", ["denied"], "failure"),
    ("alert", ["allowed"], "unknown"),
    ("log", ["allowed"], "unknown"),
    ("allow", ["allowed"], "unknown"),       # allowed under an exception
])
def test_action_mapping(make_incident, action, etype, outcome):
    ev = to_ecs(make_incident(action=action))["event"]
    assert (ev["type"], ev["outcome"], ev["action"]) == (etype, outcome, action)


@pytest.mark.parametrize("severity,rank,score", [
    ("low", 1, 21), ("medium", 2, 47), ("high", 3, 73), ("critical", 4, 99)])
def test_severity_mapping(make_incident, severity, rank, score):
    ev = to_ecs(make_incident(severity=severity))["event"]
    assert (ev["severity"], ev["risk_score"]) == (rank, score)


@pytest.mark.parametrize("client_ip,expect", [
    ("10.20.1.5", "10.20.1.5"),
    ("fd00:20::7", "fd00:20::7"),
    ("", None),                  # unknown peer: omit rather than index an invalid ip
    ("unknown", None),
])
def test_source_ip_only_when_valid(make_incident, client_ip, expect):
    doc = to_ecs(make_incident(client_ip=client_ip))
    assert doc.get("source", {}).get("ip") == expect


@pytest.mark.parametrize("files,expect", [
    ([], None),
    ([{"where": "body", "name": None, "type": "csv", "size": 10}], {"size": 10}),
    ([{"where": "a", "name": "a.pdf", "type": "pdf", "size": 1},
      {"where": "b", "name": "b.pdf", "type": "pdf", "size": 2}], None),   # ECS file is single
])
def test_file_fields(make_incident, files, expect):
    doc = to_ecs(make_incident(files=files))
    assert doc.get("file") == expect
    assert doc["dlp"]["files"] == files


def test_exception_is_tagged(make_incident):
    doc = to_ecs(make_incident(action="allow", exception="EXC-2026-004"))
    assert "dlp-exception" in doc["tags"] and doc["dlp"]["exception"] == "EXC-2026-004"


def test_no_raw_values_and_no_dotted_keys():
    doc = to_ecs(build_incident())
    text = json.dumps(doc, ensure_ascii=False)
    assert not [r for r in RAW_FORMS if r in text]

    def keys(d):
        for k, v in d.items():
            yield k
            if isinstance(v, dict):
                yield from keys(v)
    # nested objects throughout, never "a.b" keys a SIEM would read differently
    assert not [k for k in keys(doc) if "." in k]
    datetime.fromisoformat(doc["@timestamp"])
