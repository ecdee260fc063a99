"""Filters and ordering, against a real database with a known set of incidents."""

from __future__ import annotations

import pytest
from incident_factory import RAW, build_incident, detection

from agent.detect import entities as E
from agent.store import IncidentFilter, Reader, Store, build_query

T0 = 1_795_000_000.0    # 2026-11-18T...Z
HOUR = 3600.0

# (name, time offset in hours, overrides)
FIXTURE = [
    ("a", 0, dict(severity="low", action="log", rule="county-creds", user="jdoe",
                  department="finance", app="gmail", detections=[])),
    ("b", 1, dict(severity="medium", action="alert", rule="county-creds", user="asmith",
                  department="dss", app="dropbox")),
    ("c", 2, dict(severity="high", action="block", rule="confidential-to-social", user="jdoe",
                  department="finance", app="facebook")),
    ("d", 3, dict(severity="critical", action="block", rule="bulk-pii", user="bwayne",
                  department="dss", app="dropbox",
                  detections=[detection(E.CREDIT_CARD, RAW[E.CREDIT_CARD])])),
    ("e", 3, dict(severity="high", action="block", rule="confidential-to-social", user="asmith",
                  department="dss", app="x")),     # same time as d: inserted later, listed first
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("query") / "incidents.db"
    names = {}
    with Store.open(path) as s:
        for name, hours, kw in FIXTURE:
            inc = build_incident(time=T0 + hours * HOUR, **kw)
            s.add_incident(inc)
            names[inc.id] = name
    return path, names


def listed(db, **flt) -> list[str]:
    path, names = db
    with Reader(path) as r:
        return [names[i.id] for i in r.list_incidents(IncidentFilter(**flt))]


@pytest.mark.parametrize("flt,expect", [
    ({}, ["e", "d", "c", "b", "a"]),                                    # newest first
    ({"limit": 2}, ["e", "d"]),
    ({"since": T0 + 2 * HOUR}, ["e", "d", "c"]),                        # since is inclusive
    ({"until": T0 + 2 * HOUR}, ["b", "a"]),                             # until is exclusive
    ({"since": T0 + HOUR, "until": T0 + 3 * HOUR}, ["c", "b"]),
    ({"rule": "county-creds"}, ["b", "a"]),
    ({"rule": "county"}, []),                                           # exact, not a prefix
    ({"user": "jdoe"}, ["c", "a"]),
    ({"department": "dss"}, ["e", "d", "b"]),
    ({"severity": "high"}, ["e", "d", "c"]),                            # minimum
    ({"severity": "high", "exact_severity": True}, ["e", "c"]),
    ({"severity": "low"}, ["e", "d", "c", "b", "a"]),
    ({"severity": "critical"}, ["d"]),
    ({"action": "block"}, ["e", "d", "c"]),
    ({"action": "alert"}, ["b"]),
    ({"app": "dropbox"}, ["d", "b"]),
    ({"type": "CREDIT_CARD"}, ["d"]),
    ({"type": "SSN"}, ["e", "c", "b"]),
    ({"type": "SS"}, []),
    ({"department": "dss", "severity": "high", "action": "block"}, ["e", "d"]),
    ({"user": "jdoe", "department": "dss"}, []),
])
def test_filters(db, flt, expect):
    assert listed(db, **flt) == expect


def test_get_by_id(db):
    path, names = db
    with Reader(path) as r:
        for iid in names:
            inc = r.get_incident(iid)
            assert inc is not None and inc.id == iid


@pytest.mark.parametrize("kw,message", [
    ({"severity": "urgent"}, "unknown severity 'urgent'"),
    ({"limit": 0}, "limit must be at least 1"),
])
def test_invalid_filters(kw, message):
    with pytest.raises(ValueError, match=message):
        IncidentFilter(**kw)


def test_values_are_bound_not_formatted():
    sql, params = build_query(IncidentFilter(user="x' OR '1'='1", rule="r"))
    assert "x'" not in sql and "x' OR '1'='1" in params


def test_a_hostile_filter_value_matches_nothing(db):
    assert listed(db, user="jdoe' OR '1'='1") == []


def test_user_time_queries_use_an_index(db):
    path, _ = db
    sql, params = build_query(IncidentFilter(user="jdoe", since=T0))
    with Reader(path) as r:
        plan = " ".join(str(row[-1]) for row in r.execute("EXPLAIN QUERY PLAN " + sql,
                                                          tuple(params)))
    assert "USING INDEX incidents_user_time" in plan
