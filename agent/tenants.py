"""Tenant-restriction headers: inject vendor headers so only County tenants can sign in.

Facts and hosts: shared/reference/apps.yaml `tenant_controls`. Every client-supplied copy of a
header is overwritten (Microsoft requires it for TRv1; a client could otherwise send its own
permissive value). Nothing is injected until configured.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MicrosoftTR(_Strict):
    tenants: list[str] = Field(min_length=1, description="permitted tenant domains or GUIDs (TRv1)")
    context: str = Field(description="directory (tenant) GUID of the County tenant")
    restrict_msa: bool = Field(False, description="also block consumer Microsoft accounts (login.live.com)")


class GoogleTR(_Strict):
    domains: list[str] = Field(min_length=1, description=(
        "allowed Workspace domains; 'consumer_accounts' allows gmail.com"))


class DropboxTR(_Strict):
    team_ids: list[str] = Field(min_length=1, description="Dropbox Enterprise team id(s) of the County")


class SlackTR(_Strict):
    requester: str = Field(description="the County's own workspace or org id")
    workspaces: list[str] = Field(min_length=1)


class TenantConfig(_Strict):
    microsoft: MicrosoftTR | None = None
    google: GoogleTR | None = None
    dropbox: DropboxTR | None = None
    slack: SlackTR | None = None
    youtube: Literal["strict", "moderate"] | None = None


@dataclass(frozen=True, slots=True)
class _Injection:
    control: str
    hosts: tuple[str, ...]           # exact names or globs
    headers: tuple[tuple[str, str], ...]

    def applies(self, host: str) -> bool:
        return any(host == h or fnmatch.fnmatchcase(host, h) for h in self.hosts)


class TenantRestrictions:
    def __init__(self, config: TenantConfig | None = None):
        c = config or TenantConfig()
        inj: list[_Injection] = []
        if c.microsoft:
            inj.append(_Injection("microsoft",
                                  ("login.microsoftonline.com", "login.microsoft.com", "login.windows.net"),
                                  (("Restrict-Access-To-Tenants", ",".join(c.microsoft.tenants)),
                                   ("Restrict-Access-Context", c.microsoft.context))))
            if c.microsoft.restrict_msa:
                inj.append(_Injection("microsoft_msa", ("login.live.com",),
                                      (("sec-Restrict-Tenant-Access-Policy", "restrict-msa"),)))
        if c.google:
            inj.append(_Injection("google", ("google.com", "*.google.com"),
                                  (("X-GoogApps-Allowed-Domains", ",".join(c.google.domains)),)))
        if c.dropbox:
            inj.append(_Injection("dropbox", ("dropbox.com", "*.dropbox.com"),
                                  (("X-Dropbox-allowed-Team-Ids", ",".join(c.dropbox.team_ids)),)))
        if c.slack:
            inj.append(_Injection("slack", ("slack.com", "*.slack.com"),
                                  (("X-Slack-Allowed-Workspaces-Requester", c.slack.requester),
                                   ("X-Slack-Allowed-Workspaces", ",".join(c.slack.workspaces)))))
        if c.youtube:
            inj.append(_Injection("youtube", ("www.youtube.com", "m.youtube.com", "youtubei.googleapis.com",
                                              "youtube.googleapis.com", "www.youtube-nocookie.com"),
                                  (("YouTube-Restrict", c.youtube.capitalize()),)))
        self._injections = tuple(inj)

    def __bool__(self) -> bool:
        return bool(self._injections)

    def controls(self) -> list[str]:
        return [i.control for i in self._injections]

    def for_host(self, host: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        """(control, headers) to set on a request to ``host``."""
        host = host.lower().rstrip(".")
        return [(i.control, i.headers) for i in self._injections if i.applies(host)]
