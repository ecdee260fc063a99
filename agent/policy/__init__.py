"""Policies: rules and exceptions (model), decisions (engine)."""

from agent.policy.engine import ALLOW, Decision, Facts, Policy, RuleMatch
from agent.policy.model import ACTIONS, SEVERITIES, ExceptionSpec, RuleSpec, parse_threshold

__all__ = ["ACTIONS", "ALLOW", "SEVERITIES", "Decision", "ExceptionSpec", "Facts", "Policy",
           "RuleMatch", "RuleSpec", "parse_threshold"]
