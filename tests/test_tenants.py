"""Tenant-restriction headers: which hosts get which headers, nothing until configured."""

import pytest

from agent.tenants import TenantConfig, TenantRestrictions

CFG = TenantConfig.model_validate({
    "microsoft": {"tenants": ["westchestergov.com", "72f988bf-86f1-41af-91ab-2d7cd011db47"],
                  "context": "72f988bf-86f1-41af-91ab-2d7cd011db47", "restrict_msa": True},
    "google": {"domains": ["westchestergov.com"]},
    "dropbox": {"team_ids": ["1235925"]},
    "slack": {"requester": "T01COUNTY", "workspaces": ["T01COUNTY", "E02GRID"]},
    "youtube": "strict",
})


@pytest.mark.parametrize("host,expect", [
    ("login.microsoftonline.com", {"Restrict-Access-To-Tenants": "westchestergov.com,72f988bf-86f1-41af-91ab-2d7cd011db47",
                                   "Restrict-Access-Context": "72f988bf-86f1-41af-91ab-2d7cd011db47"}),
    ("login.live.com", {"sec-Restrict-Tenant-Access-Policy": "restrict-msa"}),
    ("accounts.google.com", {"X-GoogApps-Allowed-Domains": "westchestergov.com"}),
    ("google.com", {"X-GoogApps-Allowed-Domains": "westchestergov.com"}),
    ("www.dropbox.com", {"X-Dropbox-allowed-Team-Ids": "1235925"}),
    ("acme.slack.com", {"X-Slack-Allowed-Workspaces-Requester": "T01COUNTY",
                        "X-Slack-Allowed-Workspaces": "T01COUNTY,E02GRID"}),
    ("www.youtube.com", {"YouTube-Restrict": "Strict"}),
    ("notgoogle.com", {}),
    ("google.com.evil.example", {}),
    ("content.dropboxapi.com", {}),   # API host: the Dropbox control is documented for dropbox.com
])
def test_headers_for_host(host, expect):
    got = {}
    for _, headers in TenantRestrictions(CFG).for_host(host):
        got.update(dict(headers))
    assert got == expect


def test_off_until_configured():
    tr = TenantRestrictions()
    assert not tr and tr.for_host("login.microsoftonline.com") == []


def test_microsoft_needs_tenants():
    with pytest.raises(ValueError):
        TenantConfig.model_validate({"microsoft": {"tenants": [], "context": "x"}})
