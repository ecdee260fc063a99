"""Detector configuration (`rules/detectors.yaml`): context words, markings, dictionaries.

Everything an operator may want to tune without a code change lives here as data: which words
near a value (or in its column header / form field name) make an ambiguous number an SSN rather
than a routing number, which words make it nothing at all, which banners mark a document as
confidential, and which field names hold passwords. Validation is strict (unknown keys fail)
and errors name file, line and field through ``agent.yamlload``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent import yamlload
from agent.detect import entities as E

_TERM_RE = re.compile(r"[A-Za-z0-9]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_terms(v: list[str]) -> list[str]:
    bad = [t for t in v if not _TERM_RE.search(t)]
    if bad:
        raise ValueError(f"terms must contain a letter or digit: {bad}")
    return [t.strip() for t in v]


class EntityContext(_Strict):
    context: list[str] = Field(
        default_factory=list,
        description="words that, near a value or in its column header / field name, "
                    "confirm this entity type (case-insensitive, punctuation-insensitive)")
    negative: list[str] = Field(
        default_factory=list,
        description="words that, when nearest to a value, rule this entity type out")

    check_terms = field_validator("context", "negative")(_check_terms)


class EntitiesConfig(_Strict):
    """Per entity type: context words. Every field is optional; the names are the contract."""

    SSN: EntityContext = EntityContext()
    CREDIT_CARD: EntityContext = EntityContext()
    ABA_ROUTING: EntityContext = EntityContext()
    BANK_ACCOUNT: EntityContext = EntityContext()
    US_PASSPORT: EntityContext = EntityContext()
    US_ITIN: EntityContext = EntityContext()
    DRIVER_LICENSE_NY: EntityContext = EntityContext()
    NPI: EntityContext = EntityContext()
    DEA: EntityContext = EntityContext()
    ICD10_MEDICAL: EntityContext = EntityContext()
    MRN: EntityContext = EntityContext()
    EMAIL: EntityContext = EntityContext()
    PHONE: EntityContext = EntityContext()
    AWS_ACCESS_KEY: EntityContext = EntityContext()
    PRIVATE_KEY: EntityContext = EntityContext()
    PASSWORD: EntityContext = EntityContext()
    GENERIC_API_TOKEN: EntityContext = EntityContext()
    CONFIDENTIAL_MARKING: EntityContext = EntityContext()

    def items(self) -> list[tuple[str, EntityContext]]:
        return [(name, getattr(self, name)) for name in E.ALL]


class ContextWindow(_Strict):
    before: int = Field(64, ge=0, le=1024, description="bytes before a value searched for words")
    after: int = Field(32, ge=0, le=1024, description="bytes after a value searched for words")


class LabelMarkings(_Strict):
    names: list[str] = Field(default_factory=list,
                             description="label words, e.g. 'classification' in "
                                         "'Classification: Confidential' (any case)")
    levels: list[str] = Field(default_factory=list,
                              description="levels after the label that make it a marking")

    check_terms = field_validator("names", "levels")(_check_terms)


class Markings(_Strict):
    banners: list[str] = Field(
        default_factory=list,
        description="matched only as written in UPPER CASE, as whole words "
                    "('CONFIDENTIAL' marks a page; 'keep it confidential' does not)")
    phrases: list[str] = Field(
        default_factory=list,
        description="specific phrases matched in any case ('for official use only')")
    labels: LabelMarkings = LabelMarkings()

    check_terms = field_validator("banners", "phrases")(_check_terms)

    @field_validator("banners")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        bad = [b for b in v if b != b.upper()]
        if bad:
            raise ValueError(f"banners are matched in upper case only; write them in upper case: "
                             f"{bad} (use 'phrases' for any-case matching)")
        return v


class Dictionary(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="short id, shown in reports")
    entity: str = Field(E.CONFIDENTIAL_MARKING,
                        description="entity type a hit is reported as (one of the contract names)")
    case_sensitive: bool = False
    terms: list[str] = Field(min_length=1, description="whole-word terms")

    check_terms = field_validator("terms")(_check_terms)

    @field_validator("entity")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in E.ALL:
            raise ValueError(f"unknown entity type {v!r}; one of: {', '.join(E.ALL)}")
        return v


class Secrets(_Strict):
    password_keys: list[str] = Field(
        default_factory=list,
        description="last word of a key or form field that holds a password "
                    "(db_password, newPassword, pwd)")
    token_keys: list[str] = Field(
        default_factory=list,
        description="key names (or their last words) that hold API tokens: api_key, client_secret")
    ignored_keys: list[str] = Field(
        default_factory=list,
        description="key names that look like secrets but are not (public_key, token_type)")
    placeholders: list[str] = Field(
        default_factory=list,
        description="values that are not real secrets (changeme, your_password); compared "
                    "case-insensitively; masks like ****, <x>, ${X}, {{x}} are built in")
    min_token_entropy: float = Field(3.5, ge=0, le=8,
                                     description="Shannon bits per character a keyword-assigned "
                                                 "token value needs")
    min_token_length: int = Field(16, ge=8, le=256)


class DetectorConfig(_Strict):
    version: int = Field(1, ge=1, le=1)
    window: ContextWindow = ContextWindow()
    negative_context: list[str] = Field(
        default_factory=list,
        description="words that, when nearest to an ambiguous number, make it none of the "
                    "personal-data types (order, invoice, tracking, zip ...)")
    entities: EntitiesConfig = EntitiesConfig()
    markings: Markings = Markings()
    dictionaries: list[Dictionary] = Field(default_factory=list)
    secrets: Secrets = Secrets()

    check_terms = field_validator("negative_context")(_check_terms)

    @model_validator(mode="after")
    def _unique_dictionaries(self) -> DetectorConfig:
        seen: set[str] = set()
        for d in self.dictionaries:
            if d.name in seen:
                raise ValueError(f"dictionary name {d.name!r} used twice")
            seen.add(d.name)
        return self


def default_path() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "rules" / "detectors.yaml"


def load_detector_config(path: str | Path | None = None) -> DetectorConfig:
    """Load and validate a detectors file; raises ``agent.yamlload.ConfigError``."""
    doc = yamlload.load_yaml(default_path() if path is None else path)
    if doc.data is None:
        raise yamlload.ConfigError([yamlload.ConfigIssue(doc.file, None, "", "file is empty")])
    return yamlload.validate(doc, DetectorConfig)
