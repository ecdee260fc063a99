"""Prometheus metrics of the agent (contract: ../shared/DESIGN.md "Metrics").

One private CollectorRegistry per agent (never the global REGISTRY: a hot-reloaded addon would
fail to re-register and unload itself). Label values come only from bounded sets: app ids and
categories from the catalogue, departments from the directory, rule ids, entity types, fixed
reason lists. Never users, hosts, URLs, file names or detected values.

Sample output:
    # HELP dlp_policy_violations_total Requests that matched a policy rule, by rule and effective action
    # TYPE dlp_policy_violations_total counter
    dlp_policy_violations_total{action="block",rule="file-sharing-upload",severity="high"} 3.0
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from agent import __version__
from agent.extract.model import UNINSPECTABLE_REASONS
from agent.policy.model import ACTIONS

# Inspection of a small form is ~1 ms; a large document can take seconds; the budget is ~10 s.
INSPECTION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        r = self.registry = registry or CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=r)      # process_resident_memory_bytes, cpu seconds, fds
        PlatformCollector(registry=r)
        self.build_info = Info("dlp_build", "Agent build", registry=r)
        self.build_info.info({"version": __version__})
        self.requests = Counter("dlp_requests", "Requests seen by the proxy, by app and decided action",
                                ["app", "category", "action"], registry=r)
        self.uploads = Counter("dlp_uploads", "Uploads and posts (requests carrying user content), by app and action",
                               ["app", "category", "action"], registry=r)
        self.violations = Counter("dlp_policy_violations",
                                  "Requests that matched a policy rule, by rule and effective action",
                                  ["rule", "severity", "action"], registry=r)
        self.department_violations = Counter(
            "dlp_department_violations", "Requests with a log/alert/block decision, by department and category",
            ["department", "category"], registry=r)
        self.detections = Counter("dlp_detections", "Detected values, by entity type and app",
                                  ["type", "app"], registry=r)
        self.bytes = Counter("dlp_bytes", "Body bytes by app, direction (up/down) and department",
                             ["app", "category", "direction", "department"], registry=r)
        self.active_seconds = Counter("dlp_active_seconds", "Estimated active use in seconds",
                                      ["app", "category", "department"], registry=r)
        self.inspection_duration = Histogram("dlp_inspection_duration_seconds",
                                             "Time to extract and scan one body", buckets=INSPECTION_BUCKETS,
                                             registry=r)
        self.spilled_bytes = Counter("dlp_inspection_spilled_bytes",
                                     "Extracted text written to spool files (disk) during inspection",
                                     registry=r)
        self.inspection_failures = Counter("dlp_inspection_failures",
                                           "Bodies (or parts) that could not be fully inspected, by reason",
                                           ["reason"], registry=r)
        self.rules_loaded = Gauge("dlp_rules_loaded", "Policy rules in force", registry=r)
        self.rule_info = Gauge("dlp_rule_info", "One series per loaded rule, value 1: what alerts need to know of it",
                               ["rule", "policy_ref", "notify", "severity", "kind"], registry=r)
        self.rules_info = Info("dlp_rules", "Version (content hash) of the rules in force", registry=r)
        self.rule_reload_failures = Counter("dlp_rule_reload_failures",
                                            "Rule reloads rejected because a file was invalid", registry=r)
        self.rules_last_reload = Gauge("dlp_rules_last_reload_success_timestamp_seconds",
                                       "When rules were last loaded successfully", registry=r)
        self.rules_reload_ok = Gauge("dlp_rules_last_reload_ok",
                                     "1 if the last reload attempt succeeded, 0 if it was rejected", registry=r)
        self.exceptions = Gauge("dlp_exceptions", "Written exceptions by state",
                                ["state"], registry=r)
        self.expired_exception_hits = Counter(
            "dlp_expired_exception_hits", "Requests an exception would have covered had it not expired",
            ["exception"], registry=r)
        self.proxy_bypass = Counter("dlp_proxy_bypass", "Connections to monitored apps that bypassed the proxy",
                                    ["app", "department"], registry=r)
        self.incident_write_failures = Counter("dlp_incident_write_failures",
                                               "Incidents not committed in time or rejected by the store",
                                               ["reason"], registry=r)
        self.inflight = Gauge("dlp_inspections_in_flight", "Bodies being inspected now", registry=r)
        self.tenant_headers = Counter("dlp_tenant_restriction_headers",
                                      "Requests given tenant-restriction headers, by control",
                                      ["control"], registry=r)
        self.department_requests = Counter("dlp_department_requests", "Requests by department and category",
                                           ["department", "category"], registry=r)
        self.department_uploads = Counter("dlp_department_uploads", "Uploads and posts by department and category",
                                          ["department", "category"], registry=r)
        self.usage_findings = Counter("dlp_usage_findings", "Daily usage thresholds crossed (usage rules)",
                                      ["rule", "department"], registry=r)
        self.usage_write_failures = Counter("dlp_usage_write_failures", "Usage batches the store rejected",
                                            registry=r)
        self.privacy_bypass = Counter("dlp_privacy_bypass_connections",
                                      "Connections passed through uninspected by the privacy bypass list",
                                      ["app", "category", "department"], registry=r)
        self.websocket_messages = Counter("dlp_websocket_messages",
                                          "WebSocket messages from clients, by app and action",
                                          ["app", "category", "action"], registry=r)
        for reason in UNINSPECTABLE_REASONS:
            self.inspection_failures.labels(reason)
        for reason in ("rejected", "timeout", "error"):
            self.incident_write_failures.labels(reason)
        for state in ("active", "expiring_soon", "expired", "pending"):
            self.exceptions.labels(state)
        self.rules_reload_ok.set(1)

    def precreate(self, rules: Iterable, apps: Iterable[tuple[str, str]], departments: Iterable[str],
                  categories: Iterable[str], usage_rules: Iterable = (), tenant_controls: Iterable[str] = ()
                  ) -> None:
        """Export 0 for every series an alert may watch, so increase() sees the first event."""
        rules, usage_rules, categories = list(rules), list(usage_rules), list(categories)
        self.rule_info.clear()
        for rule in rules:
            self.rule_info.labels(rule.id, rule.policy_ref, rule.notify or "", rule.severity, "request").set(1)
        for rule in usage_rules:
            self.rule_info.labels(rule.id, rule.policy_ref, rule.notify or "", rule.severity, "usage").set(1)
        for control in tenant_controls:
            self.tenant_headers.labels(control)
        for rule in rules:
            for action in {rule.action, "log"} if rule.action != "allow" else {"allow"}:
                self.violations.labels(rule.id, rule.severity, action)
        for app, category in apps:
            for action in ACTIONS:
                self.requests.labels(app, category, action)
                self.uploads.labels(app, category, action)
        departments = list(departments)
        for dept in departments:
            for category in categories:
                self.department_violations.labels(dept, category)
                self.department_requests.labels(dept, category)
                self.department_uploads.labels(dept, category)
            for rule in usage_rules:
                self.usage_findings.labels(rule.id, dept)
