from __future__ import annotations

import time
from pathlib import Path

import shapely

from portguard.maritime.service import MaritimeWatch
from portguard.maritime.testing import static_lines
from portguard.portmodel import builtin_port_model
from portguard.web.demofleet import (
    LOITERER_MMSI,
    Fleet,
    FleetFeeder,
    demo_fleet,
    static_sentences,
)


def test_generated_fleet_stays_on_the_water() -> None:
    model = builtin_port_model()
    fleet = Fleet.generated(model, 80)
    assert len(fleet.ships) == 81
    assert any(s.mmsi == LOITERER_MMSI for s in fleet.ships)
    assert len({s.mmsi for s in fleet.ships}) == 81
    start = {s.mmsi: (s.lat, s.lon) for s in fleet.ships}
    for _ in range(60):
        fleet.step(10.0)
    moved = 0
    for s in fleet.ships:
        if s.mmsi != LOITERER_MMSI:
            assert shapely.contains_xy(fleet.water, s.lon, s.lat), s
        moved += (s.lat, s.lon) != start[s.mmsi]
    assert moved > 30


def test_fleet_reports_real_ais_into_the_maritime_watch() -> None:
    model = builtin_port_model()
    watch = MaritimeWatch(port_model=model)
    feeder = FleetFeeder(Fleet.generated(model, 20), watch)
    now = time.time()
    lines = feeder.fleet.static_lines(now) + feeder.fleet.position_lines(now)
    watch.process(lines, [now] * len(lines))
    assert len(watch.pipeline.picture) == 21
    info = watch.pipeline.registry.get(LOITERER_MMSI)
    assert info is not None and info.name == "NIGHT HERON"


def test_replayed_positions_are_kept_and_names_come_from_static_reports(tmp_path: Path) -> None:
    csv = tmp_path / "aishub-2012-03-14-scheldt-positions.csv"
    csv.write_text(
        "mmsi,type,lat,lon,sog,cog,status,second\n"
        "205448890,1,51.237658,4.419442,0.0,63.3,0,15\n"
        "244660667,3,51.30,4.29,8.5,330.0,0,15\n"
        "0,1,91,181,0,0,0,1\n"
    )
    nmea = tmp_path / "aishub-2012-03-14.nmea"
    nmea.write_text(
        "\n".join(static_lines(244660667, name="SCHELDE TRADER", ship_type=70))
        + "\n!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\n"
    )
    model = builtin_port_model()
    fleet, preamble = demo_fleet(model, ais_dir=tmp_path)
    by = {s.mmsi: s for s in fleet.ships}
    assert set(by) == {205448890, 244660667, LOITERER_MMSI}
    assert (by[205448890].lat, by[205448890].lon) == (51.237658, 4.419442)
    assert len(preamble) == len(static_sentences(nmea)) >= 1
    for _ in range(200):
        fleet.step(30.0)
    s = by[244660667]
    assert abs(s.lat - 51.30) < 0.02 and abs(s.lon - 4.29) < 0.03  # on its leash
    generated, none = demo_fleet(model, ais_dir=tmp_path / "absent", n=10)
    assert len(generated.ships) == 11 and none == []
