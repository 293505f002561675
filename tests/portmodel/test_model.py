"""PortModel: lookups, zones_containing and nearest_assets, checked at known points."""

from __future__ import annotations

import math
import time

import pytest
import shapely

from portguard.core.errors import NotFoundError, PortModelError, ValidationError
from portguard.portmodel import Feature, FeatureKind, PortModel, builtin_port_model
from portguard.portmodel.testing import small_port_model

LAT = 51.3  # where the small model is


def metres_per_degree_series(lat: float) -> tuple[float, float]:
    """Independent check: the standard WGS84 series for the length of a degree (lon, lat)."""
    p = math.radians(lat)
    per_lat = 111_132.92 - 559.82 * math.cos(2 * p) + 1.175 * math.cos(4 * p)
    per_lon = 111_412.84 * math.cos(p) - 93.5 * math.cos(3 * p) + 0.118 * math.cos(5 * p)
    return per_lon, per_lat


@pytest.fixture(scope="module")
def model() -> PortModel:
    return small_port_model()


def test_lookups(model: PortModel) -> None:
    assert len(model) == 7
    assert "lock-a" in model and "nope" not in model
    assert model.get("nope") is None
    lock = model.feature("lock-a")
    assert lock.kind is FeatureKind.LOCK and lock.name == "Lock A"
    with pytest.raises(NotFoundError, match="no feature 'nope'"):
        model.feature("nope")
    assert [f.id for f in model.by_kind("lock")] == ["lock-a"]
    assert [f.id for f in model.by_kind(FeatureKind.GATE, "terminal")] == ["terminal-a", "gate-a"]
    assert model.by_kind("berth") == ()
    assert [f.id for f in model.facilities()] == ["port", "terminal-a"]
    assert [f.id for f in model.children("lock-a")] == ["bridge-a"]
    assert [f.id for f in model.members("terminal-a")] == ["gate-a"]
    assert model.facility("terminal-a").security_level == 1
    with pytest.raises(NotFoundError, match="is a gate, not a facility"):
        model.facility("gate-a")


def test_centroids(model: PortModel) -> None:
    lock = model.feature("lock-a")
    assert lock.lat == pytest.approx(51.301) and lock.lon == pytest.approx(4.303)
    gate = model.feature("gate-a")
    assert (gate.lat, gate.lon) == (51.3101, 4.315)


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (51.301, 4.303, ["lock-a", "port"]),  # in the lock chamber: smallest first
        (51.312, 4.315, ["terminal-a", "port"]),
        (51.2965, 4.29, ["no-go", "port"]),
        (51.293, 4.30, ["fairway", "port"]),
        (51.305, 4.29, ["port"]),
        (51.35, 4.30, []),  # outside the port
        (-33.9, 18.4, []),  # another continent
    ],
)
def test_zones_containing(model: PortModel, lat: float, lon: float, expected: list[str]) -> None:
    assert [f.id for f in model.zones_containing(lat, lon)] == expected


def test_zones_containing_filters_by_kind(model: PortModel) -> None:
    assert [f.id for f in model.zones_containing(51.2965, 4.29, kinds="exclusion_zone")] == [
        "no-go"
    ]
    assert model.zones_containing(51.301, 4.303, kinds=["exclusion_zone", "fairway"]) == []
    with pytest.raises(ValidationError, match="unknown feature kind 'lok'"):
        model.zones_containing(51.301, 4.303, kinds="lok")


def test_zones_containing_excludes_the_boundary(model: PortModel) -> None:
    # contains, not intersects: a position exactly on the lock's edge is not in the lock.
    assert [f.id for f in model.zones_containing(51.300, 4.303)] == ["port"]


@pytest.mark.parametrize(("lat", "lon"), [(91.0, 4.0), (51.0, 181.0), (math.nan, 4.0)])
def test_positions_are_checked(model: PortModel, lat: float, lon: float) -> None:
    with pytest.raises(ValidationError):
        model.zones_containing(lat, lon)
    with pytest.raises(ValidationError):
        model.nearest_assets(lat, lon)


def test_nearest_assets_distance_north_south(model: PortModel) -> None:
    # 0.0019 degrees south of the terminal's south edge, 0.002 south of the gate on it.
    _, per_lat = metres_per_degree_series(51.309)
    near = model.nearest_assets(51.3081, 4.315, max_distance_m=300)
    assert [n.feature.id for n in near] == ["terminal-a", "gate-a"]
    assert near[0].distance_m == pytest.approx(0.0019 * per_lat, abs=0.5)  # ~211 m
    assert near[1].distance_m == pytest.approx(0.0020 * per_lat, abs=0.5)  # ~222 m


def test_nearest_assets_distance_east_west(model: PortModel) -> None:
    per_lon, _ = metres_per_degree_series(51.3101)
    near = model.nearest_assets(51.3101, 4.335, kinds="gate", max_distance_m=2_000)
    assert [n.feature.id for n in near] == ["gate-a"]
    assert near[0].distance_m == pytest.approx(0.020 * per_lon, abs=1.0)  # ~1,397 m


def test_nearest_assets_distance_diagonal() -> None:
    g = Feature.create(id="g", name="g", kind="gate", geometry=shapely.Point(4.30, 51.30))
    model = PortModel([g])
    per_lon, per_lat = metres_per_degree_series(51.3045)
    expected = math.hypot(0.012 * per_lon, 0.009 * per_lat)  # ~1,325 m
    (near,) = model.nearest_assets(51.309, 4.312, max_distance_m=1_500)
    assert near.distance_m == pytest.approx(expected, abs=1.0)


def test_nearest_assets_inside_a_polygon_is_zero_and_sorted(model: PortModel) -> None:
    per_lon, _ = metres_per_degree_series(51.301)
    near = model.nearest_assets(51.301, 4.3056, max_distance_m=1_000)
    assert near[0].feature.id == "lock-a" and near[0].distance_m == 0.0
    assert near[1].feature.id == "bridge-a"
    assert near[1].distance_m == pytest.approx(0.0001 * per_lon, abs=0.1)  # ~7 m
    assert [n.distance_m for n in near] == sorted(n.distance_m for n in near)


def test_nearest_assets_leaves_out_zones_unless_asked(model: PortModel) -> None:
    near = model.nearest_assets(51.2965, 4.29, max_distance_m=400)
    assert all(not n.feature.is_zone for n in near)
    zones = model.nearest_assets(51.2965, 4.29, kinds=["exclusion_zone"], max_distance_m=10)
    assert [(n.feature.id, n.distance_m) for n in zones] == [("no-go", 0.0)]


def test_nearest_assets_limit_and_radius(model: PortModel) -> None:
    assert model.nearest_assets(51.35, 4.30, max_distance_m=1_000) == []
    assert len(model.nearest_assets(51.301, 4.303, max_distance_m=5_000, limit=1)) == 1
    everything = model.nearest_assets(51.301, 4.303, max_distance_m=5_000)
    assert {n.feature.id for n in everything} == {"lock-a", "bridge-a", "terminal-a", "gate-a"}
    with pytest.raises(ValidationError, match="max_distance_m"):
        model.nearest_assets(51.301, 4.303, max_distance_m=-1)


def test_to_geojson_filters_kinds(model: PortModel) -> None:
    out = model.to_geojson(kinds=["gate"])
    assert out["type"] == "FeatureCollection"
    assert [f["properties"]["id"] for f in out["features"]] == ["gate-a"]
    assert out["features"][0]["geometry"] == {"type": "Point", "coordinates": [4.315, 51.3101]}
    assert out["features"][0]["properties"]["facility"] == "terminal-a"


def test_model_from_features_refuses_duplicates_and_dangling_references() -> None:
    a = Feature.create(id="a", name="A", kind="gate", geometry=shapely.Point(4.3, 51.3))
    with pytest.raises(PortModelError, match="'a' is used twice"):
        PortModel([a, a])
    b = Feature.create(
        id="b", name="B", kind="gate", geometry=shapely.Point(4.3, 51.3), facility="zz"
    )
    with pytest.raises(PortModelError, match="unknown feature 'zz'"):
        PortModel([b])


def test_empty_model() -> None:
    model = PortModel([])
    assert model.zones_containing(51.3, 4.3) == []
    assert model.nearest_assets(51.3, 4.3) == []
    assert model.facilities() == ()
    with pytest.raises(NotFoundError):
        _ = model.bounds


def test_queries_are_fast_on_the_builtin_model() -> None:
    model = builtin_port_model()
    start = time.perf_counter()
    for i in range(2_000):
        lat = 51.25 + (i % 100) * 0.001
        model.zones_containing(lat, 4.30)
        model.nearest_assets(lat, 4.30, max_distance_m=500)
    # ~50 us each on a laptop; the bound only catches an accidental linear scan gone wrong.
    assert time.perf_counter() - start < 5.0
