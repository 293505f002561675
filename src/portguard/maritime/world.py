"""What detectors see: the port model prepared for vectorised questions, and the ``World`` view.

This module owns the geometry detectors need at sweep time. ``PortGeo`` projects the port model
once onto a local metric plane (east/north metres around the model's centre) and builds shapely
STRtrees of the critical assets and berths there, so "which vessels are within 300 m of a lock"
is one ``STRtree.query(points, predicate="dwithin")`` for the whole fleet, and zone membership is a
bounding-box mask plus ``shapely.contains_xy``. ``World`` bundles it with the picture, registry,
recent history, config and the ISPS levels in force: detectors read it and never write it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from portguard.maritime.config import MaritimeConfig
from portguard.maritime.tracks import Picture, RecentHistory, Registry
from portguard.portmodel import Feature, FeatureKind, PortModel
from portguard.portmodel.geo import metres_per_degree

__all__ = ["PortGeo", "World"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class PortGeo:
    """The port model on a local plane, with the indexes the sweeps use."""

    def __init__(self, model: PortModel, *, margin_deg: float = 0.25) -> None:
        self.model = model
        if len(model):
            w, s, e, n = model.bounds
        else:  # an empty model: nothing is "in the port"
            w = s = e = n = 0.0
        self.lat0 = (s + n) / 2
        self.lon0 = (w + e) / 2
        self.kx, self.ky = metres_per_degree(self.lat0)
        self.region = (w - margin_deg, s - margin_deg, e + margin_deg, n + margin_deg)
        self.has_model = len(model) > 0
        self._trees: dict[tuple[str, ...], tuple[Any, tuple[Feature, ...]]] = {}
        self.zones = tuple(f for f in model if f.geometry_type.endswith("Polygon"))
        self._zone_bounds = {f.id: f.geometry.bounds for f in self.zones}
        self._places: dict[str, list[Feature]] = {}

    def xy(self, lat: F64, lon: F64) -> tuple[F64, F64]:
        """Local metric coordinates (east, north) in metres."""
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def in_region(self, lat: F64, lon: F64) -> npt.NDArray[np.bool_]:
        w, s, e, n = self.region
        inside: npt.NDArray[np.bool_] = (lat >= s) & (lat <= n) & (lon >= w) & (lon <= e)
        return inside if self.has_model else np.zeros(lat.shape, dtype=bool)

    def _tree(self, kinds: Iterable[str]) -> tuple[Any, tuple[Feature, ...]]:
        key = tuple(sorted(kinds))
        hit = self._trees.get(key)
        if hit is None:
            feats = self.model.by_kind(*key) if key else ()

            def proj(c: F64) -> F64:
                return np.column_stack(
                    ((c[:, 0] - self.lon0) * self.kx, (c[:, 1] - self.lat0) * self.ky)
                )

            geoms = [shapely.transform(f.geometry, proj) for f in feats]
            hit = (shapely.STRtree(geoms) if geoms else None, feats)
            self._trees[key] = hit
        return hit

    def near(
        self, x: F64, y: F64, kinds: Iterable[str], radius_m: float
    ) -> tuple[I64, tuple[Feature, ...], I64]:
        """Pairs (point index, feature index) within ``radius_m``; and the features."""
        tree, feats = self._tree(kinds)
        if tree is None or x.shape[0] == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, feats, empty
        pts = shapely.points(x, y)
        pairs = tree.query(pts, predicate="dwithin", distance=radius_m)
        return pairs[0].astype(np.int64), feats, pairs[1].astype(np.int64)

    def near_dist(
        self, x: F64, y: F64, kinds: Iterable[str], radius_m: float
    ) -> tuple[I64, tuple[Feature, ...], I64, F64]:
        """Like ``near``, with the distance (m) of each pair."""
        pi, feats, fi = self.near(x, y, kinds, radius_m)
        if pi.size == 0:
            return pi, feats, fi, np.zeros(0)
        tree, _ = self._tree(kinds)
        dist: F64 = shapely.distance(tree.geometries[fi], shapely.points(x[pi], y[pi]))
        return pi, feats, fi, dist

    def distance_m(self, feature: Feature, lat: float, lon: float) -> float:
        tree, feats = self._tree([feature.kind.value])
        i = feats.index(feature)
        x, y = self.xy(np.array([lat]), np.array([lon]))
        return float(shapely.distance(tree.geometries[i], shapely.Point(x[0], y[0])))

    def inside(self, zone: Feature, lat: F64, lon: F64) -> npt.NDArray[np.bool_]:
        """Which positions lie in the zone: bounding-box mask, then exact test."""
        w, s, e, n = self._zone_bounds[zone.id]
        mask = (lat >= s) & (lat <= n) & (lon >= w) & (lon <= e)
        if mask.any():
            idx = np.flatnonzero(mask)
            mask[idx] = shapely.contains_xy(zone.geometry, lon[idx], lat[idx])
        result: npt.NDArray[np.bool_] = mask
        return result

    def zones_of_kind(self, *kinds: str) -> tuple[Feature, ...]:
        wanted = {FeatureKind(k) for k in kinds}
        return tuple(z for z in self.zones if z.kind in wanted)

    def places_of(self, feature: Feature) -> list[Feature]:
        """Area features containing a feature's centre (cached: the model is immutable)."""
        hit = self._places.get(feature.id)
        if hit is None:
            hit = self._places[feature.id] = [
                z for z in self.places(feature.lat, feature.lon) if z.id != feature.id
            ]
        return hit

    def places(self, lat: float, lon: float) -> list[Feature]:
        """Area features containing the position, smallest first."""
        if not self.has_model:
            return []
        return self.model.zones_containing(lat, lon)


@dataclass
class World:
    """The read-only view a detector gets."""

    geo: PortGeo
    config: MaritimeConfig
    picture: Picture
    registry: Registry
    history: RecentHistory
    #: ISPS level in force per facility id (defaults from the model).
    levels: dict[str, int] = field(default_factory=dict)

    def level_at(self, places: list[Feature]) -> int:
        """The highest security level of the facilities around a position (1 if none)."""
        found = [self.levels.get(f.id, f.security_level or 1) for f in places if f.is_facility]
        return max(found) if found else 1

    def ship_type(self, mmsi: int) -> int | None:
        info = self.registry.get(mmsi)
        return info.ship_type if info is not None else None
