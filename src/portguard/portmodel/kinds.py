"""The feature-kind vocabulary of the port model: what each kind means and the geometry it takes.

This module owns the list of kinds. Adding a kind means adding it here and to ``docs/portmodel.md``
(a test checks that every kind is documented).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = [
    "ASSET_KINDS",
    "GEOMETRY_TYPES",
    "KIND_SPECS",
    "ZONE_KINDS",
    "FeatureKind",
    "KindSpec",
]

#: The GeoJSON geometry types a port-model file may use.
GEOMETRY_TYPES: Final = ("Point", "LineString", "Polygon", "MultiPolygon")

_AREA = frozenset({"Polygon", "MultiPolygon"})
_ANY = frozenset(GEOMETRY_TYPES)


class FeatureKind(StrEnum):
    """What a feature is. The value is what the file's ``kind`` property says.

    Zones (areas rules reason about) are dock, anchorage, fairway, exclusion_zone and port_area;
    every other kind is an asset: something that can be operated, attacked or stopped.
    """

    LOCK = "lock"
    BRIDGE = "bridge"
    ROAD = "road"
    GATE = "gate"
    TERMINAL = "terminal"
    BERTH = "berth"
    JETTY = "jetty"
    DOCK = "dock"
    ANCHORAGE = "anchorage"
    FAIRWAY = "fairway"
    EXCLUSION_ZONE = "exclusion_zone"
    CRITICAL_INFRASTRUCTURE = "critical_infrastructure"
    PORT_AREA = "port_area"
    PIPELINE_CROSSING = "pipeline_crossing"
    CONTROL_ROOM = "control_room"
    READER = "reader"


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One kind: a description for people, and the geometry types a file may give it."""

    description: str
    geometries: frozenset[str]
    zone: bool = False


KIND_SPECS: Final = MappingProxyType(
    {
        FeatureKind.PORT_AREA: KindSpec(
            "the land and water of a port (Directive 2005/65 port security area)", _AREA, True
        ),
        FeatureKind.ANCHORAGE: KindSpec("an area where vessels anchor and wait", _AREA, True),
        FeatureKind.FAIRWAY: KindSpec(
            "a navigation channel; usually carries speed_limit_kn", _AREA, True
        ),
        FeatureKind.EXCLUSION_ZONE: KindSpec(
            "water or land that unauthorised vessels or people must not enter", _AREA, True
        ),
        FeatureKind.DOCK: KindSpec("an enclosed or tidal basin with quays", _AREA, True),
        FeatureKind.LOCK: KindSpec("a lock chamber", _AREA),
        FeatureKind.BRIDGE: KindSpec(
            "a movable or fixed bridge; parent is the lock it crosses, if any",
            frozenset({"Point", "LineString", "Polygon"}),
        ),
        FeatureKind.ROAD: KindSpec("a road (centre line)", frozenset({"LineString"})),
        FeatureKind.GATE: KindSpec(
            "an access gate to a facility (truck, rail or pedestrian)", frozenset({"Point"})
        ),
        FeatureKind.READER: KindSpec(
            "a badge reader or access-control point", frozenset({"Point"})
        ),
        FeatureKind.TERMINAL: KindSpec("a terminal; usually an ISPS port facility", _AREA),
        FeatureKind.BERTH: KindSpec(
            "a berth (quay stretch) where a vessel moors",
            frozenset({"Point", "LineString", "Polygon"}),
        ),
        FeatureKind.JETTY: KindSpec(
            "a jetty or pier, e.g. a petrochemical loading jetty",
            frozenset({"Point", "LineString", "Polygon"}),
        ),
        FeatureKind.CRITICAL_INFRASTRUCTURE: KindSpec(
            "other critical infrastructure: tunnels, power, telecom, pumping stations", _ANY
        ),
        FeatureKind.PIPELINE_CROSSING: KindSpec(
            "where a pipeline crosses a waterway or road", frozenset({"Point", "LineString"})
        ),
        FeatureKind.CONTROL_ROOM: KindSpec(
            "a control room or nautical command post operating locks and bridges",
            frozenset({"Point", "Polygon"}),
        ),
    }
)

#: Kinds that are areas rules reason about (zones), and kinds that are assets.
ZONE_KINDS: Final = frozenset(k for k, spec in KIND_SPECS.items() if spec.zone)
ASSET_KINDS: Final = frozenset(k for k in FeatureKind if k not in ZONE_KINDS)
