"""Request evaluation glue shared by the proxy addon and `dlp-agent rules test`:
classification + identity + inspection result -> Facts -> Decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from agent.apps import Classification
from agent.extract.model import Uninspectable
from agent.identity import Directory, Identity
from agent.inspect import InspectionResult, Inspector
from agent.policy.engine import Decision, Facts
from agent.ruleset import RuleSet

# Bodies of these detected types are content, not files: a JSON post is not an "upload".
TEXT_TYPES = frozenset({"text", "json", "xml", "form", "html", "multipart", "ndjson", "unknown"})


def build_facts(cls: Classification, ident: Identity, host: str, method: str, path: str,
                size: int, result: InspectionResult | None) -> Facts:
    files = result.files if result else []
    # An upload is a known upload endpoint, or a body that carries a file - a multipart file
    # part, or a body that is itself a document - even on an endpoint the catalogue lacks.
    carries_file = any(f.name for f in files) or any(
        f.where == "body" and f.type not in TEXT_TYPES for f in files)
    return Facts(
        app=cls.app.id, category=cls.app.category, host=host, method=method, path=path,
        user=ident.user, department=ident.department, groups=ident.groups, account=cls.account,
        size=size, is_upload=cls.is_upload or carries_file, is_post=cls.is_post,
        file_types=result.file_types if result else frozenset(),
        counts=result.counts if result else {}, distinct=result.distinct if result else {},
        email_domains=result.email_domains if result else frozenset(),
        uninspectable=result.uninspectable_reasons if result else frozenset(),
    )


def mark_encrypted(cls: Classification, result: InspectionResult) -> None:
    """Client-side encrypted apps (MEGA, Proton): bytes are visible, content never is."""
    if cls.app.content_encrypted:
        result.uninspectable.append(Uninspectable("encrypted", "body", "client-side encrypted app"))


@dataclass(frozen=True)
class Evaluation:
    classification: Classification
    identity: Identity
    result: InspectionResult | None
    facts: Facts
    decision: Decision


def evaluate(ruleset: RuleSet, directory: Directory, inspector: Inspector, *, method: str,
             host: str, path: str, query: str = "", headers: dict[str, str] | None = None,
             body: bytes = b"", user: str | None = None, client_ip: str | None = None,
             today: date) -> Evaluation:
    """Synchronous evaluation of one request (the proxy does the same steps, inspection off-loop)."""
    h = {k.lower(): v for k, v in (headers or {}).items()}
    cls = ruleset.catalogue.classify(host, method, path, query, body[:4096])
    ident = directory.identify(user, client_ip)
    result = None
    if body:
        result = inspector.inspect(body, h.get("content-type"), h.get("content-encoding"))
        mark_encrypted(cls, result)
    facts = build_facts(cls, ident, host.lower(), method.upper(), path, len(body), result)
    return Evaluation(cls, ident, result, facts, ruleset.policy.decide(facts, today))
