"""The Incident value: ids, validation, normalisation, row and JSON round trips."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import pytest

from agent.extract.model import FileInfo, Uninspectable
from agent.store import Incident, iso_utc, new_incident_id
from agent.store.incident import COLUMNS

ID_RE = re.compile(r"^INC-(\d{8})-[0-9A-HJKMNP-TV-Z]{8}$")   # Crockford: no I L O U


def test_id_format_and_date():
    t = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC).timestamp()
    iid = new_incident_id(t)
    m = ID_RE.match(iid)
    assert m and m.group(1) == "20261127"
    assert ID_RE.match(new_incident_id())


def test_ids_do_not_repeat():
    ids = {new_incident_id(0.0) for _ in range(20_000)}
    assert len(ids) == 20_000


def test_ids_use_all_of_the_alphabet():
    chars = set("".join(new_incident_id(0.0)[-8:] for _ in range(2000)))
    assert chars == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@pytest.mark.parametrize("t,expect", [
    (0.0, "1970-01-01T00:00:00.000Z"),
    (1795765411.5064, "2026-11-27T07:43:31.506Z"),
])
def test_iso_utc(t, expect):
    assert iso_utc(t) == expect


@pytest.mark.parametrize("path,expect", [
    ("/me/feed", "/me/feed"),
    ("/upload?ssn=078-05-1120", "/upload"),
    ("/a#frag", "/a"),
    ("/a?x=1#y", "/a"),
    ("", "/"),
])
def test_path_never_keeps_query_or_fragment(make_incident, path, expect):
    assert make_incident(path=path).path == expect


@pytest.mark.parametrize("field,value,message", [
    ("id", "", "id must be"),
    ("time", math.nan, "time must be finite"),
    ("time", "yesterday", "time must be finite"),
    ("severity", "urgent", "severity must be one of"),
])
def test_invalid_fields_are_refused(make_incident, field, value, message):
    with pytest.raises(ValueError, match=message):
        make_incident(**{field: value})


def test_detection_without_type_or_count_is_refused_without_quoting_it(make_incident):
    with pytest.raises(ValueError) as e:
        make_incident(detections=[{"count": 1, "samples": ["078-05-1120"]}])
    assert "078" not in str(e.value)


def test_detections_are_normalised_and_extras_kept(make_incident):
    inc = make_incident(detections=[{"type": "SSN", "count": 2, "confidence": "high"}])
    assert inc.detections == [{"type": "SSN", "count": 2, "distinct": 0, "samples": [],
                               "where": [], "verdicts": {}, "hashes": [], "confidence": "high"}]


def test_accepts_extraction_value_objects(make_incident):
    inc = make_incident(files=[FileInfo("multipart:file=Q3.xlsx", "Q3.xlsx", "xlsx", 5120)],
                        uninspectable=[Uninspectable("encrypted", "zip:a.zip", "entry 1")])
    assert inc.files == [{"where": "multipart:file=Q3.xlsx", "name": "Q3.xlsx", "type": "xlsx",
                          "size": 5120}]
    assert inc.uninspectable == [{"reason": "encrypted", "where": "zip:a.zip", "detail": "entry 1"}]


def test_rules_default_to_the_deciding_rule(make_incident):
    assert make_incident(rules=[]).rules == ["confidential-to-social"]


def test_row_round_trip(make_incident):
    inc = make_incident(exception="EXC-7", expired_exception="EXC-1", why=("a", "b"),
                        files=[{"where": "body", "name": None, "type": "csv", "size": 9}])
    row = inc.to_row()
    assert set(row) == set(COLUMNS)
    assert Incident.from_row(row) == inc


def test_to_dict_has_the_contract_fields_with_iso_time(make_incident):
    d = make_incident(time=0.25).to_dict()
    for key in ("id", "time", "user", "department", "client_ip", "app", "category", "host",
                "path", "rule", "severity", "action", "policy_ref", "detections"):
        assert key in d
    assert d["time"] == "1970-01-01T00:00:00.250Z"
    assert {"type", "count", "samples"} <= set(d["detections"][0])
