"""``Feature``: one thing in the port (a lock, a bridge, a zone...), typed and immutable.

This module owns the in-memory shape of a feature and its GeoJSON rendering. Building features
from a file, with validation, is ``portguard.portmodel.loader``'s job.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import shapely
from shapely.geometry import mapping

from portguard.portmodel.kinds import ZONE_KINDS, FeatureKind

__all__ = ["RESERVED_PROPERTIES", "Feature"]

#: Properties the model reads into typed attributes; every other property stays in ``properties``.
RESERVED_PROPERTIES = frozenset(
    {"id", "name", "kind", "speed_limit_kn", "facility", "security_level", "parent"}
)


def _lists(value: Any) -> Any:
    """shapely's mapping() gives nested tuples; the console wants plain JSON arrays."""
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, eq=False)
class Feature:
    """One feature of the port model.

    ``geometry`` is a shapely geometry in WGS84 (x = longitude, y = latitude). ``lat``/``lon`` are
    its centroid. ``security_level`` is the default ISPS level of a facility (None for features
    that are not facilities); the level in force at run time lives in the database (see
    ``portguard.portmodel.service``). ``properties`` holds every property of the file that the
    model does not read itself, exactly as given.
    """

    id: str
    name: str
    kind: FeatureKind
    geometry: Any
    lat: float
    lon: float
    facility: str | None = None
    security_level: int | None = None
    speed_limit_kn: float | None = None
    parent: str | None = None
    properties: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def create(
        cls,
        *,
        id: str,
        name: str,
        kind: FeatureKind | str,
        geometry: Any,
        facility: str | None = None,
        security_level: int | None = None,
        speed_limit_kn: float | None = None,
        parent: str | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Feature:
        """A feature with its centroid computed; the geometry is prepared for fast predicates."""
        centre = geometry.centroid
        shapely.prepare(geometry)
        return cls(
            id=id,
            name=name,
            kind=FeatureKind(kind),
            geometry=geometry,
            lat=float(centre.y),
            lon=float(centre.x),
            facility=facility,
            security_level=security_level,
            speed_limit_kn=speed_limit_kn,
            parent=parent,
            properties=MappingProxyType(dict(properties or {})),
        )

    @property
    def is_facility(self) -> bool:
        """True for ISPS facilities and port areas: features that carry a security level."""
        return self.security_level is not None

    @property
    def is_zone(self) -> bool:
        return self.kind in ZONE_KINDS

    @property
    def geometry_type(self) -> str:
        return str(self.geometry.geom_type)

    def to_geojson(self) -> dict[str, Any]:
        """This feature as a GeoJSON Feature, in the same form the loader reads."""
        props: dict[str, Any] = {"id": self.id, "name": self.name, "kind": self.kind.value}
        for key in ("speed_limit_kn", "facility", "security_level", "parent"):
            value = getattr(self, key)
            if value is not None:
                props[key] = value
        props.update(copy.deepcopy(dict(self.properties)))
        geometry = mapping(self.geometry)
        return {
            "type": "Feature",
            "geometry": {"type": geometry["type"], "coordinates": _lists(geometry["coordinates"])},
            "properties": props,
        }

    def __repr__(self) -> str:
        return f"Feature(id={self.id!r}, kind={self.kind.value!r}, name={self.name!r})"
