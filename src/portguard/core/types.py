"""The shared vocabulary of PortGuard: Event, Alert, entity references, Severity and TLP.

Domains meet only through these shapes on the bus. They are pydantic models so that every edge
(HTTP, files, the bus) validates the same way; unknown fields are refused, not dropped.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from portguard.core.clock import ensure_utc, utcnow
from portguard.core.ids import new_id

__all__ = [
    "TLP",
    "Alert",
    "Domain",
    "EntityKind",
    "EntityRef",
    "Event",
    "Location",
    "Severity",
]


class Severity(IntEnum):
    """Ordered, so that ``max()`` of a group of alerts is the incident's severity."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        if isinstance(value, Severity):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise ValueError(f"unknown severity {value!r}; use one of {names}") from None

    def __str__(self) -> str:
        return self.name.lower()


class TLP(StrEnum):
    """Traffic Light Protocol 2.0 labels, ordered from most to least shareable."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def rank(self) -> int:
        return _TLP_ORDER.index(self)

    @classmethod
    def parse(cls, value: str | TLP) -> TLP:
        if isinstance(value, TLP):
            return value
        v = value.strip().lower().removeprefix("tlp:").replace("_", "+")
        if v == "white":  # TLP 1.0 name, still seen in feeds
            v = "clear"
        try:
            return cls(v)
        except ValueError:
            raise ValueError(
                f"unknown TLP {value!r}; use one of {', '.join(t.value for t in cls)}"
            ) from None


_TLP_ORDER = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]


class Domain(StrEnum):
    """Where an event or alert comes from."""

    MAIL = "mail"
    INTEL = "intel"
    MARITIME = "maritime"
    ACCESS = "access"
    INFRA = "infra"
    LOGS = "logs"
    INCIDENTS = "incidents"
    ANALYST = "analyst"  # recorded by a person: disinformation reports, manual alerts
    SYSTEM = "system"  # PortGuard itself: overdue reports, health


class EntityKind(StrEnum):
    MMSI = "mmsi"
    IMO = "imo"
    PERSON = "person"
    BADGE = "badge"
    EMAIL = "email"
    DOMAIN = "domain"
    URL = "url"
    IP = "ip"
    HOST = "host"
    ACCOUNT = "account"
    FILE_HASH = "file_hash"
    ASSET = "asset"
    ZONE = "zone"
    ORGANISATION = "organisation"


_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]{1,63}$"
)
_HASH_RE = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")


def _normalise_entity(kind: EntityKind, value: str) -> str:
    v = value.strip()
    if not v:
        raise ValueError(f"{kind.value} entity has an empty value")
    if len(v) > 2048:
        raise ValueError(f"{kind.value} entity value is longer than 2048 characters")
    match kind:
        case EntityKind.MMSI:
            if not (v.isdigit() and len(v) == 9):
                raise ValueError(f"MMSI must be 9 digits, got {value!r}")
        case EntityKind.IMO:
            v = v.upper().removeprefix("IMO").strip()
            if not (v.isdigit() and len(v) == 7):
                raise ValueError(f"IMO number must be 7 digits, got {value!r}")
        case EntityKind.EMAIL:
            v = v.lower()
            if not _EMAIL_RE.match(v):
                raise ValueError(f"not an e-mail address: {value!r}")
        case EntityKind.DOMAIN | EntityKind.HOST:
            v = v.lower().rstrip(".")
            if kind is EntityKind.DOMAIN and not _DOMAIN_RE.match(v):
                raise ValueError(f"not a domain name: {value!r}")
        case EntityKind.IP:
            try:
                v = str(ipaddress.ip_address(v))
            except ValueError:
                raise ValueError(f"not an IP address: {value!r}") from None
        case EntityKind.FILE_HASH:
            v = v.lower()
            if not _HASH_RE.match(v):
                raise ValueError(f"not an MD5/SHA-1/SHA-256/SHA-512 hex digest: {value!r}")
        case _:
            pass
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=100_000)


class EntityRef(_Model):
    """A reference to something in the world: a vessel, a person, a domain, an asset..."""

    kind: EntityKind
    value: str = Field(min_length=1, max_length=2048)

    @model_validator(mode="after")
    def _normalise(self) -> Self:
        norm = _normalise_entity(self.kind, self.value)
        if norm != self.value:
            object.__setattr__(self, "value", norm)
        return self

    @property
    def key(self) -> str:
        """``kind:value``, the form used for correlation and indexing."""
        return f"{self.kind.value}:{self.value}"

    @classmethod
    def of(cls, kind: str | EntityKind, value: str) -> EntityRef:
        try:
            k = EntityKind(kind)
        except ValueError:
            kinds = ", ".join(e.value for e in EntityKind)
            raise ValueError(f"unknown entity kind {kind!r}; use one of {kinds}") from None
        return cls(kind=k, value=value)

    @classmethod
    def parse(cls, text: str) -> EntityRef:
        """Parse ``kind:value`` (e.g. ``mmsi:244123456``)."""
        kind, sep, value = text.partition(":")
        if not sep:
            raise ValueError(f"entity must be written kind:value, got {text!r}")
        return cls.of(kind, value)


class Location(_Model):
    """Where: a port-model asset and/or zone, and/or a WGS84 position."""

    asset_id: str | None = Field(default=None, max_length=200)
    zone_id: str | None = Field(default=None, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


def _utc(value: datetime) -> datetime:
    return ensure_utc(value)


class Event(_Model):
    """One normalised observation from a source."""

    id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    observed_at: datetime
    received_at: datetime = Field(default_factory=utcnow)
    source: str = Field(min_length=1, max_length=200)
    domain: Domain
    kind: str = Field(min_length=1, max_length=100)
    entities: tuple[EntityRef, ...] = ()
    location: Location | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    raw_ref: str | None = Field(default=None, max_length=2048)

    _norm_times = field_validator("observed_at", "received_at")(_utc)


class Alert(_Model):
    """A detector's finding, with the evidence and a human explanation of why."""

    id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    rule_id: str = Field(min_length=1, max_length=200)
    rule_version: str = Field(default="1", max_length=50)
    domain: Domain
    severity: Severity
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    title: str = Field(min_length=1, max_length=500)
    why: str = Field(default="", max_length=10_000)
    observed_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    evidence: tuple[str, ...] = Field(default=(), max_length=10_000)
    entities: tuple[EntityRef, ...] = Field(default=(), max_length=1_000)
    location: Location | None = None
    tlp: TLP = TLP.AMBER
    category: str | None = Field(default=None, max_length=100)
    attributes: dict[str, Any] = Field(default_factory=dict)
    #: Alerts with the same fingerprint inside the dedup window are one alert seen again.
    fingerprint: str | None = Field(default=None, max_length=500)

    _norm_times = field_validator("observed_at", "created_at")(_utc)

    @field_validator("severity", mode="before")
    @classmethod
    def _sev(cls, v: Any) -> Severity:
        return Severity.parse(v)

    @field_validator("tlp", mode="before")
    @classmethod
    def _tlp(cls, v: Any) -> TLP:
        return TLP.parse(v)

    @field_serializer("severity")
    def _sev_out(self, v: Severity) -> str:
        return str(v)

    def dedup_key(self) -> str:
        """What makes two alerts the same finding: explicit fingerprint, else rule + subjects."""
        if self.fingerprint:
            return f"{self.rule_id}|{self.fingerprint}"
        ents = ",".join(sorted(e.key for e in self.entities))
        loc = ""
        if self.location is not None:
            loc = f"{self.location.asset_id or ''}/{self.location.zone_id or ''}"
        return f"{self.rule_id}|{ents}|{loc}"
