"""API shapes of the port model: features and ISPS security levels as the HTTP API shows them.

This module owns the read and create schemas only; routes live in the API package. Read shapes
are built from domain objects (``FeatureRead.of``, ``SecurityLevelRead.of``) or ORM rows
(``SecurityLevelChangeRead.model_validate(row)``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from portguard.portmodel.feature import Feature
from portguard.portmodel.kinds import FeatureKind
from portguard.portmodel.models import SecurityLevelChange

__all__ = [
    "FeatureRead",
    "SecurityLevelChangeCreate",
    "SecurityLevelChangeRead",
    "SecurityLevelRead",
]

SecurityLevel = Annotated[int, Field(ge=1, le=3, strict=True, description="ISPS level 1, 2 or 3")]


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class FeatureRead(_Read):
    """A feature of the port model; ``geometry`` is a GeoJSON geometry (lon, lat order)."""

    id: str
    name: str
    kind: FeatureKind
    lat: float
    lon: float
    facility: str | None = None
    #: The model's default level; SecurityLevelRead has the one in force.
    security_level: int | None = None
    speed_limit_kn: float | None = None
    parent: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    geometry: dict[str, Any] | None = None

    @classmethod
    def of(cls, feature: Feature, *, with_geometry: bool = True) -> FeatureRead:
        shape = feature.to_geojson()
        return cls(
            id=feature.id,
            name=feature.name,
            kind=feature.kind,
            lat=feature.lat,
            lon=feature.lon,
            facility=feature.facility,
            security_level=feature.security_level,
            speed_limit_kn=feature.speed_limit_kn,
            parent=feature.parent,
            properties=dict(feature.properties),
            geometry=shape["geometry"] if with_geometry else None,
        )


class SecurityLevelChangeCreate(BaseModel):
    """Body of a request to set a facility's level; the facility and actor come from the route."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    level: SecurityLevel
    reason: str = Field(min_length=1, max_length=2_000)


class SecurityLevelChangeRead(_Read):
    """One recorded change."""

    id: int
    facility_id: str
    level: int
    previous_level: int
    reason: str
    actor: str
    changed_at: datetime


class SecurityLevelRead(_Read):
    """The level in force at a facility, with who set it and when (None: the model's default)."""

    facility_id: str
    facility_name: str
    level: int
    default_level: int
    changed_at: datetime | None = None
    changed_by: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, facility: Feature, latest: SecurityLevelChange | None) -> SecurityLevelRead:
        default = facility.security_level
        if default is None:
            raise ValueError(f"{facility.id!r} is not a facility: it has no security level")
        if latest is None:
            return cls(
                facility_id=facility.id,
                facility_name=facility.name,
                level=default,
                default_level=default,
            )
        return cls(
            facility_id=facility.id,
            facility_name=facility.name,
            level=latest.level,
            default_level=default,
            changed_at=latest.changed_at,
            changed_by=latest.actor,
            reason=latest.reason,
        )
