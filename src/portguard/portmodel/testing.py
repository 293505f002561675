"""Test helpers: build small port-model files and models in a few lines (for any package's tests).

This module owns the factories only. Helpers take positions as ``(lat, lon)``, the way people say
them, and write GeoJSON's ``[lon, lat]``. Example::

    model = parse_port_model(collection(
        feature("lock-a", "lock", box(51.30, 4.30, 51.31, 4.31)),
        feature("bridge-a", "bridge", point(51.305, 4.305), parent="lock-a"),
    ))
"""

from __future__ import annotations

from typing import Any

from portguard.portmodel.loader import parse_port_model
from portguard.portmodel.model import PortModel

__all__ = ["box", "collection", "feature", "line", "point", "polygon", "small_port_model"]


def point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def line(*latlon: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in latlon]}


def polygon(*latlon: tuple[float, float]) -> dict[str, Any]:
    """A polygon through these (lat, lon) corners; the ring is closed for you."""
    ring = [[lon, lat] for lat, lon in latlon]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def box(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    """An axis-aligned rectangle: ``box(lat_min, lon_min, lat_max, lon_max)``."""
    return polygon((south, west), (south, east), (north, east), (north, west))


def feature(
    id: str | None,
    kind: str | None,
    geometry: dict[str, Any] | None,
    *,
    name: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A GeoJSON Feature; ``None`` leaves id/kind out (to test files that lack them)."""
    props: dict[str, Any] = {}
    if id is not None:
        props["id"] = id
    props["name"] = name if name is not None else (id or "unnamed")
    if kind is not None:
        props["kind"] = kind
    props.update(properties)
    return {"type": "Feature", "geometry": geometry, "properties": props}


def collection(*features: dict[str, Any], name: str = "test port") -> dict[str, Any]:
    return {"type": "FeatureCollection", "name": name, "features": list(features)}


def small_port_model() -> PortModel:
    """A tiny port near 51.30 N 4.30 E: a lock with a bridge, a terminal with a gate, zones.

    ``port`` (port area, level 1) 51.29-51.32 / 4.28-4.33 contains everything else;
    ``lock-a`` 51.300-51.302 / 4.300-4.306 with ``bridge-a`` across its east end;
    ``terminal-a`` (level 1) 51.310-51.315 / 4.310-4.320 with ``gate-a`` on its south edge;
    ``no-go`` (exclusion zone) 51.295-51.298 / 4.285-4.295; ``fairway`` 51.292-51.294 / 4.28-4.33.
    """
    return parse_port_model(
        collection(
            feature("port", "port_area", box(51.29, 4.28, 51.32, 4.33), security_level=1),
            feature("lock-a", "lock", box(51.300, 4.300, 51.302, 4.306), name="Lock A"),
            feature(
                "bridge-a",
                "bridge",
                line((51.2995, 4.3055), (51.3025, 4.3055)),
                name="Bridge A",
                parent="lock-a",
            ),
            feature("terminal-a", "terminal", box(51.310, 4.310, 51.315, 4.320), security_level=1),
            feature("gate-a", "gate", point(51.3101, 4.315), facility="terminal-a"),
            feature("no-go", "exclusion_zone", box(51.295, 4.285, 51.298, 4.295)),
            feature("fairway", "fairway", box(51.292, 4.28, 51.294, 4.33), speed_limit_kn=8),
        ),
        source="portguard.portmodel.testing:small_port_model",
    )
