"""API shapes of the maritime domain (read-only: vessels, tracks as GeoJSON, alerts, stats)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["VesselRead", "track_geojson"]


def _iso(t: float | None) -> dt.datetime | None:
    if t is None or math.isnan(t):
        return None
    return dt.datetime.fromtimestamp(t, tz=dt.UTC)


class VesselRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mmsi: str
    name: str | None = None
    imo: str | None = None
    callsign: str | None = None
    ship_type: int | None = None
    length_m: int | None = None
    beam_m: int | None = None
    destination: str | None = None
    eta: str | None = None
    last_seen: dt.datetime | None = None
    lat: float | None = None
    lon: float | None = None
    sog: float | None = None
    cog: float | None = None
    heading: int | None = None
    status: int | None = None
    reports: int = 0

    @classmethod
    def of(cls, mmsi: int, info: dict[str, Any] | None, fix: dict[str, Any] | None) -> VesselRead:
        info = info or {}
        fix = fix or {}
        imo = info.get("imo")
        return cls(
            mmsi=f"{mmsi:09d}",
            name=info.get("name"),
            imo=f"{imo:07d}" if isinstance(imo, int) else None,
            callsign=info.get("callsign"),
            ship_type=info.get("ship_type"),
            length_m=info.get("length_m"),
            beam_m=info.get("beam_m"),
            destination=info.get("destination"),
            eta=info.get("eta"),
            last_seen=_iso(fix.get("t")),
            lat=fix.get("lat"),
            lon=fix.get("lon"),
            sog=fix.get("sog"),
            cog=fix.get("cog"),
            heading=fix.get("heading"),
            status=fix.get("status"),
            reports=int(fix.get("n", 0) or 0),
        )


def track_geojson(
    mmsi: int, points: list[tuple[float, float, float, float, float]], props: dict[str, Any]
) -> dict[str, Any]:
    """A vessel's track as a GeoJSON Feature (LineString; Point for a single fix) with the
    times and speeds of each vertex in ``properties``."""
    coords = [[lon, lat] for _, lat, lon, _, _ in points]
    geometry: dict[str, Any] | None
    if len(coords) >= 2:
        geometry = {"type": "LineString", "coordinates": coords}
    elif coords:
        geometry = {"type": "Point", "coordinates": coords[0]}
    else:
        geometry = None
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            **props,
            "mmsi": f"{mmsi:09d}",
            "times": [dt.datetime.fromtimestamp(t, tz=dt.UTC).isoformat() for t, *_ in points],
            "sog": [None if math.isnan(s) else s for *_, s, _ in points],
            "cog": [None if math.isnan(c) else c for *_, c in points],
        },
    }
