"""Decide: request facts + rules + exceptions -> Decision. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from agent.policy.model import (
    ACTIONS,
    SEVERITIES,
    ExceptionSpec,
    RuleSpec,
    Threshold,
    UsageRuleSpec,
    host_matches,
    parse_threshold,
)


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a rule can match on, content-free except counts."""

    app: str = "other"
    category: str = "other"
    host: str = ""
    method: str = "GET"
    path: str = "/"
    user: str = "unknown"
    department: str = "unassigned"
    groups: frozenset[str] = frozenset()
    account: str | None = None
    size: int = 0
    is_upload: bool = False
    is_post: bool = False
    file_types: frozenset[str] = frozenset()
    counts: Mapping[str, int] = field(default_factory=dict)
    distinct: Mapping[str, int] = field(default_factory=dict)
    email_domains: frozenset[str] = frozenset()
    uninspectable: frozenset[str] = frozenset()

    @property
    def has_body(self) -> bool:
        return self.size > 0


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule: RuleSpec
    why: tuple[str, ...]                 # content-free reasons: "category social_media", "SSN 3 >= 1"
    action: str                          # effective action (after any exception)
    exception: str | None = None         # id of the exception that applied
    expired_exception: str | None = None # id of an exception that would have applied but expired

    @property
    def rank(self) -> tuple[int, int]:
        return ACTIONS.index(self.action), SEVERITIES.index(self.rule.severity)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Decision:
    action: str                          # allow | log | alert | block
    matches: tuple[RuleMatch, ...] = ()  # every rule that matched, most restrictive first

    @property
    def top(self) -> RuleMatch | None:
        return self.matches[0] if self.matches else None

    @property
    def rule(self) -> RuleSpec | None:
        return self.top.rule if self.top else None

    @property
    def exception(self) -> str | None:
        return self.top.exception if self.top else None

    @property
    def why(self) -> tuple[str, ...]:
        return self.top.why if self.top else ()


ALLOW = Decision("allow")


class _CompiledRule:
    __slots__ = ("spec", "any_of", "all_of")

    def __init__(self, spec: RuleSpec):
        self.spec = spec
        self.any_of: list[Threshold] = [parse_threshold(t) for t in spec.match.detections or ()]
        self.all_of: list[Threshold] = [parse_threshold(t) for t in spec.match.detections_all or ()]

    def match(self, f: Facts) -> tuple[str, ...] | None:
        """Reasons the rule matched, or None. Cheap conditions first."""
        m = self.spec.match
        why: list[str] = []

        def inlist(values: list[str] | None, value: str, label: str) -> bool:
            if values is None:
                return True
            if value in values:
                why.append(f"{label} {value}")
                return True
            return False

        def notin(values: list[str] | None, value: str) -> bool:
            return values is None or value not in values

        if not (inlist(m.apps, f.app, "app") and notin(m.not_apps, f.app)
                and inlist(m.categories, f.category, "category") and notin(m.not_categories, f.category)
                and inlist(m.methods, f.method, "method")
                and inlist(m.users, f.user, "user") and notin(m.not_users, f.user)
                and inlist(m.departments, f.department, "department")
                and notin(m.not_departments, f.department)):
            return None
        if m.hosts is not None:
            if not host_matches(m.hosts, f.host):
                return None
            why.append(f"host {f.host}")
        if m.not_hosts is not None and host_matches(m.not_hosts, f.host):
            return None
        if m.groups is not None:
            hit = sorted(f.groups.intersection(m.groups))
            if not hit:
                return None
            why.append(f"group {hit[0]}")
        if m.not_groups is not None and f.groups.intersection(m.not_groups):
            return None
        if m.accounts is not None:
            if f.account not in m.accounts:
                return None
            why.append(f"account {f.account}")
        if m.activity is not None:
            acts = [a for a in m.activity
                    if (a == "upload" and f.is_upload) or (a == "post" and f.is_post)
                    or (a == "body" and f.has_body)]
            if not acts:
                return None
            why.append(f"activity {acts[0]}")
        if m.min_size is not None:
            if f.size < m.min_size:  # type: ignore[operator]
                return None
            why.append(f"size {f.size} >= {m.min_size}")
        if m.max_size is not None and f.size > m.max_size:  # type: ignore[operator]
            return None
        if m.file_types is not None:
            hit = sorted(f.file_types.intersection(m.file_types))
            if not hit:
                return None
            why.append(f"file type {hit[0]}")
        if m.email_domains is not None:
            hit = sorted(f.email_domains.intersection(m.email_domains))
            if not hit:
                return None
            why.append(f"e-mail domain {hit[0]}")
        if m.uninspectable is not None:
            if m.uninspectable is True:
                if not f.uninspectable:
                    return None
                why.append(f"uninspectable {sorted(f.uninspectable)[0]}")
            elif m.uninspectable is False:
                if f.uninspectable:
                    return None
            else:
                hit = sorted(f.uninspectable.intersection(m.uninspectable))
                if not hit:
                    return None
                why.append(f"uninspectable {hit[0]}")
        counts, distinct = dict(f.counts), dict(f.distinct)
        if self.any_of:
            held = [t for t in self.any_of if t.holds(counts, distinct)]
            if not held:
                return None
            why.extend(t.describe(counts, distinct) for t in held)
        if self.all_of:
            if not all(t.holds(counts, distinct) for t in self.all_of):
                return None
            why.extend(t.describe(counts, distinct) for t in self.all_of)
        return tuple(why)


def exception_covers(exc: ExceptionSpec, rule_id: str, f: Facts) -> bool:
    s = exc.scope
    return ((s.users is None or f.user in s.users)
            and (s.departments is None or f.department in s.departments)
            and (s.apps is None or f.app in s.apps)
            and (s.rules is None or rule_id in s.rules))


class Policy:
    """Compiled rules and exceptions. Immutable: reload builds a new one and swaps it in."""

    def __init__(self, rules: Iterable[RuleSpec], exceptions: Iterable[ExceptionSpec] = (),
                 usage_rules: Iterable[UsageRuleSpec] = ()):
        self.rules = [_CompiledRule(r) for r in rules if r.enabled]
        self.all_rules = [r.spec for r in self.rules]
        self.exceptions = list(exceptions)
        self.usage_rules = [u for u in usage_rules if u.enabled]

    def decide(self, facts: Facts, today: date) -> Decision:
        matches: list[RuleMatch] = []
        for rule in self.rules:
            why = rule.match(facts)
            if why is None:
                continue
            action, exc_id, expired = rule.spec.action, None, None
            if action != "allow":
                for exc in self.exceptions:
                    if not exception_covers(exc, rule.spec.id, facts):
                        continue
                    if exc.active(today):
                        # Written approval (§3, §11): the transfer proceeds and is recorded.
                        action, exc_id = "log", exc.id
                        break
                    if today > exc.expires:
                        expired = exc.id
            matches.append(RuleMatch(rule.spec, why, action, exc_id, expired))
        if not matches:
            return ALLOW
        matches.sort(key=lambda m: m.rank, reverse=True)
        return Decision(matches[0].action, tuple(matches))

    def exception_states(self, today: date, soon_days: int = 7) -> dict[str, int]:
        """Counts of active / expiring-within-``soon_days`` / expired / pending exceptions."""
        out = {"active": 0, "expiring_soon": 0, "expired": 0, "pending": 0}
        for e in self.exceptions:
            if today > e.expires:
                out["expired"] += 1
            elif today < e.approved_on:
                out["pending"] += 1
            else:
                out["active"] += 1
                if (e.expires - today).days < soon_days:
                    out["expiring_soon"] += 1
        return out
