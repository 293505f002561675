"""API shapes of the ISAC hub's REST routes (``/api/v1/intel``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from portguard.core.types import TLP

__all__ = [
    "CommunityCreate",
    "CommunityRead",
    "ImportResult",
    "MatchRead",
    "MatchRequest",
    "ObjectPage",
    "Observable",
    "OrganisationCreate",
    "OrganisationRead",
    "PublishRequest",
    "PublishResult",
    "RecordErrorRead",
    "SightingCreate",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationCreate(_In):
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=300)
    max_role: str = "analyst"
    client_of: list[str] = Field(default_factory=list, max_length=100)
    communities: list[str] | None = None


class OrganisationRead(BaseModel):
    id: str
    name: str
    identity_id: str
    max_role: str
    client_of: list[str]
    communities: list[str]


class CommunityCreate(_In):
    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)


class CommunityRead(BaseModel):
    id: str
    name: str
    description: str
    collection_id: str
    members: list[str]


class RecordErrorRead(BaseModel):
    position: str
    message: str
    id: str | None = None


class ImportResult(BaseModel):
    stored: int
    unchanged: int
    failed: int
    errors: list[RecordErrorRead]
    warninglist_conflicts: list[dict[str, Any]] = Field(default_factory=list)


class ObjectPage(BaseModel):
    objects: list[dict[str, Any]]
    more: bool
    next: str | None = None


class Observable(_In):
    kind: str | None = Field(
        default=None, description="domain, ip, url, hash, email; guessed if absent"
    )
    value: str = Field(min_length=1, max_length=4096)


class MatchRequest(_In):
    observables: list[Observable] = Field(min_length=1, max_length=10_000)
    #: Raise INTEL alerts and record sightings for the matches.
    alert: bool = False


class MatchRead(BaseModel):
    indicator_id: str
    name: str
    kind: str
    observable: str
    matched: str
    how: str
    tlp: TLP
    owner: str
    block: bool
    warninglists: list[str]


class SightingCreate(_In):
    indicator_id: str = Field(min_length=1, max_length=300)
    count: int = Field(default=1, ge=1, le=1_000_000)
    observable: str | None = Field(default=None, max_length=2048)


class PublishRequest(_In):
    title: str = Field(min_length=1, max_length=300)
    #: The incident's entities, ``kind:value`` (domain, ip, url, file_hash, email kinds are used).
    entities: list[str] = Field(min_length=1, max_length=10_000)
    tlp: TLP = TLP.AMBER
    community: str | None = None
    recipient_orgs: list[str] = Field(default_factory=list, max_length=1000)
    recipient_users: list[str] = Field(default_factory=list, max_length=1000)
    #: The incident reference (INC-2026-0001), kept as an external reference.
    reference: str | None = Field(default=None, max_length=200)


class PublishResult(BaseModel):
    report_id: str
    indicators: int
    errors: list[RecordErrorRead]
