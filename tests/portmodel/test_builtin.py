"""The built-in Antwerp-Bruges model: loads, and has the named assets where they should be."""

from __future__ import annotations

import json
import math

import pytest
import shapely

from portguard.portmodel import (
    FeatureKind,
    builtin_port_model,
    builtin_port_model_text,
    parse_port_model,
    validate,
)
from portguard.portmodel.geo import LocalPlane

# id, name, lat, lon: the positions given in the brief (from public sources).
LOCKS = [
    ("berendrecht-lock", "Berendrechtsluis", 51.3442, 4.2856),
    ("zandvliet-lock", "Zandvlietsluis", 51.3464, 4.2856),
    ("kieldrecht-lock", "Kieldrechtsluis", 51.2792, 4.2472),
    ("boudewijn-lock", "Boudewijnsluis", 51.2801, 4.3306),
    ("van-cauwelaert-lock", "Van Cauwelaertsluis", 51.2758, 4.3303),
    ("royers-lock", "Royerssluis", 51.2406, 4.4014),
    ("kallo-lock", "Kallosluis", 51.2530, 4.2790),
    ("vandamme-lock", "Pierre Vandammesluis", 51.3342, 3.2169),
]
BRIDGES = {
    "berendrecht-lock": {"berendrecht-bridge"},
    "zandvliet-lock": {"zandvliet-bridge"},
    "kieldrecht-lock": {"kieldrecht-bridge-north", "kieldrecht-bridge-south"},
    "boudewijn-lock": {"boudewijn-bridge"},
    "van-cauwelaert-lock": {"van-cauwelaert-bridge"},
    "royers-lock": {"royers-bridge"},
    "kallo-lock": {"kallo-bridge-melsele", "kallo-bridge-farnese"},
    "vandamme-lock": {"vandamme-bridge"},
}


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return LocalPlane(lat1, lon1).distance_m(shapely.Point(lon2, lat2), lat1, lon1)


def test_builtin_loads_once_and_validates_clean() -> None:
    model = builtin_port_model()
    assert model is builtin_port_model()
    assert len(model) > 40
    assert validate(json.loads(builtin_port_model_text())) == []


def test_every_position_is_in_belgian_or_dutch_waters_lon_lat_order() -> None:
    # A swapped [lat, lon] pair would land near (4, 51): far outside this box.
    west, south, east, north = builtin_port_model().bounds
    assert west > 2.4 and east < 4.5
    assert south > 51.1 and north < 51.5


@pytest.mark.parametrize(("lock_id", "name", "lat", "lon"), LOCKS)
def test_named_locks_are_where_they_should_be(
    lock_id: str, name: str, lat: float, lon: float
) -> None:
    model = builtin_port_model()
    lock = model.feature(lock_id)
    assert lock.kind is FeatureKind.LOCK
    assert lock.name == name
    assert lock.geometry_type == "Polygon"
    assert metres(lat, lon, lock.lat, lock.lon) < 300
    # The published point falls inside the drawn chamber, and the chamber is the first answer.
    assert model.zones_containing(lat, lon)[0] is lock


@pytest.mark.parametrize(("lock_id", "name", "lat", "lon"), LOCKS)
def test_each_lock_has_its_bridges(lock_id: str, name: str, lat: float, lon: float) -> None:
    model = builtin_port_model()
    bridges = model.children(lock_id)
    assert {b.id for b in bridges} == BRIDGES[lock_id]
    lock = model.feature(lock_id)
    for bridge in bridges:
        assert bridge.kind is FeatureKind.BRIDGE
        assert bridge.parent == lock_id
        assert bridge.geometry.intersects(lock.geometry), f"{bridge.id} does not cross {lock_id}"
    # ... and the nearest bridge of a lock, seen from the lock, is one of its own.
    near = model.nearest_assets(lat, lon, kinds="bridge", max_distance_m=2_000)
    assert near[0].feature.id in BRIDGES[lock_id]


def test_deurganckdok_and_its_terminals() -> None:
    model = builtin_port_model()
    dock = model.feature("deurganckdok")
    assert dock.kind is FeatureKind.DOCK
    assert metres(51.2918, 4.2608, dock.lat, dock.lon) < 300
    assert model.zones_containing(51.2918, 4.2608, kinds="dock") == [dock]
    for terminal_id in ("terminal-mpet", "terminal-antwerp-gateway"):
        terminal = model.feature(terminal_id)
        assert terminal.kind is FeatureKind.TERMINAL
        assert terminal.security_level == 1
        assert metres(dock.lat, dock.lon, terminal.lat, terminal.lon) < 1_000
        kinds = {m.kind for m in model.members(terminal_id)}
        assert {FeatureKind.GATE, FeatureKind.BERTH} <= kinds


def test_facilities_have_security_levels_and_members_point_at_facilities() -> None:
    model = builtin_port_model()
    facilities = model.facilities()
    assert {"terminal-mpet", "terminal-antwerp-gateway", "terminal-petrochem-lillo"} <= {
        f.id for f in facilities
    }
    assert all(f.security_level in (1, 2, 3) for f in facilities)
    assert all(t.is_facility for t in model.by_kind("terminal"))
    gates = model.by_kind("gate")
    assert len(gates) >= 4
    for gate in gates:
        assert gate.facility is not None
        facility = model.facility(gate.facility)
        # A gate stands on its facility's ground.
        assert facility in model.zones_containing(gate.lat, gate.lon)


def test_scheldt_fairway_runs_from_vlissingen_to_antwerp_with_speed_limits() -> None:
    model = builtin_port_model()
    fairways = model.by_kind("fairway")
    assert fairways and all(f.speed_limit_kn and f.speed_limit_kn > 0 for f in fairways)
    for lat, lon in [
        (51.440, 3.570),
        (51.392, 4.205),
        (51.230, 4.395),
    ]:  # Vlissingen, Bath, Antwerp
        assert model.zones_containing(lat, lon, kinds="fairway"), (lat, lon)
    # Deurganckdok and the lock chambers are not fairway.
    assert not model.zones_containing(51.2918, 4.2608, kinds="fairway")
    assert not model.zones_containing(51.3442, 4.2856, kinds="fairway")


def test_anchorages() -> None:
    model = builtin_port_model()
    assert [z.id for z in model.zones_containing(51.42, 2.65)] == ["anchorage-westhinder"]
    scheldt = [a for a in model.by_kind("anchorage") if a.id != "anchorage-westhinder"]
    assert scheldt and all(3.5 < a.lon < 4.4 for a in scheldt)


def test_petrochemical_exclusion_zone_jetties_and_terminal() -> None:
    model = builtin_port_model()
    (zone,) = model.by_kind("exclusion_zone")
    assert metres(51.30, 4.30, zone.lat, zone.lon) < 2_500
    jetties = model.by_kind("jetty")
    assert len(jetties) >= 2
    for jetty in jetties:
        assert jetty.facility == "terminal-petrochem-lillo"
        assert jetty.geometry.intersects(zone.geometry)
    assert model.feature("terminal-petrochem-lillo").security_level == 1


def test_roads_cross_the_lock_bridges_they_name() -> None:
    model = builtin_port_model()
    roads = model.by_kind("road")
    assert "road-r2" in {r.id for r in roads}
    for road in roads:
        for bridge_id in road.properties.get("bridges", []):
            assert road.geometry.intersects(model.feature(bridge_id).geometry), road.id
    tunnel = model.feature("liefkenshoek-tunnel")
    assert tunnel.kind is FeatureKind.CRITICAL_INFRASTRUCTURE
    assert model.feature("road-r2").geometry.intersects(tunnel.geometry)
    # The tunnel passes under the Scheldt fairway.
    assert any(tunnel.geometry.intersects(f.geometry) for f in model.by_kind("fairway"))


def test_port_areas_hold_every_lock_and_terminal() -> None:
    model = builtin_port_model()
    for f in model.by_kind("lock", "terminal", "gate", "bridge", "dock"):
        assert model.zones_containing(f.lat, f.lon, kinds="port_area"), f.id


def test_round_trip_through_geojson_is_lossless() -> None:
    model = builtin_port_model()
    again = parse_port_model(model.to_geojson(), source="round trip")
    assert again.to_geojson() == model.to_geojson()
    for f in model:
        g = again.feature(f.id)
        assert shapely.equals_exact(f.geometry, g.geometry, tolerance=0)
        assert math.isclose(f.lat, g.lat) and math.isclose(f.lon, g.lon)
