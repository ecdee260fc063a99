"""Reading the generated Grafana dashboards the way Grafana would: panels (also inside rows),
their Prometheus targets, and the variables to substitute before a query can run."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "dashboards"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))

# Grafana's own variables; anything else starting with $ must be a dashboard variable.
BUILTINS = ("__rate_interval", "__interval", "__range", "__range_s", "__interval_ms")
VAR_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
LABEL_VALUES_RE = re.compile(r"^label_values\((?:(.+),\s*)?(\w+)\)$")


@dataclass(frozen=True)
class Target:
    dashboard: str            # uid
    panel: str                # title
    panel_type: str
    ref_id: str
    expr: str
    instant: bool

    @property
    def key(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def panels(dash: dict) -> list[dict]:
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))          # a collapsed row keeps its panels inside
    return out


def targets(dash: dict) -> list[Target]:
    return [Target(dash["uid"], p.get("title", ""), p.get("type", ""), t.get("refId", ""),
                   t["expr"], bool(t.get("instant")) and not t.get("range"))
            for p in panels(dash) for t in p.get("targets", []) if "expr" in t]


def variables(dash: dict) -> list[dict]:
    return dash.get("templating", {}).get("list", [])


def variable_names(expr: str) -> set[str]:
    return {a or b for a, b in VAR_RE.findall(expr)}


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace $name / ${name} / ${name:fmt}; a name missing from `values` raises KeyError."""
    return VAR_RE.sub(lambda m: values[m.group(1) or m.group(2)], expr)


def grafana_values(dash: dict, scrape_interval_s: float, range_s: float) -> dict[str, str]:
    """What Grafana puts in for its built-ins over a range drawn at ~1 point per scrape
    interval, and `.*` for every dashboard variable (the "All" value)."""
    interval = max(scrape_interval_s, 1.0)
    values = {
        "__interval": f"{interval:g}s",
        "__interval_ms": f"{interval * 1000:g}",
        # Grafana: max($__interval + scrape interval, 4 * scrape interval)
        "__rate_interval": f"{max(interval + scrape_interval_s, 4 * scrape_interval_s):g}s",
        "__range": f"{int(range_s) + 1}s",
        "__range_s": f"{int(range_s) + 1}",
    }
    for v in variables(dash):
        values[v["name"]] = v.get("allValue") or ".*"
    return values
