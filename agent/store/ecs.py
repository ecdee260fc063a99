"""Incident -> Elastic Common Schema 8.x document, for a SIEM. Pure.

ECS has no fields for DLP evidence, so standard fields carry who/where/what-rule and the
evidence goes under the custom ``dlp.*`` namespace (ECS reserves no top-level ``dlp``). Choices:
- ``event.kind: alert`` (a rule fired), ``event.category: [network]`` (a proxied request), and
  ``event.type`` ``denied`` for a block, ``allowed`` otherwise (both listed for ``network``).
- ``event.outcome`` describes the user's request as the agent saw it: ``failure`` when blocked
  (it never reached the service), ``unknown`` otherwise (forwarded; the upstream result is not
  known when the incident is written).
- ``event.severity`` is the level's rank 1-4 and ``event.risk_score`` follows the Elastic
  detection-rule convention (21/47/73/99), so SIEM sorting works across sources.
- the department has no ECS field (``user.*`` has none, ``organization`` is the whole County):
  it goes in ``labels.department``, a keyword operators can filter and aggregate on.
- ``file.*`` is a single object in ECS; it is filled only when the body carried exactly one file.
  All files are in ``dlp.files``. (``file.type`` means file/dir/symlink in ECS, so the detected
  content type goes in ``dlp.files[].type``, not there.)
- keyed evidence hashes go in ``related.hash``, so one click pivots to every incident with the
  same value, without the value.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from agent import __version__
from agent.policy.model import SEVERITIES
from agent.store.incident import Incident, iso_utc

ECS_VERSION = "8.17.0"
RULESET = "WC-P17-001"
RISK_SCORES = {"low": 21, "medium": 47, "high": 73, "critical": 99}
OBSERVER = {"product": "County DLP Agent", "vendor": "Westchester County DoIT", "type": "proxy"}


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _extension(name: str | None) -> str | None:
    if not name or "." not in name.rsplit("/", 1)[-1]:
        return None
    ext = name.rsplit(".", 1)[-1].lower()
    return ext or None


def message(inc: Incident) -> str:
    """One content-free line for humans (Discover, alert e-mails)."""
    types = ", ".join(f"{d['type']}:{d['count']}" for d in inc.detections) or "no detections"
    return (f"{inc.action} {inc.method} {inc.host}{inc.path} by {inc.user} ({inc.department}): "
            f"rule {inc.rule} ({inc.policy_ref}), {types}")


def to_ecs(inc: Incident, agent_version: str = __version__) -> dict[str, Any]:
    blocked = inc.action == "block"
    doc: dict[str, Any] = {
        "@timestamp": iso_utc(inc.time),
        "ecs": {"version": ECS_VERSION},
        "message": message(inc),
        "event": {
            "kind": "alert",
            "category": ["network"],
            "type": ["denied"] if blocked else ["allowed"],
            "action": inc.action,
            "outcome": "failure" if blocked else "unknown",
            "id": inc.id,
            "severity": SEVERITIES.index(inc.severity) + 1,
            "risk_score": RISK_SCORES.get(inc.severity, 0),
            "module": "dlp",
            "dataset": "dlp.incident",
            "reason": inc.description or inc.rule,
        },
        "rule": {
            "id": inc.rule, "name": inc.rule, "description": inc.description,
            "reference": inc.policy_ref, "ruleset": RULESET,
        },
        "user": {"name": inc.user},
        "url": {"domain": inc.host, "path": inc.path},
        "destination": {"domain": inc.host},
        "http": {"request": {"method": inc.method, "body": {"bytes": inc.bytes}}},
        "observer": {"name": inc.node, "hostname": inc.node, "version": agent_version,
                     **OBSERVER},
        "labels": {"department": inc.department, "app": inc.app, "app_category": inc.category},
        "tags": ["dlp", f"dlp-{inc.action}"] + (["dlp-exception"] if inc.exception else []),
        "dlp": {
            "action": inc.action, "severity": inc.severity, "policy_ref": inc.policy_ref,
            "app": inc.app, "category": inc.category, "department": inc.department,
            "exception": inc.exception, "expired_exception": inc.expired_exception,
            "why": list(inc.why), "rules": list(inc.rules),
            "detection_types": inc.detection_types,
            "detections": [
                {"type": d["type"], "count": d["count"], "distinct": d["distinct"],
                 "samples": list(d["samples"]), "where": list(d["where"]),
                 "verdicts": dict(d["verdicts"]), "hashes": list(d["hashes"])}
                for d in inc.detections],
            "files": [dict(f) for f in inc.files],
            "uninspectable": [dict(u) for u in inc.uninspectable],
            "node": inc.node,
        },
    }
    ip = _ip(inc.client_ip)
    related: dict[str, list[str]] = {"user": [inc.user]}
    if ip is not None:
        doc["source"] = {"ip": ip}
        related["ip"] = [ip]
    if inc.host:
        related["hosts"] = [inc.host]
    hashes = sorted({h for d in inc.detections for h in d["hashes"]})
    if hashes:
        related["hash"] = hashes
    doc["related"] = related
    if len(inc.files) == 1:
        f = inc.files[0]
        file: dict[str, Any] = {}
        if f.get("name"):
            file["name"] = f["name"]
        if _extension(f.get("name")):
            file["extension"] = _extension(f.get("name"))
        if isinstance(f.get("size"), int):
            file["size"] = f["size"]
        if file:
            doc["file"] = file
    if not inc.method:
        del doc["http"]["request"]["method"]
    return doc
