"""A rules directory loaded as one consistent, immutable RuleSet.

Layout of a rules directory:
  apps.yaml        application catalogue          (required)
  detectors.yaml   detector context words, markings (optional: shipped defaults otherwise)
  exceptions.yaml  written exceptions (§3, §11)   (optional)
  *.yaml           every other file holds policy rules under `rules:`
  tests/           rule test cases for `dlp-agent rules test` (not loaded here)

Every file is read and checked, and all problems are reported together naming file, line and
field; a RuleSet exists only when everything is valid, so a reload either swaps in a complete
new RuleSet or leaves the old one in force.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from agent import yamlload
from agent.apps import OTHER, Catalogue, CatalogueSpec
from agent.policy.engine import Policy
from agent.policy.model import ExceptionsFile, PolicyFile, RuleSpec, UsageRuleSpec
from agent.yamlload import ConfigError, ConfigIssue

RESERVED = ("apps.yaml", "detectors.yaml", "exceptions.yaml")


@dataclass(frozen=True)
class RuleSet:
    directory: Path
    catalogue: Catalogue
    policy: Policy
    scanner: object            # agent.detect.Scanner (typed loosely to keep import cheap)
    detector_config: object
    version: str               # short hash of every file's bytes: which rules are in force
    files: tuple[str, ...]

    @property
    def rules(self) -> list[RuleSpec]:
        return self.policy.all_rules


def default_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "rules"


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if p.is_file()) + \
        sorted(p for p in directory.glob("*.yml") if p.is_file())


def load_ruleset(directory: str | Path) -> RuleSet:
    """Load and cross-check a rules directory; raise ConfigError listing every problem."""
    from agent.detect import Scanner, load_detector_config

    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError([ConfigIssue(str(directory), None, "", "rules directory not found")])
    issues: list[ConfigIssue] = []
    digest = hashlib.sha256()
    files = _yaml_files(directory)

    def read(path: Path) -> yamlload.YamlDoc | None:
        try:
            doc = yamlload.load_yaml(path)
        except ConfigError as e:
            issues.extend(e.issues)
            return None
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return doc

    # --- catalogue
    catalogue = None
    apps_path = directory / "apps.yaml"
    if not apps_path.exists():
        issues.append(ConfigIssue(str(apps_path), None, "", "missing: the app catalogue is required"))
    elif (doc := read(apps_path)) is not None:
        try:
            catalogue = Catalogue(yamlload.validate(doc, CatalogueSpec))
        except ConfigError as e:
            issues.extend(e.issues)
        except ValueError as e:
            issues.append(ConfigIssue(doc.file, None, "apps", str(e)))

    # --- detectors
    detector_config = scanner = None
    det_path = directory / "detectors.yaml"
    try:
        detector_config = load_detector_config(det_path if det_path.exists() else None)
        if det_path.exists():
            digest.update(b"detectors.yaml\0" + det_path.read_bytes())
    except ConfigError as e:
        issues.extend(e.issues)

    # --- policies
    rules: list[tuple[RuleSpec, yamlload.YamlDoc, int]] = []
    usage_rules: list[tuple[UsageRuleSpec, yamlload.YamlDoc, int]] = []
    for path in files:
        if path.name in RESERVED:
            continue
        doc = read(path)
        if doc is None:
            continue
        try:
            pf = yamlload.validate(doc, PolicyFile)
        except ConfigError as e:
            issues.extend(e.issues)
            continue
        rules.extend((r, doc, i) for i, r in enumerate(pf.rules))
        usage_rules.extend((r, doc, i) for i, r in enumerate(pf.usage_rules))

    seen: dict[str, str] = {}
    for r, doc, i in rules:
        where = f"{doc.file}:{doc.line_of(('rules', i))}"
        if r.id in seen:
            issues.append(doc.issue(("rules", i, "id"), f"duplicate rule id {r.id!r} (also {seen[r.id]})"))
        seen.setdefault(r.id, where)
        if catalogue is not None:
            m = r.match
            for key in ("apps", "not_apps"):
                for a in getattr(m, key) or ():
                    if a not in catalogue.apps and a != OTHER:
                        issues.append(doc.issue(("rules", i, "match", key), f"unknown app {a!r}"))
            for key in ("categories", "not_categories"):
                for c in getattr(m, key) or ():
                    if c not in catalogue.categories and c != OTHER:
                        issues.append(doc.issue(("rules", i, "match", key),
                                                f"unknown category {c!r}; known: "
                                                f"{', '.join(catalogue.categories)}, other"))

    for r, doc, i in usage_rules:
        if r.id in seen:
            issues.append(doc.issue(("usage_rules", i, "id"), f"duplicate rule id {r.id!r} (also {seen[r.id]})"))
        seen.setdefault(r.id, f"{doc.file}:{doc.line_of(('usage_rules', i))}")
        if catalogue is not None:
            for c in r.categories or ():
                if c not in catalogue.categories and c != OTHER:
                    issues.append(doc.issue(("usage_rules", i, "categories"), f"unknown category {c!r}"))
            for a in r.apps or ():
                if a not in catalogue.apps:
                    issues.append(doc.issue(("usage_rules", i, "apps"), f"unknown app {a!r}"))

    # --- exceptions
    exceptions = []
    exc_path = directory / "exceptions.yaml"
    if exc_path.exists() and (doc := read(exc_path)) is not None:
        try:
            ef = yamlload.validate(doc, ExceptionsFile)
            by_id = {r.id: r for r, _, _ in rules}
            ids: set[str] = set()
            for i, e in enumerate(ef.exceptions):
                if e.id in ids:
                    issues.append(doc.issue(("exceptions", i, "id"), f"duplicate exception id {e.id!r}"))
                ids.add(e.id)
                for rid in e.scope.rules or ():
                    if rid not in by_id:
                        issues.append(doc.issue(("exceptions", i, "scope", "rules"), f"unknown rule {rid!r}"))
                    elif by_id[rid].policy_ref == "WC-P17-001 §11" and len(e.approved_by) < 2:
                        # §11: written approval of the Commissioner AND the CIO.
                        issues.append(doc.issue(("exceptions", i, "approved_by"),
                                                f"rule {rid!r} is WC-P17-001 §11: it needs the written "
                                                "approval of the Commissioner and the CIO (two approvers)"))
                for a in e.scope.apps or ():
                    if catalogue is not None and a not in catalogue.apps:
                        issues.append(doc.issue(("exceptions", i, "scope", "apps"), f"unknown app {a!r}"))
            exceptions = ef.exceptions
        except ConfigError as e:
            issues.extend(e.issues)

    if issues:
        raise ConfigError(issues)
    assert catalogue is not None
    scanner = Scanner(detector_config)
    return RuleSet(
        directory=directory,
        catalogue=catalogue,
        policy=Policy([r for r, _, _ in rules], exceptions, [r for r, _, _ in usage_rules]),
        scanner=scanner,
        detector_config=detector_config,
        version=digest.hexdigest()[:12],
        files=tuple(p.name for p in files),
    )
