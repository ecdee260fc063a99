"""Application catalogue: host + method + path -> application, category, upload/post.

Pure: the proxy addon and the passive monitor both classify with this module, so a rule
about "file_sharing" means the same thing inline and on the mirror port.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent import yamlload

OTHER = "other"          # app and category of traffic to hosts the catalogue does not know
ID_RE = r"^[a-z][a-z0-9_]{0,39}$"  # ids become metric label values: short and bounded

Kind = Literal["upload", "post"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSpec(_Strict):
    protocol: Literal["dropbox", "google_resumable", "onedrive"] = Field(
        description="chunked-upload protocol whose pieces are reassembled before inspection")
    role: Literal["start", "append", "finish"]


class AccountSpec(_Strict):
    path_group: int = Field(ge=1, description="regex group of `path` holding the account/page id")


class EndpointSpec(_Strict):
    kind: Kind = Field(description="upload: file bytes leave; post: a message is published or sent")
    methods: list[str] = Field(min_length=1)
    hosts: list[str] = Field(min_length=1, description="exact host names or globs; '*' is any host")
    path: str = Field(description="Python regex matched (search) against the URL path")
    query: str | None = Field(None, description="regex searched in the query string")
    body_marker: str | None = Field(None, description="literal that must occur in the body")
    session: SessionSpec | None = None
    account: AccountSpec | None = None
    confidence: Literal["doc", "vendor3p", "code", "unconfirmed"] = "doc"
    note: str | None = None

    @field_validator("methods")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        out = [m.upper() for m in v]
        bad = [m for m in out if not re.fullmatch(r"[A-Z]+", m)]
        if bad:
            raise ValueError(f"not HTTP methods: {bad}")
        return out

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        return [h.lower() for h in v]

    @field_validator("path", "query")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"invalid regex {v!r}: {e}") from None
        return v

    @model_validator(mode="after")
    def _account_group(self) -> EndpointSpec:
        if self.account and self.account.path_group > re.compile(self.path).groups:
            raise ValueError(f"account.path_group {self.account.path_group} but path has "
                             f"{re.compile(self.path).groups} groups")
        return self


class AppSpec(_Strict):
    id: str = Field(pattern=ID_RE)
    name: str
    category: str = Field(pattern=ID_RE)
    domains: list[str] = Field(default_factory=list)
    endpoints: list[EndpointSpec] = Field(default_factory=list)
    tenant_control: str | None = Field(None, description="id of a tenant-restriction header set")
    content_encrypted: bool = Field(False, description="client-side encrypted: content never inspectable")

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        out = []
        for d in v:
            d = d.lower().rstrip(".")
            if not re.fullmatch(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", d):
                raise ValueError(f"not a domain: {d!r} (use 'example.com' or '*.example.com')")
            out.append(d)
        return out


class CatalogueSpec(_Strict):
    categories: dict[str, str] = Field(description="category id -> description")
    apps: list[AppSpec]

    def cross_check(self) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, int] = {}
        for i, a in enumerate(self.apps):
            if a.id in seen:
                problems.append((("apps", i, "id"), f"duplicate app id {a.id!r} (also apps[{seen[a.id]}])"))
            seen.setdefault(a.id, i)
            if a.category not in self.categories:
                problems.append((("apps", i, "category"), f"unknown category {a.category!r}; "
                                 f"known: {', '.join(sorted(self.categories))}"))
        return problems


@dataclass(frozen=True, slots=True)
class App:
    id: str
    name: str
    category: str
    tenant_control: str | None = None
    content_encrypted: bool = False


UNKNOWN_APP = App(OTHER, "Other / uncategorised", OTHER)


@dataclass(frozen=True, slots=True)
class Classification:
    app: App
    kind: Kind | None = None          # upload / post when a known endpoint matched
    endpoint: EndpointSpec | None = None
    account: str | None = None        # "<app>:<id>" of the account/page posted to, if known

    @property
    def is_upload(self) -> bool:
        return self.kind == "upload"

    @property
    def is_post(self) -> bool:
        return self.kind == "post"


@dataclass(frozen=True, slots=True)
class _Endpoint:
    app: App
    spec: EndpointSpec
    path: re.Pattern[str]
    query: re.Pattern[str] | None
    methods: frozenset[str]


def _host_glob_match(pattern: str, host: str) -> bool:
    return fnmatch.fnmatchcase(host, pattern)


class Catalogue:
    """Classifies requests and hosts. Build with ``Catalogue.load(path)`` or from a spec."""

    def __init__(self, spec: CatalogueSpec):
        self.spec = spec
        self.apps: dict[str, App] = {}
        self._exact: dict[str, App] = {}      # 'dropbox.com' -> matches apex and sub-domains
        self._sub: dict[str, App] = {}        # '*.box.com' -> sub-domains only
        self._by_host: dict[str, list[_Endpoint]] = {}
        self._glob: list[tuple[str, _Endpoint]] = []
        self._anyhost: list[_Endpoint] = []
        for a in spec.apps:
            app = App(a.id, a.name, a.category, a.tenant_control, a.content_encrypted)
            self.apps[a.id] = app
            for d in a.domains:
                table = self._sub if d.startswith("*.") else self._exact
                key = d[2:] if d.startswith("*.") else d
                if key in table and table[key].id != a.id:
                    raise ValueError(f"domain {d!r} listed by both {table[key].id!r} and {a.id!r}")
                table[key] = app
            for e in a.endpoints:
                ep = _Endpoint(app, e, re.compile(e.path),
                               re.compile(e.query) if e.query else None, frozenset(e.methods))
                for h in e.hosts:
                    if h == "*":
                        self._anyhost.append(ep)
                    elif any(c in h for c in "*?["):
                        self._glob.append((h, ep))
                    else:
                        self._by_host.setdefault(h, []).append(ep)
        self.categories = tuple(spec.categories)
        self.app_for_host = lru_cache(maxsize=65536)(self._app_for_host)

    @classmethod
    def load(cls, path: str | Path) -> Catalogue:
        doc = yamlload.load_yaml(path)
        spec = yamlload.validate(doc, CatalogueSpec)
        try:
            return cls(spec)
        except ValueError as e:
            raise yamlload.ConfigError([yamlload.ConfigIssue(doc.file, None, "apps", str(e))]) from None

    def _app_for_host(self, host: str) -> App | None:
        """Longest matching domain wins, at label boundaries."""
        host = host.lower().rstrip(".")
        labels = host.split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:])
            app = self._exact.get(suffix)
            if app is not None:
                return app
            if i > 0:
                app = self._sub.get(suffix)
                if app is not None:
                    return app
        return None

    def _endpoints_for(self, host: str) -> list[_Endpoint]:
        eps = list(self._by_host.get(host, ()))
        # A glob endpoint never claims a host whose domain belongs to another app: the County
        # tenant westchestergov.sharepoint.com is not "onedrive" because of '*.sharepoint.com'.
        owner = self.app_for_host(host)
        eps.extend(ep for pat, ep in self._glob
                   if (owner is None or owner is ep.app) and _host_glob_match(pat, host))
        # Any-host endpoints (Mastodon, AT Protocol) only for hosts no app claims, so a County
        # server's /api/v1/media is never mistaken for a Mastodon upload.
        eps.extend(ep for ep in self._anyhost if owner is None or owner is ep.app)
        return eps

    def classify(self, host: str, method: str = "GET", path: str = "/", query: str = "",
                 body_head: bytes = b"") -> Classification:
        """Classify one request. ``body_head`` is the start of the body, for body markers."""
        host = host.lower().rstrip(".")
        method = method.upper()
        for ep in self._endpoints_for(host):
            if method not in ep.methods:
                continue
            m = ep.path.search(path)
            if not m:
                continue
            if ep.query and not ep.query.search(query):
                continue
            if ep.spec.body_marker and ep.spec.body_marker.encode() not in body_head:
                continue
            account = None
            if ep.spec.account:
                account = f"{ep.app.id}:{m.group(ep.spec.account.path_group)}"
            return Classification(ep.app, ep.spec.kind, ep.spec, account)
        app = self.app_for_host(host)
        return Classification(app or UNKNOWN_APP)

    def label_values(self) -> tuple[list[str], list[str]]:
        """Every app id and category (plus 'other'): the bounded metric label sets."""
        return [*self.apps, OTHER], [*self.categories, OTHER]


def default_path() -> Path:
    return Path(__file__).resolve().parent.parent / "rules" / "apps.yaml"
