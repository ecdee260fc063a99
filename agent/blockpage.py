"""The answer a blocked request gets: HTTP 403 with an HTML page for people, JSON for programs."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

POLICY_SECTION_TITLES = {
    "3": "Scope & Responsibilities (exceptions need the CIO's written approval)",
    "5": "Social Media Content & Disclaimers (only authorized users post for the County)",
    "6": "Employee Use of Social Media (no confidential, proprietary or restricted information)",
    "8": "Security & Credentials",
    "9": "Management, Retention & Disposition of Records",
    "11": "Preventing Identity Theft and Data Loss (no County data to unauthorized external hosting)",
}


@dataclass(frozen=True, slots=True)
class BlockInfo:
    incident_id: str
    rule_id: str
    rule_description: str
    policy_ref: str
    severity: str
    app_name: str
    host: str
    what: str          # "upload", "post", "request"
    found: list[str]   # content-free: "3 SSN", "1 CONFIDENTIAL_MARKING"
    contact: str
    time_iso: str


def wants_html(accept: str | None) -> bool:
    """Browsers navigating ask for text/html; API clients and XHR get JSON."""
    return bool(accept) and "text/html" in accept.lower()


def section_title(policy_ref: str) -> str:
    section = policy_ref.rsplit("§", 1)[-1].split(".")[0].strip()
    return POLICY_SECTION_TITLES.get(section, "")


def render_json(info: BlockInfo) -> bytes:
    return json.dumps({
        "error": "blocked_by_policy",
        "message": f"Blocked by County policy {info.policy_ref}: {info.rule_description}",
        "incident_id": info.incident_id,
        "rule": info.rule_id,
        "policy_ref": info.policy_ref,
        "severity": info.severity,
        "contact": info.contact,
    }).encode()


def render_html(info: BlockInfo) -> bytes:
    e = html.escape
    found = "".join(f"<li>{e(x)}</li>" for x in info.found) or "<li>(see rule)</li>"
    title = section_title(info.policy_ref)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Blocked by County policy {e(info.policy_ref)}</title>
<style>
 body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}}
 main{{max-width:44rem;margin:3rem auto;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002;overflow:hidden}}
 header{{background:#1f3b63;color:#fff;padding:1.2rem 1.6rem}}
 header h1{{margin:0;font-size:1.4rem}} header p{{margin:.3rem 0 0;opacity:.85}}
 section{{padding:1.2rem 1.6rem}} dt{{font-weight:600;margin-top:.7rem}} dd{{margin:.2rem 0 0}}
 .id{{font-family:ui-monospace,Consolas,monospace;background:#eef1f6;padding:.1rem .4rem;border-radius:4px}}
 .note{{background:#fff7e0;border-left:4px solid #e0a800;padding:.8rem 1rem;margin-top:1rem}}
</style></head>
<body><main>
<header><h1>This {e(info.what)} was blocked</h1>
<p>Westchester County network &middot; Data-loss prevention</p></header>
<section>
<p>Your {e(info.what)} to <strong>{e(info.app_name)}</strong> ({e(info.host)}) was stopped before it left
the County network because it conflicts with the County Social Media Policy.</p>
<dl>
<dt>Policy</dt><dd id="policy">{e(info.policy_ref)}{(' &mdash; ' + e(title)) if title else ''}</dd>
<dt>Rule</dt><dd id="rule">{e(info.rule_description)} <span class="id">{e(info.rule_id)}</span></dd>
<dt>What was found</dt><dd><ul>{found}</ul></dd>
<dt>Incident</dt><dd><span class="id" id="incident">{e(info.incident_id)}</span> &middot; {e(info.time_iso)}</dd>
</dl>
<div class="note">If you need to share this information for County business, a written exception can be
approved (WC-P17-001 §3; for external file hosting, §11 requires the Commissioner and the CIO).
Contact <strong id="contact">{e(info.contact)}</strong> and quote the incident number.</div>
</section></main></body></html>
"""
    return page.encode()
