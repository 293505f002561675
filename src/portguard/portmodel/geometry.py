"""GeoJSON geometry objects → shapely geometries, with every structural fault named by its path.

This module owns the geometry rules of the file format: the four supported types, positions as
``[longitude, latitude]`` (an altitude, if present, is dropped), closed rings, and OGC validity.
"""

from __future__ import annotations

import math
from typing import Any, Final

import shapely

from portguard.portmodel.kinds import GEOMETRY_TYPES

__all__ = ["parse_geometry"]

GeometryProblems = list[tuple[str, str]]
#: Bad positions reported per geometry before the rest are summarised.
MAX_POSITION_PROBLEMS: Final = 3


class _Bad(Exception):
    """A structural fault; carries the JSON path of the faulty member."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _what(value: Any) -> str:
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."


class _Positions:
    """Reads positions, collecting a few bad ones instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: GeometryProblems = []
        self.bad = 0

    def position(self, value: Any, path: str) -> tuple[float, float]:
        fault = self._fault(value)
        if fault is None:
            return float(value[0]), float(value[1])
        self.bad += 1
        if self.bad <= MAX_POSITION_PROBLEMS:
            self.problems.append((path, f"{path} {fault}"))
        return 0.0, 0.0

    @staticmethod
    def _fault(value: Any) -> str | None:
        if not isinstance(value, list) or not 2 <= len(value) <= 3:
            return f"must be a position [longitude, latitude], got {_what(value)}"
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in value):
            return f"must hold numbers, got {_what(value)}"
        try:
            numbers = [float(v) for v in value]
        except OverflowError:  # an integer with hundreds of digits
            numbers = [math.inf]
        if not all(math.isfinite(v) for v in numbers):
            return f"must hold finite numbers, got {_what(value)}"
        lon, lat = numbers[0], numbers[1]
        if not -90 <= lat <= 90:
            hint = ""
            if -90 <= lon <= 90:
                hint = " (is it [latitude, longitude]? GeoJSON order is [longitude, latitude])"
            return f"has latitude {lat} outside -90..90{hint}"
        if not -180 <= lon <= 180:
            return f"has longitude {lon} outside -180..180"
        return None

    def line(self, value: Any, path: str, minimum: int) -> list[tuple[float, float]]:
        if not isinstance(value, list):
            raise _Bad(path, f"{path} must be an array of positions, got {_what(value)}")
        points = [self.position(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if len(points) < minimum:
            raise _Bad(path, f"{path} needs at least {minimum} positions, got {len(points)}")
        return points

    def ring(self, value: Any, path: str) -> list[tuple[float, float]]:
        points = self.line(value, path, 4)
        if self.bad == 0 and points[0] != points[-1]:
            raise _Bad(path, f"{path} is not closed: its last position must repeat its first")
        return points

    def polygon(self, value: Any, path: str) -> Any:
        if not isinstance(value, list) or not value:
            got = _what(value)
            raise _Bad(path, f"{path} must be a non-empty array of linear rings, got {got}")
        rings = [self.ring(r, f"{path}[{i}]") for i, r in enumerate(value)]
        return shapely.Polygon(rings[0], rings[1:])


def _build(kind: str, coords: Any, reader: _Positions) -> Any:
    path = "geometry.coordinates"
    if kind == "Point":
        x, y = reader.position(coords, path)
        return shapely.Point(x, y)
    if kind == "LineString":
        return shapely.LineString(reader.line(coords, path, 2))
    if kind == "Polygon":
        return reader.polygon(coords, path)
    if not isinstance(coords, list) or not coords:
        raise _Bad(path, f"{path} must be a non-empty array of polygons, got {_what(coords)}")
    return shapely.MultiPolygon([reader.polygon(p, f"{path}[{i}]") for i, p in enumerate(coords)])


def parse_geometry(raw: Any) -> tuple[Any | None, GeometryProblems]:
    """A shapely geometry from a GeoJSON geometry, or None and its (field, message) faults."""
    if raw is None:
        return None, [("geometry", "geometry is missing")]
    if not isinstance(raw, dict):
        return None, [("geometry", f"geometry must be a GeoJSON geometry object, got {_what(raw)}")]
    kind = raw.get("type")
    if kind not in GEOMETRY_TYPES:
        supported = ", ".join(GEOMETRY_TYPES)
        message = f"geometry.type {repr(kind)[:40]} is not supported; use one of {supported}"
        return None, [("geometry.type", message)]
    if "coordinates" not in raw:
        return None, [("geometry.coordinates", "geometry.coordinates is missing")]
    reader = _Positions()
    try:
        geometry = _build(kind, raw["coordinates"], reader)
    except _Bad as bad:
        return None, [*reader.problems, (bad.path, bad.message)]
    if reader.bad:
        if reader.bad > MAX_POSITION_PROBLEMS:
            more = reader.bad - MAX_POSITION_PROBLEMS
            reader.problems.append(("geometry.coordinates", f"... and {more} more bad positions"))
        return None, reader.problems
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        return None, [("geometry", f"geometry is not a valid {kind}: {reason}")]
    return geometry, []
