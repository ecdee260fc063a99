"""Incidents built the way the proxy builds them: real masking and keyed hashes, no raw values.

A plainly named module (not conftest) so test modules can import it without clashing with
other directories' conftest files.
"""

from __future__ import annotations

import math
import time

from agent.detect import entities as E
from agent.masking import Hasher, mask
from agent.store import Incident, new_incident_id

HASHER = Hasher(b"test-correlation-key-0123456789")

# Raw values that must never appear in anything the store or CLI writes.
RAW = {E.SSN: ["078051120", "123456789"], E.CREDIT_CARD: ["4111111111111111"]}
RAW_FORMS = ["078-05-1120", "078051120", "123-45-6789", "123456789", "4111111111111111",
             "4111 1111 1111 1111"]


def detection(entity: str, values: list[str], where: str = "form:message") -> dict:
    return {"type": entity, "count": len(values), "distinct": len(set(values)),
            "samples": [mask(entity, v) for v in values][:3], "where": [where],
            "verdicts": {"valid": len(values)},
            "hashes": [HASHER.digest(entity, v) for v in sorted(set(values))]}


def build_incident(**overrides) -> Incident:
    t = overrides.pop("time", time.time())
    fields = dict(
        # invalid times are tested too: the id then takes today's date
        id=new_incident_id(t if isinstance(t, float) and math.isfinite(t) else None), time=t,
        user="jdoe", department="finance", client_ip="10.20.1.5",
        app="facebook", category="social_media", host="graph.facebook.com", method="POST",
        path="/me/feed", rule="confidential-to-social", description="Confidential data to social",
        severity="high", action="block", policy_ref="WC-P17-001 §6",
        why=["category social_media", "SSN 2 >= 1"], rules=["confidential-to-social"],
        detections=[detection(E.SSN, RAW[E.SSN])], bytes=2048, node="proxy-a",
    )
    fields.update(overrides)
    return Incident(**fields)
