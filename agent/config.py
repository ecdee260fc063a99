"""Agent configuration file (`--config FILE`), validated at load; CLI flags override it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent import yamlload
from agent.tenants import TenantConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsConfig(_Strict):
    max_depth: int = Field(6, ge=1, le=32)
    max_extracted_bytes: int = Field(64 * 1024**2, ge=1024)
    max_ratio: float = Field(200.0, gt=1)
    max_parts: int = Field(20_000, ge=1)
    max_seconds: float = Field(10.0, gt=0, description="inspection budget per body")
    memory_text_bytes: int = Field(16 * 1024**2, ge=0, description="text of one body kept in memory; "
                                   "more is spilled to an unnamed 0600 file in spool_dir")
    max_spilled_bytes: int = Field(512 * 1024**2, ge=0, description="text of one body spilled to disk at most "
                                   "(then size_limit); 0 keeps all text in memory")
    max_body_bytes: int = Field(128 * 1024**2, ge=1024, description="largest body buffered and inspected whole")
    max_session_bytes: int = Field(128 * 1024**2, ge=1024,
                                   description="largest chunked upload session reassembled and inspected whole")
    session_ttl_seconds: float = Field(24 * 3600, gt=0, description="unfinished upload sessions expire after this")


class UsageConfig(_Strict):
    """How active time is estimated (see agent/usage.py and the README) and how long records live."""

    gap_seconds: float = Field(180, gt=0, description="events closer than this join one run of use")
    allowance_seconds: float = Field(30, ge=0, description="reading time credited after a run's last event")
    weak_window_seconds: float = Field(600, ge=0, description="script traffic keeps a run alive this long")
    flush_seconds: float = Field(10, gt=0, description="how often rollups are written to the database")
    retention_days: int = Field(365, ge=1, description="incidents and usage older than this are purged (WC-P17-001 §9)")


class AgentConfig(_Strict):
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(8080, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9464, ge=0, le=65535, description="0 disables the metrics endpoint")
    rules: str | None = Field(None, description="rules directory (default: the shipped rules/)")
    db: str = Field("var/dlp.sqlite", description="SQLite database of incidents and usage")
    directory: str | None = Field(None, description="directory file: users, departments, networks")
    confdir: str | None = Field(None, description="mitmproxy CA directory")
    indexes: list[str] = Field(default_factory=list, description="exact-data-match and document "
                               "fingerprint index directories (dlp-agent fingerprint)")
    index_key_file: str | None = Field(None, description="key the indexes were built with (mode 0600)")
    spool_dir: str | None = Field(None, description="private directory for chunks of upload sessions "
                                                    "and spilled text of large bodies (default: next to the database)")
    hmac_key_file: str | None = Field(None, description="key for evidence hashes (mode 0600)")
    contact: str = Field("DoIT Security Operations - (914) 995-8161 - mcb1@westchestergov.com",
                         description="whom users contact about a block (shown on the block page)")
    node: str | None = Field(None, description="name of this agent in incidents (default: host name)")
    workers: int = Field(4, ge=1, le=64, description="inspection threads (small bodies)")
    inspection_processes: int = Field(2, ge=0, le=64,
                                      description="worker processes for large bodies (0: threads only)")
    limits: LimitsConfig = LimitsConfig()
    usage: UsageConfig = UsageConfig()
    tenant_restrictions: TenantConfig = TenantConfig()
    privacy_bypass: list[str] = Field(default_factory=list, description=(
        "domains never intercepted (banking, health, benefits): passed through encrypted, "
        "counted for usage by host only"))
    mitmproxy: dict[str, str | int | bool | list[str]] = Field(
        default_factory=dict, description="further mitmproxy options, as with --set")


    @field_validator("privacy_bypass")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        from agent.bypass import PrivacyBypass

        PrivacyBypass(v)
        return v


def load_config(path: str | Path | None) -> AgentConfig:
    if path is None:
        return AgentConfig()
    doc = yamlload.load_yaml(path)
    return yamlload.validate(doc, AgentConfig, data=doc.data or {})
