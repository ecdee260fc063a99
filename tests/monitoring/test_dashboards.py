"""The generated dashboards: up to date with dashboards/generate.py, valid against Grafana's own
dashboard schema (JSON Schema generated from @grafana/schema's TypeScript types), and linted:
unique panel ids, refIds, the datasource variable everywhere, gridPos, declared variables.
Their queries are run against a live Prometheus in test_alerting_e2e.py."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dashjson
import pytest

DS_VAR = {"type": "prometheus", "uid": "${datasource}"}
# Grafana versions whose schema the dashboards must satisfy: the SDK's target, and the newest.
SCHEMA_VERSIONS = {"11.6.16": "grafana-schema-11", "13.2.3": "grafana-schema-13"}
NPM_PACKAGES = [f"{alias}@npm:@grafana/schema@{v}" for v, alias in SCHEMA_VERSIONS.items()] + [
    "ts-json-schema-generator@2.9.0", "typescript@5.9"]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "county-dlp-agent" / \
    "grafana-schema"

DASHBOARDS = {p.stem: dashjson.load(p) for p in dashjson.DASHBOARDS}
EXPECTED = {"dlp-security-overview", "dlp-productivity-usage", "dlp-agent-health"}


def test_the_three_dashboards_exist():
    assert set(DASHBOARDS) == EXPECTED
    assert {d["uid"] for d in DASHBOARDS.values()} == EXPECTED


def test_generated_json_is_up_to_date():
    pytest.importorskip("grafana_foundation_sdk",
                        reason="pip install 'grafana-foundation-sdk==1769699379!11.6.0'")
    r = subprocess.run([sys.executable, str(dashjson.DASHBOARD_DIR / "generate.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------------------------ schema
def _find_types(node_modules: Path, alias: str) -> Path:
    base = node_modules / alias / "dist"
    for rel in ("types/raw/dashboard/x/types.gen.d.ts",              # 12.x, 13.x
                "esm/raw/dashboard/x/dashboard_types.gen.d.ts"):     # 11.x
        if (base / rel).exists():
            return base / rel
    raise FileNotFoundError(f"no dashboard types in {base}")


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    """Dashboard JSON Schemas, generated once with npm and cached outside the repository."""
    out = {}
    missing = [v for v in SCHEMA_VERSIONS if not (CACHE / f"dashboard-{v}.schema.json").exists()]
    if missing:
        if not shutil.which("npm"):
            pytest.skip("npm not installed: cannot build Grafana's dashboard JSON Schema")
        CACHE.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix",
                            str(CACHE), *NPM_PACKAGES], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            pytest.skip(f"npm registry unreachable or install failed: {r.stderr.strip()[-300:]}")
        gen = CACHE / "node_modules" / ".bin" / "ts-json-schema-generator"
        for v in missing:
            tmp = CACHE / f"dashboard-{v}.schema.json.tmp"
            types = _find_types(CACHE / "node_modules", SCHEMA_VERSIONS[v])
            subprocess.run([str(gen), "--path", str(types), "--type", "Dashboard",
                            "--no-type-check", "--additional-properties", "-o", str(tmp)],
                           check=True, capture_output=True, timeout=120)
            tmp.rename(CACHE / f"dashboard-{v}.schema.json")
    for v in SCHEMA_VERSIONS:
        out[v] = json.loads((CACHE / f"dashboard-{v}.schema.json").read_text())
    return out


def _errors(schema: dict, dash: dict) -> list[str]:
    import jsonschema

    v = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}"
            for e in v.iter_errors(dash)]


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_matches_grafana_schema(schemas, name, version):
    assert _errors(schemas[version], DASHBOARDS[name]) == []


@pytest.mark.parametrize("breakage", ["grid_width_text", "panel_type_number", "variable_type"])
def test_schema_rejects_a_broken_dashboard(schemas, breakage):
    d = copy.deepcopy(DASHBOARDS["dlp-agent-health"])
    panel = next(p for p in d["panels"] if p["type"] == "timeseries")
    if breakage == "grid_width_text":
        panel["gridPos"]["w"] = "twelve"
    elif breakage == "panel_type_number":
        panel["type"] = 7
    else:
        d["templating"]["list"][0]["type"] = "dropdown"
    assert _errors(schemas["11.6.16"], d)


# ------------------------------------------------------------------------------------ lint
def lint(dash: dict) -> list[str]:
    """Our rules on top of the schema. Returns the problems, empty when clean."""
    problems = []
    panels = dashjson.panels(dash)
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)) or not all(isinstance(i, int) and i > 0 for i in ids):
        problems.append(f"panel ids not unique positive integers: {ids}")
    names = {v["name"] for v in dashjson.variables(dash)}
    dsvars = [v for v in dashjson.variables(dash) if v["type"] == "datasource"]
    if [(v["name"], v.get("query")) for v in dsvars] != [("datasource", "prometheus")]:
        problems.append("needs exactly one datasource variable `datasource` of type prometheus")
    for v in dashjson.variables(dash):
        if v["type"] == "query" and v.get("datasource") != DS_VAR:
            problems.append(f"variable {v['name']}: datasource is not ${{datasource}}")
    boxes = []
    for p in panels:
        title = p.get("title") or f"id {p.get('id')}"
        g = p.get("gridPos")
        if not g or not all(isinstance(g.get(k), int) for k in "hwxy"):
            problems.append(f"{title}: gridPos missing or not integers")
        elif g["x"] + g["w"] > 24:
            problems.append(f"{title}: wider than the 24-column grid")
        else:
            boxes.append((title, g))
        if p["type"] in ("row", "text"):
            continue
        if p.get("datasource") != DS_VAR:
            problems.append(f"{title}: panel datasource is not the variable: {p.get('datasource')}")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{title}: no queries")
        refs = [t.get("refId") for t in targets]
        if not all(refs) or len(refs) != len(set(refs)):
            problems.append(f"{title}: refIds missing or repeated: {refs}")
        for t in targets:
            if t.get("datasource", DS_VAR) != DS_VAR:
                problems.append(f"{title}/{t.get('refId')}: target datasource is not the variable")
            unknown = dashjson.variable_names(t.get("expr", "")) - names - set(dashjson.BUILTINS)
            if unknown:
                problems.append(f"{title}/{t.get('refId')}: undeclared variables {sorted(unknown)}")
    for i, (t1, a) in enumerate(boxes):
        for t2, b in boxes[i + 1:]:
            if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                    and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                problems.append(f"panels overlap: {t1} / {t2}")
    text = json.dumps(dash)
    if '"datasource": "' in text:
        problems.append("legacy string datasource")
    return problems


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_lint(name):
    assert lint(DASHBOARDS[name]) == []


def _break(d: dict, how: str) -> dict:
    d = copy.deepcopy(d)
    graph = next(p for p in d["panels"] if p["type"] == "timeseries")
    if how == "duplicate id":
        graph["id"] = d["panels"][0]["id"]
    elif how == "no refId":
        graph["targets"][0]["refId"] = ""
    elif how == "hard-coded uid":
        graph["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
    elif how == "string datasource":
        graph["targets"][0]["datasource"] = "Prometheus"
    elif how == "no gridPos":
        del graph["gridPos"]
    elif how == "undeclared variable":
        graph["targets"][0]["expr"] += ' + on() vector($nosuchvar)'
    elif how == "overlap":
        graph["gridPos"] = dict(d["panels"][1]["gridPos"])
    return d


@pytest.mark.parametrize("how", ["duplicate id", "no refId", "hard-coded uid", "string datasource",
                                 "no gridPos", "undeclared variable", "overlap"])
def test_lint_catches(how):
    assert lint(_break(DASHBOARDS["dlp-security-overview"], how))
