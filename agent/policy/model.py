"""Policy rules and exceptions as validated configuration (pydantic, extra=forbid)."""

from __future__ import annotations

import fnmatch
import operator
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.detect import entities
from agent.extract.model import UNINSPECTABLE_REASONS

Action = Literal["allow", "log", "alert", "block"]
Severity = Literal["low", "medium", "high", "critical"]
Activity = Literal["upload", "post", "body"]

ACTIONS: tuple[Action, ...] = ("allow", "log", "alert", "block")        # least to most restrictive
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
POLICY_REF_RE = r"^WC-P17-001 §\d+(\.\d+)*$"
RULE_ID_RE = r"^[a-z][a-z0-9_-]{0,63}$"

_OPS = {">=": operator.ge, ">": operator.gt, "==": operator.eq, "<=": operator.le, "<": operator.lt}
_THRESHOLD_RE = re.compile(
    r"^\s*(?P<distinct>distinct\s+)?(?P<type>[A-Z][A-Z0-9_]*(?::[a-z][a-z0-9_]*)?)\s*"
    r"(?P<op>>=|<=|==|>|<)\s*(?P<n>\d+)\s*$"
)


@dataclass(frozen=True, slots=True)
class Threshold:
    """``SSN >= 1``, ``distinct SSN >= 50``, ``EDM:clerk_records >= 10``."""

    type: str
    op: str
    n: int
    distinct: bool = False

    def holds(self, counts: dict[str, int], distinct: dict[str, int]) -> bool:
        value = (distinct if self.distinct else counts).get(self.type, 0)
        return _OPS[self.op](value, self.n)

    def describe(self, counts: dict[str, int], distinct: dict[str, int]) -> str:
        value = (distinct if self.distinct else counts).get(self.type, 0)
        kind = "distinct " if self.distinct else ""
        return f"{kind}{self.type} {value} {self.op} {self.n}"

    def __str__(self) -> str:
        return f"{'distinct ' if self.distinct else ''}{self.type} {self.op} {self.n}"


def parse_threshold(text: str) -> Threshold:
    m = _THRESHOLD_RE.match(text)
    if not m:
        raise ValueError(f"cannot parse detection threshold {text!r}; "
                         "write e.g. 'SSN >= 1', 'distinct SSN >= 50' or 'EDM:clerk_records >= 10'")
    t = m.group("type")
    if not entities.is_known(t):
        raise ValueError(f"unknown detection type {t!r} in {text!r}; known: "
                         f"{', '.join(entities.ALL)}, EDM:<dataset>, IDM:<collection>")
    return Threshold(t, m.group("op"), int(m.group("n")), bool(m.group("distinct")))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KIB|MB|MIB|GB|GIB)?\s*$", re.I)
_UNITS = {"B": 1, "KB": 1000, "KIB": 1024, "MB": 1000**2, "MIB": 1024**2, "GB": 1000**3, "GIB": 1024**3}


def parse_size(v: int | str) -> int:
    if isinstance(v, int):
        return v
    m = _SIZE_RE.match(str(v))
    if not m:
        raise ValueError(f"cannot parse size {v!r}; write e.g. 1048576, '10 MB' or '5 MiB'")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "B").upper()])


class MatchSpec(_Strict):
    """Every given condition must hold (AND); list values match any of their items (OR).
    ``not_*`` lists exclude. An empty match block matches every request."""

    apps: list[str] | None = Field(None, description="app ids from apps.yaml")
    not_apps: list[str] | None = None
    categories: list[str] | None = Field(None, description="categories from apps.yaml, or 'other'")
    not_categories: list[str] | None = None
    hosts: list[str] | None = Field(None, description="host names or globs")
    not_hosts: list[str] | None = None
    methods: list[str] | None = None
    activity: list[Activity] | None = Field(
        None, description="upload (file bytes), post (a publication or message), body (any body)")
    users: list[str] | None = None
    not_users: list[str] | None = None
    departments: list[str] | None = None
    not_departments: list[str] | None = None
    groups: list[str] | None = Field(None, description="directory groups of the user")
    not_groups: list[str] | None = None
    accounts: list[str] | None = Field(None, description="'<app>:<id>' of the account/page posted to")
    detections: list[str] | None = Field(None, description="any of these thresholds holds")
    detections_all: list[str] | None = Field(None, description="all of these thresholds hold")
    email_domains: list[str] | None = Field(None, description="an e-mail address of these domains was found")
    file_types: list[str] | None = Field(None, description="a file of these detected types is in the body")
    min_size: int | str | None = Field(None, description="body bytes at least (e.g. '10 MB')")
    max_size: int | str | None = None
    uninspectable: bool | list[str] | None = Field(
        None, description="true: any part could not be inspected; or a list of reasons")

    @field_validator("detections", "detections_all")
    @classmethod
    def _thresholds(cls, v: list[str] | None) -> list[str] | None:
        for t in v or ():
            parse_threshold(t)
        return v

    @field_validator("min_size", "max_size")
    @classmethod
    def _size(cls, v: int | str | None) -> int | None:
        return None if v is None else parse_size(v)

    @field_validator("uninspectable")
    @classmethod
    def _reasons(cls, v: bool | list[str] | None) -> bool | list[str] | None:
        if isinstance(v, list):
            bad = [r for r in v if r not in UNINSPECTABLE_REASONS]
            if bad:
                raise ValueError(f"unknown reasons {bad}; known: {', '.join(UNINSPECTABLE_REASONS)}")
        return v

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: list[str] | None) -> list[str] | None:
        return [m.upper() for m in v] if v else v

    @field_validator("hosts", "not_hosts", "email_domains", "users", "not_users")
    @classmethod
    def _lower(cls, v: list[str] | None) -> list[str] | None:
        return [h.lower() for h in v] if v else v


class RuleSpec(_Strict):
    id: str = Field(pattern=RULE_ID_RE)
    description: str
    policy_ref: str = Field(pattern=POLICY_REF_RE, description="e.g. 'WC-P17-001 §11'")
    severity: Severity
    action: Action
    match: MatchSpec = MatchSpec()
    enabled: bool = True
    notify: str | None = Field(None, description="who is told: doit_security | supervisors")


class UsageRuleSpec(_Strict):
    """Active time above a daily threshold (WC-P17-001 §6: use may not interfere with
    productivity). Produces one alert-level finding per user and day."""

    id: str = Field(pattern=RULE_ID_RE)
    description: str
    policy_ref: str = Field(pattern=POLICY_REF_RE)
    severity: Severity = "low"
    notify: str | None = Field("supervisors", description="who is told: supervisors | doit_security")
    categories: list[str] | None = Field(None, description="app categories counted together")
    apps: list[str] | None = Field(None, description="or specific app ids")
    period: Literal["working_hours", "all_day"] = "working_hours"
    max_minutes_per_day: float = Field(gt=0)
    enabled: bool = True

    @model_validator(mode="after")
    def _scope(self) -> UsageRuleSpec:
        if not (self.categories or self.apps):
            raise ValueError("a usage rule needs categories or apps")
        return self

    def counts(self, app: str, category: str) -> bool:
        return bool((self.categories and category in self.categories) or (self.apps and app in self.apps))


class PolicyFile(_Strict):
    rules: list[RuleSpec] = Field(default_factory=list)
    usage_rules: list[UsageRuleSpec] = Field(default_factory=list)


class ExceptionScope(_Strict):
    users: list[str] | None = None
    departments: list[str] | None = None
    apps: list[str] | None = None
    rules: list[str] | None = None

    @field_validator("users")
    @classmethod
    def _lower(cls, v: list[str] | None) -> list[str] | None:
        return [u.lower() for u in v] if v else v

    @model_validator(mode="after")
    def _narrow(self) -> ExceptionScope:
        if not (self.users or self.departments):
            raise ValueError("scope needs users or departments: an exception is granted to someone")
        if not (self.apps or self.rules):
            raise ValueError("scope needs apps or rules: an exception covers something specific")
        return self


class ExceptionSpec(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    description: str
    approved_by: list[str] = Field(min_length=1, description="names and titles of the approvers")
    approved_on: date
    expires: date = Field(description="last day the exception applies")
    reference: str | None = Field(None, description="memo or ticket holding the written approval")
    scope: ExceptionScope

    @model_validator(mode="after")
    def _dates(self) -> ExceptionSpec:
        if self.expires < self.approved_on:
            raise ValueError(f"expires {self.expires} is before approved_on {self.approved_on}")
        return self

    def active(self, today: date) -> bool:
        return self.approved_on <= today <= self.expires


class ExceptionsFile(_Strict):
    exceptions: list[ExceptionSpec] = Field(default_factory=list)


def host_matches(patterns: list[str], host: str) -> bool:
    return any(fnmatch.fnmatchcase(host, p) for p in patterns)
