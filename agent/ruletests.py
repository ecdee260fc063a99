"""Rule test cases: a request fixture and the decision the rules must reach.

Files `<rules>/tests/*.yaml`:

    directory: directory.yaml        # optional, relative to this file
    cases:
      - name: SSN posted to a Facebook page is blocked
        today: 2026-11-27            # optional: the date exceptions are judged on
        request:
          method: POST
          url: https://graph.facebook.com/v19.0/104729/feed
          headers: {Content-Type: application/x-www-form-urlencoded}
          body: "message=my SSN is 219-44-1234"   # or body_file: fixtures/q3.xlsx, body_base64: ...
          user: jdoe                 # proxy-auth user (optional)
          client_ip: 10.20.1.5       # optional
          groups: [official_publishers]   # optional: overrides the directory's groups
          department: finance        # optional: overrides the directory's department
        expect:
          action: block
          rule: social-confidential  # the deciding rule (null when nothing matched)
          exception: null            # optional
          detections: {SSN: 1}       # optional: at least these counts
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent import yamlload
from agent.evaluate import build_facts, evaluate
from agent.identity import Directory
from agent.inspect import Inspector
from agent.policy.model import Action
from agent.ruleset import RuleSet
from agent.yamlload import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestFixture(_Strict):
    method: str = "POST"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    body_file: str | None = None
    body_base64: str | None = None
    user: str | None = None
    client_ip: str | None = None
    groups: list[str] | None = None
    department: str | None = None

    @model_validator(mode="after")
    def _one_body(self) -> RequestFixture:
        if sum(x is not None for x in (self.body, self.body_file, self.body_base64)) > 1:
            raise ValueError("give at most one of body, body_file, body_base64")
        return self


class Expectation(_Strict):
    action: Action
    rule: str | None = None
    exception: str | None = None
    detections: dict[str, int] = Field(default_factory=dict)


class Case(_Strict):
    name: str
    today: date | None = None
    request: RequestFixture
    expect: Expectation


class CaseFile(_Strict):
    directory: str | None = None
    cases: list[Case]


@dataclass(frozen=True)
class Outcome:
    file: str
    line: int | None
    name: str
    ok: bool
    problems: tuple[str, ...]


def _body(fx: RequestFixture, base: Path) -> bytes:
    if fx.body is not None:
        return fx.body.encode()
    if fx.body_base64 is not None:
        return base64.b64decode(fx.body_base64)
    if fx.body_file is not None:
        return (base / fx.body_file).read_bytes()
    return b""


def run_file(path: Path, ruleset: RuleSet, inspector: Inspector, today: date) -> list[Outcome]:
    doc = yamlload.load_yaml(path)
    spec = yamlload.validate(doc, CaseFile)
    directory = Directory.load(path.parent / spec.directory) if spec.directory else Directory()
    out: list[Outcome] = []
    for i, case in enumerate(spec.cases):
        line = doc.line_of(("cases", i))
        try:
            out.append(_run_case(case, path, line, ruleset, directory, inspector, today))
        except (OSError, ValueError) as e:
            out.append(Outcome(str(path), line, case.name, False, (f"cannot run: {e}",)))
    return out


def _run_case(case: Case, path: Path, line: int | None, ruleset: RuleSet, directory: Directory,
              inspector: Inspector, today: date) -> Outcome:
    fx = case.request
    url = urlsplit(fx.url)
    if not url.hostname:
        raise ValueError(f"url {fx.url!r} has no host")
    day = case.today or today
    ev = evaluate(ruleset, directory, inspector, method=fx.method, host=url.hostname,
                  path=url.path or "/", query=url.query, headers=fx.headers, body=_body(fx, path.parent),
                  user=fx.user, client_ip=fx.client_ip, today=day)
    decision = ev.decision
    if fx.groups is not None or fx.department is not None:
        ident = replace(ev.identity,
                        groups=frozenset(fx.groups) if fx.groups is not None else ev.identity.groups,
                        department=fx.department or ev.identity.department)
        facts = build_facts(ev.classification, ident, url.hostname.lower(), fx.method.upper(),
                            url.path or "/", ev.facts.size, ev.result)
        decision = ruleset.policy.decide(facts, day)
    problems = []
    got_rule = decision.rule.id if decision.rule else None
    if decision.action != case.expect.action:
        problems.append(f"action {decision.action!r}, expected {case.expect.action!r}")
    if got_rule != case.expect.rule:
        problems.append(f"rule {got_rule!r}, expected {case.expect.rule!r}")
    if decision.exception != case.expect.exception:
        problems.append(f"exception {decision.exception!r}, expected {case.expect.exception!r}")
    counts = ev.result.counts if ev.result else {}
    for t, n in case.expect.detections.items():
        if counts.get(t, 0) < n:
            problems.append(f"{t} found {counts.get(t, 0)} times, expected at least {n}")
    if problems and decision.why:
        problems.append(f"(decision reasons: {', '.join(decision.why)})")
    return Outcome(str(path), line, case.name, not problems, tuple(problems))


def run_all(directory: Path, ruleset: RuleSet, inspector: Inspector, today: date) -> list[Outcome]:
    tests = directory / "tests"
    files = sorted(tests.glob("*.yaml")) if tests.is_dir() else []
    if not files:
        raise ConfigError([yamlload.ConfigIssue(str(tests), None, "", "no rule test files (*.yaml) found")])
    out: list[Outcome] = []
    errors: list[Any] = []
    for f in files:
        try:
            out.extend(run_file(f, ruleset, inspector, today))
        except ConfigError as e:
            errors.extend(e.issues)
    if errors:
        raise ConfigError(errors)
    return out
