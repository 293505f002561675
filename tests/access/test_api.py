"""The HTTP edges: access and infra event intake (202 once durable, refusals counted),
credentials, traffic impact, the directory import, and disinformation reports joining incidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portguard.access.api import router as access_router
from portguard.api import create_api
from portguard.app.runtime import Runtime, build_runtime
from portguard.core import auth
from portguard.core.bus import ALERTS, EVENTS
from portguard.core.settings import Settings
from portguard.incidents.api import router as incidents_router
from portguard.infra.api import router as infra_router
from portguard.portmodel.api import router as portmodel_router
from portguard.testing import make_alert

T = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)


def drain(runtime: Runtime) -> None:
    """Run the detectors and the incident engine until nothing is left on the bus."""
    while runtime.dispatcher.run_once() + runtime.incident_engine.run_once():
        pass


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime, dict[str, str]]]:
    runtime = build_runtime(Settings.load(data_dir=tmp_path))
    ctx = runtime.context  # the app's own AccessControl and InfraWatch are in ctx.extras
    headers = {}
    with runtime.db.session() as s:
        for role in ("admin", "operator"):
            user = auth.create_user(session=s, username=f"{role}1", password="x" * 20, role=role)
            headers[role] = f"Bearer {auth.create_token(session=s, user=user, name='t')[1]}"
    app = create_api(ctx, [access_router, infra_router, incidents_router, portmodel_router])
    with TestClient(app) as client:
        yield client, runtime, headers
    runtime.close()


def test_access_intake_is_durable_and_reports_refusals(
    env: tuple[TestClient, Runtime, dict[str, str]],
) -> None:
    client, runtime, h = env
    one = {"time": T.isoformat(), "reader": "berendrecht-lock-reader-control", "badge": "B-1"}
    body = {"events": [{**one, "id": "1"}, {**one, "reader": "nowhere"}]}
    r = client.post("/api/v1/access/events", json=body, headers={"Authorization": h["operator"]})
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 1 and r.json()["rejected_by_reason"] == {"unknown_reader": 1}
    assert [rec.key for rec in runtime.bus.replay(EVENTS)] and len(runtime.bus.replay(EVENTS)) == 1
    bad = client.post(
        "/api/v1/access/events",
        content=b"{nope",
        headers={"Authorization": h["operator"], "Content-Type": "application/json"},
    )
    assert bad.status_code == 422
    csv = f"time,reader,badge\n{T.isoformat()},berendrecht-lock-reader-quay,B-2\n"
    r = client.post(
        "/api/v1/access/events",
        content=csv.encode(),
        headers={"Authorization": h["operator"], "Content-Type": "text/csv"},
    )
    assert r.status_code == 202 and r.json()["accepted"] == 1
    # Credentials: officers only; the detectors see the change at once.
    put = [{"badge": "B-1", "holder": "Jan", "clearances": ["lock-complex-berendrecht"]}]
    assert (
        client.put(
            "/api/v1/access/credentials", json=put, headers={"Authorization": h["operator"]}
        ).status_code
        == 403
    )
    assert (
        client.put(
            "/api/v1/access/credentials", json=put, headers={"Authorization": h["admin"]}
        ).status_code
        == 200
    )
    r = client.post(
        "/api/v1/access/credentials/B-1/revoke",
        json={"reason": "lost"},
        headers={"Authorization": h["admin"]},
    )
    assert r.status_code == 200 and r.json()["revoked"]
    readers = client.get("/api/v1/access/readers", headers={"Authorization": h["operator"]}).json()
    assert any(
        x["id"] == "berendrecht-lock-reader-quay" and x["closed_at_level"] == 2 for x in readers
    )


def test_infra_intake_impact_and_windows(env: tuple[TestClient, Runtime, dict[str, str]]) -> None:
    client, _, h = env
    rec = {
        "time": T.isoformat(),
        "asset": "kallo-lock",
        "type": "state",
        "state": "fault",
        "id": "9",
    }
    r = client.post("/api/v1/infra/events", json=rec, headers={"Authorization": h["operator"]})
    assert r.status_code == 202 and r.json()["accepted"] == 1
    imp = client.get(
        "/api/v1/infra/impact/kallo-bridge-melsele?state=open",
        headers={"Authorization": h["operator"]},
    ).json()
    assert [x["id"] for x in imp["roads"]] == ["road-kallo-lock"]
    w = {
        "kind": "maintenance",
        "start": T.isoformat(),
        "end": (T + timedelta(hours=2)).isoformat(),
        "places": ["kallo-lock"],
    }
    assert (
        client.post(
            "/api/v1/infra/windows", json=w, headers={"Authorization": h["admin"]}
        ).status_code
        == 201
    )
    assert (
        client.get(
            "/api/v1/infra/impact/atlantis", headers={"Authorization": h["operator"]}
        ).status_code
        == 404
    )


def test_directory_import_and_disinformation_report(
    env: tuple[TestClient, Runtime, dict[str, str]],
) -> None:
    client, runtime, h = env
    csv = "person_id,name,emails,accounts\nP-1,Jan,jan@poab.example,jpeeters\n"
    r = client.post(
        "/api/v1/portmodel/directory/import",
        content=csv.encode(),
        headers={"Authorization": h["admin"], "Content-Type": "text/csv"},
    )
    assert r.status_code == 200 and r.json()["persons"] == 1
    people = client.get(
        "/api/v1/portmodel/directory/people?key=account:jpeeters",
        headers={"Authorization": h["admin"]},
    ).json()
    assert [p["id"] for p in people] == ["P-1"]
    assert (
        client.get(
            "/api/v1/portmodel/directory/people", headers={"Authorization": h["operator"]}
        ).status_code
        == 403
    )
    # An incident about the port's lock, then a disinformation report linked to it.
    from portguard.core.bus import publish_alert
    from portguard.core.types import Location

    publish_alert(runtime.bus, make_alert(observed_at=T, location=Location(asset_id="kallo-lock")))
    drain(runtime)
    incs = client.get("/api/v1/incidents", headers={"Authorization": h["admin"]}).json()
    ref = incs[0]["ref"]
    report = {"claim": "Kallo lock collapsed", "channel": "X", "target": "Kallo lock",
              "asset_id": "kallo-lock", "incident": ref, "observed_at": T.isoformat()}  # fmt: skip
    r = client.post("/api/v1/disinformation", json=report, headers={"Authorization": h["admin"]})
    assert r.status_code == 202, r.text
    assert any(rec.key == r.json()["alert_id"] for rec in runtime.bus.replay(ALERTS))
    drain(runtime)
    inc = client.get(f"/api/v1/incidents/{ref}", headers={"Authorization": h["admin"]}).json()
    assert {a["rule_id"] for a in inc["alerts"]} == {"test.rule", "analyst.disinformation"}
    assert "disinformation-campaign" in inc["tags"] and inc["hybrid"]
