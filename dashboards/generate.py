"""Grafana dashboards for the County DLP agent, as code (grafana-foundation-sdk, Grafana 11.6).

    .venv/bin/python dashboards/generate.py           # (re)write dashboards/*.json
    .venv/bin/python dashboards/generate.py --check   # exit 1 if a committed file is stale

Needs `pip install 'grafana-foundation-sdk==1769699379!11.6.0'` (pin the Grafana version: the
unpinned name resolves to an older Grafana). Every query reads the `datasource` variable, never
a data-source uid. tests/monitoring checks the JSON against Grafana's dashboard schema, lints it,
and runs every query against a real Prometheus fed by a real agent.

Metrics are the agent's contract (../shared/DESIGN.md "Metrics"); label values are app ids,
categories, departments, rule ids and entity types, never users (per-user detail is in the
usage reports and the incident store).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grafana_foundation_sdk.builders import (
    bargauge,
    dashboard,
    prometheus,
    stat,
    table,
    text,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    GridPos,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT = Path(__file__).resolve().parent
DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["dlp", "wc-p17-001"]


# ------------------------------------------------------------------------------------ building
@dataclass
class Q:
    """One query: a PromQL expression and its legend; instant for stats and tables."""

    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False


@dataclass
class Layout:
    """Places panels left to right in rows of 24 columns and numbers them (ids unique)."""

    x: int = 0
    y: int = 0
    row_h: int = 0
    next_id: int = 1
    panels: list = field(default_factory=list)

    def row(self, title: str) -> None:
        self.newline()
        self.panels.append(("row", dashboard.Row(title).id(self._id())
                            .grid_pos(GridPos(h=1, w=24, x=0, y=self.y))))
        self.y += 1

    def add(self, builder, w: int, h: int) -> None:
        if self.x + w > 24:
            self.newline()
        builder.id(self._id()).grid_pos(GridPos(h=h, w=w, x=self.x, y=self.y))
        self.panels.append(("panel", builder))
        self.x += w
        self.row_h = max(self.row_h, h)

    def newline(self) -> None:
        if self.x:
            self.y += self.row_h
        self.x, self.row_h = 0, 0

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _targets(builder, queries: list[Q]):
    for i, q in enumerate(queries):
        t = prometheus.Dataquery().expr(q.expr).ref_id(chr(ord("A") + i)).datasource(DS)
        if q.legend:
            t = t.legend_format(q.legend)
        if q.instant:
            t = t.instant()
        else:
            t = t.range()
        if q.table:
            t = t.format(PromQueryFormat.TABLE)
        builder = builder.with_target(t)
    return builder


def graph(title: str, desc: str, queries: list[Q], unit: str = "short", stack: bool = False):
    p = (timeseries.Panel().title(title).description(desc).datasource(DS).unit(unit)
         .fill_opacity(10).line_width(1).min(0))
    if stack:
        from grafana_foundation_sdk.builders.common import StackingConfig
        from grafana_foundation_sdk.models.common import StackingMode

        p = p.stacking(StackingConfig().mode(StackingMode.NORMAL))
    return _targets(p, queries)


def single(title: str, desc: str, query: Q, unit: str = "short"):
    query.instant = True
    return _targets(stat.Panel().title(title).description(desc).datasource(DS).unit(unit), [query])


def tabular(title: str, desc: str, query: Q, unit: str = "short"):
    query.instant, query.table = True, True
    return _targets(table.Panel().title(title).description(desc).datasource(DS).unit(unit), [query])


def bars(title: str, desc: str, query: Q, unit: str = "short"):
    query.instant = True
    panel = bargauge.Panel().title(title).description(desc).datasource(DS).unit(unit)
    return _targets(panel, [query])


def note(title: str, content: str):
    return text.Panel().title(title).content(content)


def datasource_var():
    return dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")


def query_var(name: str, label: str, query: str, default_all: bool = True):
    v = (dashboard.QueryVariable(name).label(label).datasource(DS).query(query)
         .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
         .multi(True).include_all(True).all_value(".*"))
    if default_all:
        v = v.current(VariableOption(selected=True, text="All", value="$__all"))
    return v


def job_var():
    return (dashboard.QueryVariable("job").label("Job").datasource(DS)
            .query("label_values(dlp_build_info, job)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).all_value(".*")
            .current(VariableOption(selected=True, text="All", value="$__all")))


def build(uid: str, title: str, desc: str, variables: list, layout: Layout):
    d = (dashboard.Dashboard(title).uid(uid).description(desc).tags(TAGS).editable()
         .time("now-24h", "now").refresh("1m").timezone("browser")
         .tooltip(DashboardCursorSync.CROSSHAIR))
    for v in variables:
        d = d.with_variable(v)
    for kind, p in layout.panels:
        d = d.with_row(p) if kind == "row" else d.with_panel(p)
    return d.build()


# ------------------------------------------------------------------------------------ dashboards
SEL = 'job=~"$job"'                       # the agents chosen in the Job variable
DEPT = 'department=~"$department"'


def rate(metric: str, sel: str, by: str = "", per_minute: bool = False) -> str:
    """sum [by] of a counter's per-second rate over Grafana's $__rate_interval."""
    agg = f"sum by ({by}) " if by else "sum"
    sel = f"{{{sel}}}" if sel else ""
    return f"{agg}(rate({metric}{sel}[$__rate_interval])){' * 60' if per_minute else ''}"


def total(metric: str, sel: str, by: str = "") -> str:
    """sum [by] of a counter's increase over the dashboard's time range. A series created by
    its first event (the agent pre-creates only some label sets) starts at its first value,
    which increase() cannot see: a series new within the range counts with its whole value."""
    agg = f"sum by ({by}) " if by else "sum"
    x = f"{metric}{{{sel}}}" if sel else metric
    return f"{agg}(({x} unless {x} offset $__range) or increase({x}[$__range]))"


def security_overview():
    lay = Layout()
    violating = f'{SEL}, action!="allow"'
    lay.row("Now")
    lay.add(single("Firing DLP alerts", "Alerts firing in Prometheus now (ALERTS series).",
                   Q('count(ALERTS{alertstate="firing", alertname=~"DLP.*"}) or vector(0)')), 4, 4)
    lay.add(single("Critical violations", "Requests matching a critical rule (bulk personal "
                   "records, secrets) in the time range, not covered by an exception.",
                   Q(total("dlp_policy_violations_total",
                           f'{SEL}, severity="critical", action=~"block|alert"'))), 4, 4)
    lay.add(single("Blocked uploads", "Uploads and posts blocked in the time range.",
                   Q(total("dlp_uploads_total", f'{SEL}, action="block"'))), 4, 4)
    lay.add(single("Active exceptions", "Written exceptions in force (rules/exceptions.yaml).",
                   Q(f'max(dlp_exceptions{{{SEL}, state="active"}})')), 4, 4)
    lay.add(single("Exceptions expiring within 7 days", "Renew or let lapse (WC-P17-001 §3).",
                   Q(f'max(dlp_exceptions{{{SEL}, state="expiring_soon"}})')), 4, 4)
    lay.add(single("Proxy bypass connections", "Direct connections to monitored apps seen by "
                   "the passive monitor in the time range (no data: no passive monitor scraped).",
                   Q(total("dlp_proxy_bypass_total", DEPT))), 4, 4)
    lay.add(tabular("Firing alerts", "DLP alerts firing now, with their routing labels.",
                    Q('ALERTS{alertstate="firing", alertname=~"DLP.*"}')), 24, 6)

    lay.row("Violations over time (per minute)")
    lay.add(graph("Violations by rule", "Requests matching each rule (logged, alerted or "
                  "blocked), per minute.",
                  [Q(rate("dlp_policy_violations_total", violating, "rule", True), "{{rule}}")],
                  stack=True), 12, 8)
    lay.add(graph("Violations by severity", "By the rule's policy severity, per minute.",
                  [Q(rate("dlp_policy_violations_total", violating, "severity", True),
                     "{{severity}}")], stack=True), 12, 8)
    lay.add(graph("Violations by department", "Requests with a log, alert or block decision, "
                  "by department, per minute.",
                  [Q(rate("dlp_department_violations_total", f"{SEL}, {DEPT}", "department", True),
                     "{{department}}")], stack=True), 12, 8)
    lay.add(graph("Violations by app", "Requests logged, alerted or blocked, by app and "
                  "action, per minute.",
                  [Q(rate("dlp_requests_total", f'{SEL}, action=~"block|alert|log"', "app, action",
                          True), "{{app}} {{action}}")], stack=True), 12, 8)
    lay.add(graph("Blocked uploads by app", "Uploads and posts blocked, per minute.",
                  [Q(rate("dlp_uploads_total", f'{SEL}, action="block"', "app", True), "{{app}}")],
                  stack=True), 12, 8)
    lay.add(graph("Detections by type", "Detected values (SSN, card numbers, secrets ...) in "
                  "inspected bodies, per minute. Values themselves are never in metrics.",
                  [Q(rate("dlp_detections_total", SEL, "type", True), "{{type}}")],
                  stack=True), 12, 8)

    lay.row("In the time range")
    lay.add(tabular("Violations by rule and action", "Requests per rule and effective action "
                    "(log = covered by an exception, or a log-only rule).",
                    Q(total("dlp_policy_violations_total", violating, "rule, severity, action")
                      + " > 0")), 12, 8)
    lay.add(bars("Detections by type and app", "Detected values per entity type and app.",
                 Q(f'sort_desc({total("dlp_detections_total", SEL, "type, app")} > 0)',
                   "{{type}} → {{app}}")), 12, 8)
    lay.add(graph("Proxy bypass by app and department", "Passive monitor: connections that did "
                  "not go through an agent, per minute.",
                  [Q(rate("dlp_proxy_bypass_total", DEPT, "app, department", True),
                     "{{app}} ({{department}})")], stack=True), 12, 8)
    lay.add(graph("Exceptions by state", "Written exceptions: active, expiring within 7 days, "
                  "expired, pending (approved for a later date).",
                  [Q(f'max by (state) (dlp_exceptions{{{SEL}}})', "{{state}}")]), 12, 8)
    lay.add(tabular("Expired exception hits", "Requests an exception would have covered had it "
                    "not expired: renew it or tell the department.",
                    Q(total("dlp_expired_exception_hits_total", SEL, "exception") + " > 0")),
            24, 6)
    return build("dlp-security-overview", "DLP — DoIT security overview",
                 "Policy violations, blocked uploads, detections, exceptions and proxy bypass "
                 "(WC-P17-001). Incidents with users and evidence: `dlp-agent incidents list`.",
                 [datasource_var(), job_var(),
                  query_var("department", "Department",
                            "label_values(dlp_department_requests_total, department)")],
                 lay)


def productivity_usage():
    lay = Layout()
    usage = f'{SEL}, {DEPT}, category=~"$category"'
    active = "dlp_active_seconds_total"
    lay.row("Active time")
    lay.add(graph("People active, by category", "Estimated active seconds per second: the "
                  "average number of people actively using each category.",
                  [Q(rate(active, usage, "category"), "{{category}}")], stack=True), 12, 8)
    lay.add(graph("People active, by department", "As left, by department.",
                  [Q(rate(active, usage, "department"), "{{department}}")], stack=True), 12, 8)
    lay.add(bars("Active time by department", "Estimated active time in the time range.",
                 Q(f'sort_desc({total(active, usage, "department")})', "{{department}}"), "s"),
            8, 8)
    lay.add(bars("Active time by category", "Estimated active time in the time range.",
                 Q(f'sort_desc({total(active, usage, "category")})', "{{category}}"), "s"), 8, 8)
    lay.add(bars("Top apps by active time", "The ten apps with the most active time.",
                 Q(f'topk(10, {total(active, usage, "app")})', "{{app}}"), "s"), 8, 8)

    lay.row("Traffic and findings")
    lay.add(graph("Requests by category", "Requests per second, by app category.",
                  [Q(rate("dlp_department_requests_total", usage, "category"), "{{category}}")],
                  "reqps", stack=True), 12, 8)
    lay.add(graph("Bytes by category and direction", "Body bytes per second (up = sent by "
                  "County users).",
                  [Q(rate("dlp_bytes_total", usage, "category, direction"),
                     "{{category}} {{direction}}")], "Bps"), 12, 8)
    lay.add(tabular("Usage findings (daily limits crossed)", "Employees over a usage rule's "
                    "daily limit, by department (one finding per person and day). Names are in "
                    "the department's usage report, for its supervisors.",
                    Q(total("dlp_usage_findings_total", f"{SEL}, {DEPT}", "rule, department"))),
            12, 8)
    lay.add(note("Per-person reports", "Per-person usage is not in Prometheus. Supervisors see "
                 "their department's report in the usage web view (`dlp-agent serve-reports`); "
                 "DoIT can export it with `dlp-agent report`."), 12, 8)
    return build("dlp-productivity-usage", "DLP — Productivity usage",
                 "Estimated active time by category, department and app (WC-P17-001 §6). "
                 "Department and category totals only.",
                 [datasource_var(), job_var(),
                  query_var("department", "Department", f"label_values({active}, department)"),
                  query_var("category", "Category", f"label_values({active}, category)")],
                 lay)


def agent_health():
    lay = Layout()
    inst = f'{SEL}, instance=~"$instance"'
    lay.row("Agents")
    lay.add(single("Agents up", "Agents Prometheus scraped successfully.",
                   Q(f"sum(up{{{SEL}}})")), 6, 4)
    lay.add(single("Agents down", "Agents Prometheus could not scrape.",
                   Q(f"count(up{{{SEL}}} == 0) or vector(0)")), 6, 4)
    lay.add(single("Rules in force", "Policy rules loaded (lowest over the chosen agents).",
                   Q(f"min(dlp_rules_loaded{{{inst}}})")), 6, 4)
    lay.add(single("Rule versions in use", "Should be 1: every agent enforces the same rules.",
                   Q(f"count(count by (version) (dlp_rules_info{{{inst}}}))")), 6, 4)

    lay.row("Traffic and inspection")
    lay.add(graph("Requests by action", "Requests per second through the agents.",
                  [Q(rate("dlp_requests_total", inst, "action"), "{{action}}")], "reqps",
                  stack=True), 12, 8)
    lay.add(graph("Requests by agent", "Requests per second, per agent (balance).",
                  [Q(rate("dlp_requests_total", inst, "instance"), "{{instance}}")], "reqps"),
            12, 8)
    buckets = rate("dlp_inspection_duration_seconds_bucket", inst, "le")
    lay.add(graph("Inspection latency", "Time to extract and scan one body (histogram "
                  "quantiles over the chosen agents).",
                  [Q(f"histogram_quantile({q}, {buckets})", f"p{round(q * 100)}")
                   for q in (0.5, 0.9, 0.99)], "s"), 12, 8)
    lay.add(graph("Inspections", "Bodies inspected per second, and being inspected now.",
                  [Q(rate("dlp_inspection_duration_seconds_count", inst), "inspected/s"),
                   Q(f"sum(dlp_inspections_in_flight{{{inst}}})", "in flight")]), 12, 8)
    lay.add(graph("Uninspectable parts by reason", "Body parts that could not be fully "
                  "inspected, per second (unsupported = images and legacy binaries, normal).",
                  [Q(rate("dlp_inspection_failures_total", inst, "reason"), "{{reason}}")],
                  stack=True), 12, 8)
    lay.add(graph("Text spilled to disk", "Extracted text of large documents written to spool "
                  "files in the spool directory, per second (files are unnamed and removed with "
                  "their inspection; size the directory for max_spilled_bytes x concurrent "
                  "inspections).",
                  [Q(rate("dlp_inspection_spilled_bytes_total", inst, "instance"),
                     "{{instance}}")], "Bps"), 12, 8)
    lay.add(graph("Write failures", "Incidents and usage batches the store rejected or did not "
                  "commit in time.",
                  [Q(rate("dlp_incident_write_failures_total", inst, "reason"),
                     "incidents {{reason}}"),
                   Q(rate("dlp_usage_write_failures_total", inst), "usage batches")]), 12, 8)

    lay.row("Rules and resources")
    lay.add(tabular("Last rule reload accepted", "Per agent: 1 if the last reload was accepted, "
                    "0 if it was rejected (the previous rules stay in force; the log names the "
                    "problems as file:line).",
                    Q(f"max by (instance) (dlp_rules_last_reload_ok{{{inst}}})")), 8, 8)
    lay.add(graph("Rule reload rejections", "Reloads rejected because a file was invalid, per "
                  "minute.",
                  [Q(rate("dlp_rule_reload_failures_total", inst, "instance", True),
                     "{{instance}}")]), 8, 8)
    lay.add(graph("Age of the rules in force", "Time since each agent last loaded its rules.",
                  [Q("time() - max by (instance) "
                     f"(dlp_rules_last_reload_success_timestamp_seconds{{{inst}}})",
                     "{{instance}}")], "s"), 8, 8)
    lay.add(graph("Resident memory", "Resident set size of each agent process.",
                  [Q(f"process_resident_memory_bytes{{{inst}}}", "{{instance}}")], "bytes"), 12, 8)
    lay.add(graph("CPU", "CPU seconds per second used by each agent process.",
                  [Q(f"rate(process_cpu_seconds_total{{{inst}}}[$__rate_interval])",
                     "{{instance}}")], "percentunit"), 12, 8)
    lay.add(graph("Scrape duration", "Time Prometheus takes to read /metrics from each agent.",
                  [Q(f"scrape_duration_seconds{{{inst}}}", "{{instance}}")], "s"), 12, 8)
    lay.add(graph("Tenant-restriction headers", "Requests given tenant-restriction headers, "
                  "per second, by control.",
                  [Q(rate("dlp_tenant_restriction_headers_total", inst, "control"),
                     "{{control}}")], "reqps"), 12, 8)

    lay.row("Passive monitor")
    lay.add(graph("Packets and drops", "Packets read by the passive monitor, and packets the "
                  "kernel dropped before it read them.",
                  [Q(rate("dlp_passive_packets_total", "", "instance"), "{{instance}} read"),
                   Q(rate("dlp_passive_capture_drops_total", "", "instance"),
                     "{{instance}} dropped")], "pps"), 12, 8)
    lay.add(graph("Flow table", "Connections tracked, and connections ended early because "
                  "the table was full.",
                  [Q("sum by (instance) (dlp_passive_flows_active)", "{{instance}} active"),
                   Q(rate("dlp_passive_flows_evicted_total", "", "instance"),
                     "{{instance}} evicted/s")]), 12, 8)
    return build("dlp-agent-health", "DLP — Agent health",
                 "Request rate, inspection latency and failures, rule reloads and resources of "
                 "the DLP agents and the passive monitor.",
                 [datasource_var(), job_var(),
                  query_var("instance", "Agent",
                            'label_values(dlp_build_info{job=~"$job"}, instance)')],
                 lay)


DASHBOARDS = {                       # file name -> builder, explicitly listed
    "dlp-security-overview.json": security_overview,
    "dlp-productivity-usage.json": productivity_usage,
    "dlp-agent-health.json": agent_health,
}


def render(fn) -> str:
    return json.dumps(fn(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, fn in DASHBOARDS.items():
        path, new = OUT / name, render(fn)
        if check:
            if not path.exists() or path.read_text() != new:
                stale.append(name)
        else:
            path.write_text(new)
    if stale:
        print(f"stale: {', '.join(stale)}; run: .venv/bin/python dashboards/generate.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
