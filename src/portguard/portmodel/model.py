"""``PortModel``: the port's features, indexed once and queried many times.

This module owns the read-side of the port model: lookups by id, kind, parent and facility, the
spatial questions detectors ask ("which zones is this position in?", "which assets are near it?"),
and the GeoJSON rendering for the console. A model is immutable after construction and safe to
share between threads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import shapely

from portguard.core.errors import NotFoundError, PortModelError, ValidationError
from portguard.portmodel.feature import Feature
from portguard.portmodel.geo import LocalPlane, check_lat_lon, degrees_for_metres, metres_per_degree
from portguard.portmodel.kinds import ASSET_KINDS, FeatureKind

__all__ = ["Nearby", "PortModel"]

KindsArg = FeatureKind | str | Iterable[FeatureKind | str] | None


class Nearby(NamedTuple):
    """An answer of ``PortModel.nearest_assets``: the feature and its distance in metres."""

    feature: Feature
    distance_m: float


def _kind_set(kinds: KindsArg) -> frozenset[FeatureKind] | None:
    if kinds is None:
        return None
    items = [kinds] if isinstance(kinds, str) else list(kinds)
    out: set[FeatureKind] = set()
    for k in items:
        try:
            out.add(FeatureKind(k))
        except ValueError:
            known = ", ".join(x.value for x in FeatureKind)
            raise ValidationError(f"unknown feature kind {k!r}; use one of {known}") from None
    return frozenset(out)


def _position(lat: float, lon: float) -> None:
    try:
        check_lat_lon(lat, lon)
    except (ValueError, TypeError) as exc:
        raise ValidationError(str(exc), location="position") from None


class PortModel:
    """The port as data: build it with ``load_port_model``/``parse_port_model`` or from features."""

    def __init__(self, features: Iterable[Feature], *, name: str = "", source: str = "") -> None:
        self.name = name
        self.source = source
        self._features = tuple(features)
        self._by_id: dict[str, Feature] = {}
        for f in self._features:
            if f.id in self._by_id:
                raise PortModelError(f"feature id {f.id!r} is used twice", location=source or None)
            self._by_id[f.id] = f
        by_kind: dict[FeatureKind, list[Feature]] = defaultdict(list)
        children: dict[str, list[Feature]] = defaultdict(list)
        members: dict[str, list[Feature]] = defaultdict(list)
        for f in self._features:
            by_kind[f.kind].append(f)
            for ref, index in ((f.parent, children), (f.facility, members)):
                if ref is None:
                    continue
                if ref not in self._by_id:
                    message = f"feature {f.id!r} refers to unknown feature {ref!r}"
                    raise PortModelError(message, location=source or None)
                index[ref].append(f)
        self._by_kind = {k: tuple(v) for k, v in by_kind.items()}
        self._children = {k: tuple(v) for k, v in children.items()}
        self._members = {k: tuple(v) for k, v in members.items()}
        self._facilities = tuple(f for f in self._features if f.is_facility)

        # Spatial indexes, in WGS84 degrees. All features, for distance questions...
        self._geoms = np.array([f.geometry for f in self._features], dtype=object)
        self._kinds = np.array([f.kind.value for f in self._features], dtype=object)
        self._tree = shapely.STRtree(self._geoms)
        # ...and areas only, for containment, with their size to put the most specific first.
        self._areas = tuple(f for f in self._features if f.geometry_type.endswith("Polygon"))
        self._area_geoms = np.array([f.geometry for f in self._areas], dtype=object)
        self._area_tree = shapely.STRtree(self._area_geoms)
        self._area_m2 = np.array([_area_m2(f) for f in self._areas], dtype=np.float64)
        # GEOS builds a prepared polygon's point index on first use; build it now, in one thread,
        # so that concurrent queries later only read.
        if self._areas:
            shapely.contains_xy(
                self._area_geoms, [f.lon for f in self._areas], [f.lat for f in self._areas]
            )

    # --- lookups ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._features)

    def __iter__(self) -> Iterator[Feature]:
        return iter(self._features)

    def __contains__(self, feature_id: object) -> bool:
        return feature_id in self._by_id

    def __repr__(self) -> str:
        return f"PortModel(name={self.name!r}, features={len(self)}, source={self.source!r})"

    @property
    def features(self) -> tuple[Feature, ...]:
        """Every feature, in file order."""
        return self._features

    def get(self, feature_id: str) -> Feature | None:
        return self._by_id.get(feature_id)

    def feature(self, feature_id: str) -> Feature:
        """The feature with this id; ``NotFoundError`` if there is none."""
        try:
            return self._by_id[feature_id]
        except KeyError:
            raise NotFoundError(f"the port model has no feature {feature_id!r}") from None

    def by_kind(self, *kinds: FeatureKind | str) -> tuple[Feature, ...]:
        """Features of any of these kinds, in file order."""
        wanted = _kind_set(kinds) or frozenset()
        if len(wanted) == 1:
            return self._by_kind.get(next(iter(wanted)), ())
        return tuple(f for f in self._features if f.kind in wanted)

    def facilities(self) -> tuple[Feature, ...]:
        """Features that carry an ISPS security level (terminals, port areas...), in file order."""
        return self._facilities

    def facility(self, facility_id: str) -> Feature:
        """The facility with this id; ``NotFoundError`` if absent, or not a facility."""
        f = self.feature(facility_id)
        if not f.is_facility:
            raise NotFoundError(
                f"{facility_id!r} is a {f.kind.value}, not a facility with a security level"
            )
        return f

    def children(self, feature_id: str) -> tuple[Feature, ...]:
        """Features whose ``parent`` is this feature (e.g. the bridges over a lock)."""
        return self._children.get(feature_id, ())

    def members(self, facility_id: str) -> tuple[Feature, ...]:
        """Features that belong to this facility (its gates, berths, readers...)."""
        return self._members.get(facility_id, ())

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the whole model."""
        if not self._features:
            raise NotFoundError("the port model is empty")
        b = shapely.total_bounds(self._geoms)
        return float(b[0]), float(b[1]), float(b[2]), float(b[3])

    # --- spatial questions -----------------------------------------------------------------------

    def zones_containing(self, lat: float, lon: float, kinds: KindsArg = None) -> list[Feature]:
        """Area features (polygons) whose interior contains the position, smallest first.

        Smallest first puts the most specific answer first: a lock chamber before the port area.
        ``kinds`` narrows the answer, e.g. ``kinds="exclusion_zone"``.
        """
        _position(lat, lon)
        wanted = _kind_set(kinds)
        hits = self._area_tree.query(shapely.Point(lon, lat))
        if len(hits) == 0:
            return []
        hits = hits[shapely.contains_xy(self._area_geoms[hits], lon, lat)]
        found = [(float(self._area_m2[i]), self._areas[i]) for i in hits.tolist()]
        if wanted is not None:
            found = [(a, f) for a, f in found if f.kind in wanted]
        found.sort(key=lambda af: (af[0], af[1].id))
        return [f for _, f in found]

    def nearest_assets(
        self,
        lat: float,
        lon: float,
        kinds: KindsArg = None,
        max_distance_m: float = 1_000.0,
        *,
        limit: int | None = None,
    ) -> list[Nearby]:
        """Features within ``max_distance_m`` metres of the position, nearest first.

        Distance is to the nearest point of the geometry (0 inside a polygon or on a line), in
        metres. ``kinds`` defaults to the asset kinds (everything but zones).
        """
        _position(lat, lon)
        if not (max_distance_m >= 0 and np.isfinite(max_distance_m)):
            raise ValidationError(f"max_distance_m must be 0 or more, got {max_distance_m!r}")
        wanted = ASSET_KINDS if kinds is None else (_kind_set(kinds) or frozenset())
        dlon, dlat = degrees_for_metres(lat, max_distance_m)
        hits = self._tree.query(shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        if len(hits) == 0:
            return []
        hits = hits[np.isin(self._kinds[hits], [k.value for k in wanted])]
        if len(hits) == 0:
            return []
        plane = LocalPlane(lat, lon)
        dist: npt.NDArray[np.float64] = shapely.distance(
            plane.project(self._geoms[hits]), shapely.Point(0.0, 0.0)
        )
        found = [
            Nearby(self._features[i], float(d))
            for i, d in zip(hits.tolist(), dist.tolist(), strict=True)
            if d <= max_distance_m
        ]
        found.sort(key=lambda n: (n.distance_m, n.feature.id))
        return found if limit is None else found[:limit]

    # --- rendering -------------------------------------------------------------------------------

    def to_geojson(self, *, kinds: KindsArg = None) -> dict[str, Any]:
        """The model (or some kinds of it) as a GeoJSON FeatureCollection the loader reads back."""
        wanted = _kind_set(kinds)
        out: dict[str, Any] = {"type": "FeatureCollection"}
        if self.name:
            out["name"] = self.name
        out["features"] = [
            f.to_geojson() for f in self._features if wanted is None or f.kind in wanted
        ]
        return out


def _area_m2(feature: Feature) -> float:
    """Approximate area in square metres (scaled at the centroid's latitude): for ordering only."""
    per_lon, per_lat = metres_per_degree(feature.lat)
    return float(feature.geometry.area) * per_lon * per_lat
