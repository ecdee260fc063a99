"""Identity: proxy-auth user and directory file -> user, department, groups; never raises."""

import pytest

from agent.identity import Directory, DirectorySpec, normalize_user
from agent.yamlload import ConfigError, parse_yaml, validate

SPEC = {
    "departments": {"finance": {"name": "Finance"}, "dss": {"name": "Social Services"}},
    "users": {"JDoe": {"department": "finance", "groups": ["official_publishers"]},
              "asmith": {"department": "dss"}},
    "networks": [
        {"cidr": "10.20.0.0/16", "department": "dss"},
        {"cidr": "10.20.1.5/32", "user": "jdoe"},
        {"cidr": "fd00:20::/64", "department": "finance"},
    ],
}


@pytest.fixture(scope="module")
def d() -> Directory:
    return Directory(DirectorySpec.model_validate(SPEC))


@pytest.mark.parametrize("user,ip,expect", [
    ("COUNTY\\JDoe", "1.2.3.4", ("jdoe", "finance")),       # auth user wins, domain stripped
    ("asmith", "10.20.1.5", ("asmith", "dss")),             # auth user beats the IP's user
    (None, "10.20.1.5", ("jdoe", "finance")),               # /32 user mapping
    (None, "10.20.99.1", ("unknown", "dss")),               # department from the /16
    (None, "::ffff:10.20.99.1", ("unknown", "dss")),        # IPv4-mapped IPv6 peer
    (None, "fd00:20::7", ("unknown", "finance")),
    ("stranger", "192.0.2.1", ("stranger", "unassigned")),
    (None, "not-an-ip", ("unknown", "unassigned")),
    (None, None, ("unknown", "unassigned")),
    ("", "", ("unknown", "unassigned")),
])
def test_identify(d, user, ip, expect):
    ident = d.identify(user, ip)
    assert (ident.user, ident.department) == expect


def test_groups(d):
    assert "official_publishers" in d.identify("jdoe", None).groups
    assert not d.identify("asmith", None).groups


def test_empty_directory_never_crashes():
    assert Directory().identify("x", "10.0.0.1").department == "unassigned"


def test_normalize_user():
    assert normalize_user(" DOM\\Bob ") == "bob"
    assert normalize_user("bob@westchestergov.com") == "bob@westchestergov.com"
    assert normalize_user("") is None


@pytest.mark.parametrize("text,field,msg", [
    ("networks:\n  - {cidr: 10.0.0.0/33, department: dss}\n", "networks[0].cidr", "not an IP network"),
    ("departments: {dss: {name: D, timezone: Mars/Base}}\n", "departments.dss.timezone", "unknown time zone"),
    ("departments: {dss: {name: D}}\nusers: {bob: {department: hr}}\n", "users.bob.department", "unknown department 'hr'"),
    ("networks:\n  - {cidr: 10.0.0.0/8}\n", "networks[0]", "user or a department"),
])
def test_directory_errors(text, field, msg):
    with pytest.raises(ConfigError) as ei:
        validate(parse_yaml(text, "dir.yaml"), DirectorySpec)
    assert any(msg in i.message and i.field == field and i.line for i in ei.value.issues), ei.value
