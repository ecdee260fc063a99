"""Block page content: names the rule, the policy section, the incident and the contact; escapes."""

import json

from agent.blockpage import BlockInfo, render_html, render_json, section_title, wants_html

INFO = BlockInfo("INC-20261127-ABCDEFGH", "social-confidential", "Confidential <data> to social media",
                 "WC-P17-001 §6", "high", "Facebook", "graph.facebook.com", "post", ["1 SSN"],
                 "DoIT Security - (914) 995-8161", "2026-11-27T10:00:00Z")


def test_html_names_everything_and_escapes():
    page = render_html(INFO).decode()
    for s in ("INC-20261127-ABCDEFGH", "social-confidential", "WC-P17-001 §6", "Facebook",
              "DoIT Security - (914) 995-8161", "1 SSN", "Employee Use of Social Media"):
        assert s in page
    assert "<data>" not in page and "&lt;data&gt;" in page


def test_json_for_programs():
    body = json.loads(render_json(INFO))
    assert body["incident_id"] == INFO.incident_id and body["policy_ref"] == "WC-P17-001 §6"
    assert body["error"] == "blocked_by_policy"


def test_content_negotiation():
    assert wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    assert not wants_html("application/json")
    assert not wants_html("*/*")
    assert not wants_html(None)


def test_section_titles():
    assert "Identity Theft" in section_title("WC-P17-001 §11")
    assert section_title("WC-P17-001 §99") == ""
