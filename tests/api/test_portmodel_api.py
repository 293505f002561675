from __future__ import annotations

from tests.api.conftest import Api

from portguard.core.bus import EVENTS, decode_event


def test_map_features_and_security_levels(api: Api) -> None:
    h = api.h("operator")
    fc = api.client.get("/api/v1/portmodel", headers=h).json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) > 20
    locks = api.client.get("/api/v1/portmodel/features?kind=lock", headers=h).json()
    assert {"lock"} == {f["kind"] for f in locks} and len(locks) >= 8
    facilities = api.client.get("/api/v1/portmodel/facilities", headers=h).json()
    fid = facilities[0]["facility_id"]
    url = f"/api/v1/portmodel/facilities/{fid}/security-level"
    r = api.client.post(url, json={"level": 2, "reason": "threat"}, headers=h)
    assert r.status_code == 403  # operators watch; analysts and admins change levels
    r = api.client.post(url, json={"level": 4, "reason": "x"}, headers=api.h("analyst"))
    assert r.status_code == 422
    r = api.client.post(
        url, json={"level": 2, "reason": "credible threat"}, headers=api.h("analyst")
    )
    assert (
        r.status_code == 200
        and r.json()["level"] == 2
        and r.json()["changed_by"] == "user:analyst1"
    )
    hist = api.client.get(f"{url}/history", headers=h).json()
    assert [c["level"] for c in hist] == [2]
    r = api.client.post(
        "/api/v1/portmodel/facilities/nope/security-level",
        json={"level": 2, "reason": "x"},
        headers=api.h("analyst"),
    )
    assert r.status_code == 404
    # Detectors learn of it through the bus.
    events = [decode_event(r.payload) for r in api.runtime.bus.replay(EVENTS)]
    assert any(e.kind == "security_level_changed" and e.attributes["level"] == 2 for e in events)
    audit = api.client.get("/api/v1/audit", headers=api.h("auditor")).json()
    assert any(a["target"].endswith(fid) and a["actor"] == "user:analyst1" for a in audit)
