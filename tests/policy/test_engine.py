"""Policy decisions: matching, most-restrictive-wins, exceptions and their expiry."""

from dataclasses import replace
from datetime import date

import pytest

from agent.policy.engine import Facts, Policy
from agent.policy.model import ExceptionSpec, RuleSpec, parse_size, parse_threshold

TODAY = date(2026, 11, 27)


def rule(id, action="block", severity="high", ref="WC-P17-001 §6", **match):
    return RuleSpec.model_validate({"id": id, "description": id, "policy_ref": ref,
                                    "severity": severity, "action": action, "match": match})


def exc(id, approved_on="2026-01-01", expires="2026-12-31", approvers=("A", "B"), **scope):
    return ExceptionSpec.model_validate({"id": id, "description": id, "approved_by": list(approvers),
                                         "approved_on": approved_on, "expires": expires, "scope": scope})


SOCIAL_POST_SSN = Facts(app="facebook", category="social_media", host="graph.facebook.com",
                        method="POST", size=100, is_post=True, counts={"SSN": 2}, distinct={"SSN": 2},
                        user="jdoe", department="finance")


# fmt: off
@pytest.mark.parametrize("text,type_,op,n,distinct", [
    ("SSN >= 1", "SSN", ">=", 1, False),
    ("distinct SSN >= 50", "SSN", ">=", 50, True),
    ("  CREDIT_CARD>3 ", "CREDIT_CARD", ">", 3, False),
    ("EDM:clerk_records >= 10", "EDM:clerk_records", ">=", 10, False),
    ("IDM:memos == 1", "IDM:memos", "==", 1, False),
])
# fmt: on
def test_parse_threshold(text, type_, op, n, distinct):
    t = parse_threshold(text)
    assert (t.type, t.op, t.n, t.distinct) == (type_, op, n, distinct)


@pytest.mark.parametrize("text,msg", [
    ("SSN", "cannot parse"), ("SSN => 1", "cannot parse"), ("ssn >= 1", "cannot parse"),
    ("SOCIAL >= 1", "unknown detection type"), ("EDM:Bad-Name >= 1", "cannot parse"),
])
def test_parse_threshold_errors(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_threshold(text)


@pytest.mark.parametrize("text,n", [(10, 10), ("10 MB", 10_000_000), ("5 MiB", 5 * 1024**2), ("1.5kb", 1500)])
def test_parse_size(text, n):
    assert parse_size(text) == n


def test_threshold_counts_vs_distinct():
    p = Policy([rule("bulk", **{"detections": ["distinct SSN >= 3"]})])
    many_same = Facts(size=1, counts={"SSN": 10}, distinct={"SSN": 1})
    many_diff = Facts(size=1, counts={"SSN": 3}, distinct={"SSN": 3})
    assert p.decide(many_same, TODAY).action == "allow"
    assert p.decide(many_diff, TODAY).action == "block"
    assert p.decide(many_diff, TODAY).why == ("distinct SSN 3 >= 3",)


def test_match_conditions_are_anded_lists_ored():
    p = Policy([rule("r", categories=["social_media", "paste"], activity=["post"], detections=["SSN >= 1"])])
    assert p.decide(SOCIAL_POST_SSN, TODAY).action == "block"
    assert p.decide(replace(SOCIAL_POST_SSN, is_post=False), TODAY).action == "allow"
    assert p.decide(Facts(category="file_sharing", is_post=True, size=1, counts={"SSN": 1}), TODAY).action == "allow"


def test_most_restrictive_wins_then_severity():
    p = Policy([
        rule("log-all", action="log", severity="low", categories=["social_media"]),
        rule("alert-high", action="alert", severity="high", categories=["social_media"]),
        rule("block-medium", action="block", severity="medium", detections=["SSN >= 1"]),
        rule("block-critical", action="block", severity="critical", detections=["SSN >= 2"]),
    ])
    d = p.decide(SOCIAL_POST_SSN, TODAY)
    assert d.action == "block" and d.rule.id == "block-critical"
    assert [m.rule.id for m in d.matches] == ["block-critical", "block-medium", "alert-high", "log-all"]


def test_not_lists_exclude():
    p = Policy([rule("ext", not_categories=["county"], not_departments=["doit"], activity=["body"])])
    assert p.decide(Facts(category="other", size=5), TODAY).action == "block"
    assert p.decide(Facts(category="county", size=5), TODAY).action == "allow"
    assert p.decide(Facts(category="other", size=5, department="doit"), TODAY).action == "allow"
    assert p.decide(Facts(category="other", size=0), TODAY).action == "allow"  # no body


def test_hosts_groups_accounts_email_domains():
    p = Policy([
        rule("official", action="alert", accounts=["facebook:42"], activity=["post"], not_groups=["publishers"]),
        rule("creds", action="alert", email_domains=["westchestergov.com"], detections_all=["PASSWORD >= 1"],
             not_hosts=["*.westchestergov.com"]),
    ])
    post = Facts(app="facebook", account="facebook:42", is_post=True, size=10)
    assert p.decide(post, TODAY).rule.id == "official"
    assert p.decide(replace(post, groups=frozenset({"publishers"})), TODAY).action == "allow"
    assert p.decide(Facts(app="facebook", account="facebook:7", is_post=True, size=10), TODAY).action == "allow"
    cred = dict(size=10, email_domains=frozenset({"westchestergov.com"}), counts={"PASSWORD": 1})
    assert p.decide(Facts(host="evil.example", **cred), TODAY).rule.id == "creds"
    assert p.decide(Facts(host="mail.westchestergov.com", **cred), TODAY).action == "allow"
    assert p.decide(Facts(host="evil.example", size=10, counts={"PASSWORD": 1}), TODAY).action == "allow"


def test_uninspectable_and_sizes_and_file_types():
    p = Policy([
        rule("uninsp", uninspectable=True, activity=["body"]),
        rule("enc", action="alert", uninspectable=["encrypted"]),
        rule("big", action="log", min_size="1 MB"),
        rule("xl", action="log", file_types=["xlsx"]),
    ])
    assert p.decide(Facts(size=10, uninspectable=frozenset({"parse_error"})), TODAY).rule.id == "uninsp"
    d = p.decide(Facts(size=10, uninspectable=frozenset({"encrypted"})), TODAY)
    assert {m.rule.id for m in d.matches} == {"uninsp", "enc"}
    assert p.decide(Facts(size=2_000_000), TODAY).rule.id == "big"
    assert p.decide(Facts(size=10, file_types=frozenset({"xlsx"})), TODAY).rule.id == "xl"
    assert p.decide(Facts(size=10), TODAY).action == "allow"


def test_exception_downgrades_to_log_and_records_id():
    p = Policy([rule("fs", categories=["file_sharing"], activity=["upload"], ref="WC-P17-001 §11")],
               [exc("EXC-1", departments=["finance"], apps=["box"], rules=["fs"])])
    f = Facts(app="box", category="file_sharing", is_upload=True, size=10, department="finance")
    d = p.decide(f, TODAY)
    assert (d.action, d.exception, d.rule.id) == ("log", "EXC-1", "fs")
    # out of scope: other department, other app
    assert p.decide(replace(f, department="dss"), TODAY).action == "block"
    assert p.decide(replace(f, app="dropbox"), TODAY).action == "block"


@pytest.mark.parametrize("today,action,exception,expired", [
    (date(2026, 6, 1), "log", "EXC-1", None),
    (date(2026, 12, 31), "log", "EXC-1", None),          # expiry day is inclusive
    (date(2027, 1, 1), "block", None, "EXC-1"),          # expired: stops applying, recorded
    (date(2025, 12, 31), "block", None, None),           # not yet approved
])
def test_exception_validity_window(today, action, exception, expired):
    p = Policy([rule("fs", categories=["file_sharing"])], [exc("EXC-1", users=["jdoe"], rules=["fs"])])
    d = p.decide(Facts(category="file_sharing", user="jdoe"), today)
    assert (d.action, d.exception, d.top.expired_exception) == (action, exception, expired)


def test_exception_does_not_cover_other_rules():
    p = Policy([rule("fs", categories=["file_sharing"]),
                rule("bulk", severity="critical", detections=["distinct SSN >= 2"])],
               [exc("EXC-1", users=["jdoe"], rules=["fs"])])
    d = p.decide(Facts(category="file_sharing", user="jdoe", size=1, counts={"SSN": 2}, distinct={"SSN": 2}), TODAY)
    assert d.action == "block" and d.rule.id == "bulk" and d.exception is None


def test_exception_states():
    p = Policy([], [exc("a", users=["x"], apps=["box"], expires="2026-12-01"),
                    exc("b", users=["x"], apps=["box"], expires="2027-06-01"),
                    exc("c", users=["x"], apps=["box"], expires="2026-01-01"),
                    exc("d", users=["x"], apps=["box"], approved_on="2027-01-01", expires="2027-02-01")])
    assert p.exception_states(TODAY) == {"active": 2, "expiring_soon": 1, "expired": 1, "pending": 1}


@pytest.mark.parametrize("scope,msg", [
    ({"apps": ["box"]}, "users or departments"),
    ({"users": ["x"]}, "apps or rules"),
])
def test_exception_scope_must_be_narrow(scope, msg):
    with pytest.raises(ValueError, match=msg):
        exc("e", **scope)


def test_exception_dates_checked():
    with pytest.raises(ValueError, match="before approved_on"):
        exc("e", approved_on="2026-05-01", expires="2026-04-01", users=["x"], apps=["box"])


@pytest.mark.parametrize("field,value,msg", [
    ("policy_ref", "WC-P17-001 11", "pattern"),
    ("severity", "urgent", "Input should be"),
    ("action", "quarantine", "Input should be"),
    ("id", "Bad Id", "pattern"),
])
def test_rule_fields_validated(field, value, msg):
    data = {"id": "r", "description": "d", "policy_ref": "WC-P17-001 §6", "severity": "low", "action": "log"}
    data[field] = value
    with pytest.raises(ValueError, match=msg):
        RuleSpec.model_validate(data)


def test_disabled_rule_never_matches():
    r = RuleSpec.model_validate({"id": "r", "description": "d", "policy_ref": "WC-P17-001 §6",
                                 "severity": "low", "action": "block", "enabled": False})
    assert Policy([r]).decide(Facts(), TODAY).action == "allow"
