"""Routes (with a real app, auth and database), the history store, bus publishing, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from portguard.api import create_api
from portguard.app.runtime import build_runtime
from portguard.cli.maritime import app as cli
from portguard.core import auth
from portguard.core.bus import ALERTS, decode_alert
from portguard.core.db import Base
from portguard.core.settings import Settings
from portguard.maritime import MaritimeSettings, MaritimeWatch
from portguard.maritime.api import router
from portguard.maritime.models import PositionRow, VesselRow
from portguard.maritime.store import positions, purge_before
from portguard.maritime.testing import T0, scenario
from portguard.portmodel import builtin_port_model


def _watch(tmp_path: Path, backend: str = "auto") -> tuple[MaritimeWatch, object]:
    settings = Settings.load(data_dir=tmp_path)
    runtime = build_runtime(settings)
    Base.metadata.create_all(runtime.db.engine)  # the lead's migration will create these
    watch = MaritimeWatch(
        MaritimeSettings(live_clock=False, history_backend=backend),
        port_model=builtin_port_model(),
        bus=runtime.bus,
        db=runtime.db,
    )
    sc = scenario()
    for i in range(0, len(sc.lines), 200):
        watch.process([ln.encode() for ln in sc.lines[i : i + 200]])
    watch.finish()
    return watch, runtime


@pytest.mark.parametrize("backend", ["sql", "parquet"])
def test_store_bus_and_routes(tmp_path: Path, backend: str) -> None:
    watch, runtime = _watch(tmp_path, backend)
    db = runtime.db  # type: ignore[attr-defined]
    store = watch.store
    assert store is not None
    assert store.written == watch.pipeline.stats.positions
    assert len(store.query(limit=10**6)) == watch.pipeline.stats.positions
    with db.session() as s:
        n = s.execute(select(func.count()).select_from(PositionRow)).scalar_one()
        assert n == (watch.pipeline.stats.positions if backend == "sql" else 0)
        assert s.get(VesselRow, 244000004).name == "IDLER"  # type: ignore[union-attr]
        # The module function (the CLI's) reads the Parquet history next to a SQLite file too.
        track = positions(session=s, mmsi=244000004, start=T0, end=T0 + 600)
        assert len(track) == 61
        assert [p.t for p in track] == sorted(p.t for p in track)
        assert track == store.query(mmsi=244000004, start=T0, end=T0 + 600)
        if backend == "sql":
            assert purge_before(session=s, t=T0 + 1800) > 0
    # Alerts are on the bus with entities and a fingerprint per episode.
    records = runtime.bus.replay(ALERTS, count=1000)  # type: ignore[attr-defined]
    alerts = [decode_alert(r.payload) for r in records]
    assert sorted(a.rule_id for a in alerts) == sorted(
        f"maritime.{k}" for k, _ in scenario().expected
    )
    loiter = next(a for a in alerts if a.rule_id == "maritime.loitering")
    keys = {e.key for e in loiter.entities}
    assert "mmsi:244000004" in keys and "imo:9000004" in keys
    assert loiter.location is not None and loiter.location.asset_id
    assert loiter.fingerprint and loiter.attributes["positions"]

    ctx = runtime.context  # type: ignore[attr-defined]
    ctx.extras["maritime"] = watch
    with db.session() as s:
        user = auth.create_user(
            session=s, username="ana", password="a long enough pw", role="analyst"
        )
        token = auth.create_token(session=s, user=user, name="t")[1]
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(create_api(ctx, [router])) as c:
        assert c.get("/api/v1/maritime/vessels").status_code == 401
        r = c.get("/api/v1/maritime/vessels", params={"bbox": "4.2,51.3,4.3,51.36"}, headers=h)
        assert r.status_code == 200
        assert {v["mmsi"] for v in r.json()} >= {"244000004", "244000009"}
        r = c.get("/api/v1/maritime/vessels/244000004", headers=h)
        assert r.status_code == 200
        body = r.json()
        assert body["vessel"]["name"] == "IDLER"
        assert body["track"]["geometry"]["type"] == "LineString"
        assert c.get("/api/v1/maritime/vessels/999999998", headers=h).status_code == 404
        assert c.get("/api/v1/maritime/vessels", params={"bbox": "x"}, headers=h).status_code == 422
        r = c.get("/api/v1/maritime/alerts", params={"kind": "rendezvous"}, headers=h)
        assert len(r.json()) == 1
        assert c.get("/api/v1/maritime/stats", headers=h).json()["bad_checksum"] == 0
    if backend == "parquet":  # retention deletes whole hours
        assert store.purge_before(T0 + 2 * 3600) > 0
        assert store.query(limit=10**6) == []
    runtime.close()  # type: ignore[attr-defined]


def test_cli_replay_json(tmp_path: Path) -> None:
    f = tmp_path / "scenario.nmea"
    f.write_text(scenario().text())
    res = CliRunner().invoke(cli, ["replay", str(f), "--speed", "max", "--json", "--no-stats"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert sorted((r["kind"], tuple(int(m) for m in r["mmsi"])) for r in rows) == sorted(
        scenario().expected
    )
    for r in rows:
        assert {
            "kind",
            "mmsi",
            "start",
            "end",
            "lat",
            "lon",
            "zone",
            "asset",
            "severity",
            "why",
        } <= set(r)


def test_cli_replay_with_own_port_model(tmp_path: Path) -> None:
    from portguard.portmodel.testing import box, collection, feature

    f = tmp_path / "scenario.nmea"
    f.write_text(scenario().text())
    model = tmp_path / "own.geojson"
    # A private exclusion zone around the rendezvous spot.
    model.write_text(
        json.dumps(collection(feature("my-zone", "exclusion_zone", box(51.41, 3.74, 51.43, 3.76))))
    )
    res = CliRunner().invoke(
        cli, ["replay", str(f), "--json", "--no-stats", "--port-model", str(model)]
    )
    assert res.exit_code == 0, res.output
    zones = [json.loads(x)["zone"] for x in res.output.splitlines()]
    assert zones.count("my-zone") >= 2  # both meeting vessels entered it


def test_cli_replay_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "junk.nmea"
    f.write_bytes(b"\x00\xff garbage\n!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*FF\n" * 50)
    res = CliRunner().invoke(cli, ["replay", str(f), "--json"])
    assert res.exit_code == 0
    res = CliRunner().invoke(cli, ["replay", str(f), "--speed", "-1"])
    assert res.exit_code == 2
