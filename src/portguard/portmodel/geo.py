"""Metric geometry on WGS84 lon/lat: a local tangent plane good to well under a metre in a port.

This module owns the conversion from degrees to metres. Geometries stay in WGS84 (GeoJSON order:
lon, lat); distances are measured by projecting the few geometries involved onto a plane centred
on the query point, scaled by the WGS84 ellipsoid's meridian and prime-vertical radii. East-west
scale is taken at the mean latitude of each vertex and the centre, so the error over 10 km stays
below a few metres, and over the 1-2 km that port questions ask about, below one.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "LocalPlane",
    "check_lat_lon",
    "degrees_for_metres",
    "metres_per_degree",
]

_A: Final = 6_378_137.0  # WGS84 semi-major axis, metres
_E2: Final = 6.694_379_990_14e-3  # WGS84 first eccentricity squared
_RAD: Final = math.pi / 180.0


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of (longitude, latitude) at latitude ``lat``, on the WGS84 ellipsoid."""
    s = math.sin(lat * _RAD)
    w = 1.0 - _E2 * s * s
    meridian = _A * (1.0 - _E2) / (w * math.sqrt(w))
    prime_vertical = _A / math.sqrt(w)
    return prime_vertical * math.cos(lat * _RAD) * _RAD, meridian * _RAD


def degrees_for_metres(lat: float, metres: float) -> tuple[float, float]:
    """How many degrees of (longitude, latitude) ``metres`` spans at ``lat``, rounded up by 1%."""
    per_lon, per_lat = metres_per_degree(lat)
    # Past ~89.9 degrees a degree of longitude is almost nothing: cover every longitude.
    dlon = 360.0 if per_lon < 1.0 else metres / per_lon * 1.01
    return dlon, metres / per_lat * 1.01


def check_lat_lon(lat: float, lon: float) -> None:
    """Raise ``ValueError`` unless (lat, lon) is a finite WGS84 position."""
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be a number from -90 to 90, got {lat!r}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude must be a number from -180 to 180, got {lon!r}")


class LocalPlane:
    """A plane tangent to the ellipsoid at (lat, lon); x east and y north, in metres."""

    __slots__ = ("lat", "lon")

    def __init__(self, lat: float, lon: float) -> None:
        self.lat = lat
        self.lon = lon

    def _xy(self, lonlat: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon = lonlat[:, 0]
        lat = lonlat[:, 1]
        mid = 0.5 * (lat + self.lat) * _RAD
        s = np.sin(mid)
        w = 1.0 - _E2 * s * s
        prime_vertical = _A / np.sqrt(w)
        meridian = _A * (1.0 - _E2) / (w * np.sqrt(w))
        # Unwrap across the antimeridian so that 179.9 and -179.9 are neighbours.
        dlon = (lon - self.lon + 180.0) % 360.0 - 180.0
        x = dlon * _RAD * prime_vertical * np.cos(mid)
        y = (lat - self.lat) * _RAD * meridian
        return np.column_stack((x, y))

    def project(self, geometry: Any) -> Any:
        """The geometry (or array of geometries) in this plane's metres."""
        return shapely.transform(geometry, self._xy)

    def distance_m(self, geometry: Any, lat: float, lon: float) -> float:
        """Metres from (lat, lon) to the nearest point of ``geometry`` (0 if inside)."""
        here = self.project(shapely.Point(lon, lat))
        return float(shapely.distance(self.project(geometry), here))
