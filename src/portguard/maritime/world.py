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
        self._grids: dict[tuple[tuple[str, ...], float], _Grid | None] = {}
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

    def _grid(self, kinds: Iterable[str], radius_m: float) -> _Grid | None:
        key = (tuple(sorted(kinds)), float(radius_m))
        if key not in self._grids:
            tree, _ = self._tree(key[0])
            self._grids[key] = (
                None if tree is None else _Grid(shapely.bounds(tree.geometries), radius_m)
            )
        return self._grids[key]

    def near(
        self, x: F64, y: F64, kinds: Iterable[str], radius_m: float
    ) -> tuple[I64, tuple[Feature, ...], I64]:
        """Pairs (point index, feature index) within ``radius_m``; and the features.

        A coarse grid of the features' bounding boxes (grown by the radius) drops the points
        that cannot be near any of them before shapely points are made (1 µs each)."""
        tree, feats = self._tree(kinds)
        grid = self._grid(kinds, radius_m)
        if tree is None or grid is None or x.shape[0] == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, feats, empty
        idx = np.flatnonzero(grid.maybe(x, y))
        if idx.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, feats, empty
        pts = shapely.points(x[idx], y[idx])
        pairs = tree.query(pts, predicate="dwithin", distance=radius_m)
        return idx[pairs[0]].astype(np.int64), feats, pairs[1].astype(np.int64)

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


class _Grid:
    """Cells (about 250 m) that touch a bounding box grown by a radius: a cheap superset test."""

    def __init__(self, bounds: F64, radius_m: float) -> None:
        b = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
        pad = radius_m + 1.0
        self.x0, self.y0 = float(b[:, 0].min() - pad), float(b[:, 1].min() - pad)
        x1, y1 = float(b[:, 2].max() + pad), float(b[:, 3].max() + pad)
        # At most ~4 M cells, whatever the extent of the model.
        self.cell = max(250.0, ((x1 - self.x0) * (y1 - self.y0) / 4e6) ** 0.5)
        self.nx = int((x1 - self.x0) // self.cell) + 1
        self.ny = int((y1 - self.y0) // self.cell) + 1
        self.mask = np.zeros((self.nx, self.ny), dtype=bool)
        for w, s, e, n in b.tolist():
            i0, i1 = self._i(w - pad, self.x0), self._i(e + pad, self.x0)
            j0, j1 = self._i(s - pad, self.y0), self._i(n + pad, self.y0)
            self.mask[max(i0, 0) : i1 + 1, max(j0, 0) : j1 + 1] = True

    def _i(self, v: float, v0: float) -> int:
        return int((v - v0) // self.cell)

    def maybe(self, x: F64, y: F64) -> npt.NDArray[np.bool_]:
        """False where a point is surely farther than the radius from every box."""
        i = np.floor((x - self.x0) / self.cell)
        j = np.floor((y - self.y0) / self.cell)
        ok = (i >= 0) & (i < self.nx) & (j >= 0) & (j < self.ny)
        out = np.zeros(x.shape[0], dtype=bool)
        sel = np.flatnonzero(ok)
        out[sel] = self.mask[i[sel].astype(np.int64), j[sel].astype(np.int64)]
        return out


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
