from __future__ import annotations

import base64
import time
from datetime import timedelta
from typing import Any

from tests.api.conftest import PASSWORD, Api

from portguard.core.clock import utcnow
from portguard.testing import make_alert


def _wait_incidents(api: Api, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        r = api.client.get("/api/v1/incidents", headers=api.h("admin"))
        assert r.status_code == 200, r.text
        if len(r.json()) >= n or time.monotonic() > deadline:
            return list(r.json())
        time.sleep(0.05)


def _post(api: Api, alert: Any, role: str = "operator") -> Any:
    return api.client.post(
        "/api/v1/alerts",
        content=alert.model_dump_json(),
        headers={**api.h(role), "Content-Type": "application/json"},
    )


def test_every_route_needs_authentication(api: Api) -> None:
    for method, path in [
        ("GET", "/api/v1/incidents"),
        ("GET", "/api/v1/alerts"),
        ("POST", "/api/v1/alerts"),
        ("GET", "/api/v1/audit"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/me"),
    ]:
        r = api.client.request(method, path)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "auth_error"
    r = api.client.get("/api/v1/me", headers={"Authorization": "Bearer pgt_nope"})
    assert r.status_code == 401
    basic = base64.b64encode(f"admin1:{PASSWORD}".encode()).decode()
    r = api.client.get("/api/v1/me", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200 and r.json()["role"] == "admin"


def test_public_operations_endpoints(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "bus": "ok"}
    assert api.client.get("/api/v1/openapi.json").json()["info"]["title"] == "PortGuard"
    r = api.client.get("/metrics", headers=api.h("auditor"))
    assert r.status_code == 200 and "portguard_http_requests_total" in r.text


def test_alert_to_incident_end_to_end(api: Api) -> None:
    a = make_alert(entities=["email:op@port.example"], title="Phish to lock operator")
    r = _post(api, a)
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 1, "ids": [a.id]}
    b = make_alert(entities=["email:op@port.example"], domain="infra", rule_id="infra.cmd")
    batch = {"alerts": [b.model_dump(mode="json")]}
    assert (
        api.client.post("/api/v1/alerts", json=batch, headers=api.h("operator")).status_code == 202
    )
    incidents = _wait_incidents(api, 1)
    assert len(incidents) == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inc = api.client.get(f"/api/v1/incidents/{incidents[0]['ref']}", headers=api.h("analyst"))
        if len(inc.json()["alerts"]) == 2:
            break
        time.sleep(0.05)
    body = inc.json()
    assert body["hybrid"] is True and {a["id"] for a in body["alerts"]} == {a.id, b.id}
    assert body["nis2"]["significant"] is False
    metrics = api.client.get("/metrics", headers=api.h("admin")).text
    assert "portguard_incidents_open 1.0" in metrics
    assert 'portguard_alerts_ingested_total{domain="mail",outcome="new"} 1.0' in metrics
    alerts = api.client.get("/api/v1/alerts", headers=api.h("operator")).json()
    assert {x["id"] for x in alerts} == {a.id, b.id}


def test_bad_input_gets_clear_errors(api: Api) -> None:
    h = {**api.h("operator"), "Content-Type": "application/json"}
    r = api.client.post("/api/v1/alerts", content=b"{not json", headers=h)
    assert r.status_code == 422 and "JSON" in r.json()["error"]["message"]
    good = make_alert().model_dump(mode="json")
    r = api.client.post("/api/v1/alerts", json={**good, "colour": "red"}, headers=h)
    assert r.status_code == 422 and "colour" in r.text
    r = api.client.post("/api/v1/alerts", json={**good, "severity": 7}, headers=h)
    assert r.status_code == 422
    r = api.client.post(
        "/api/v1/alerts", json={**good, "entities": [{"kind": "ip", "value": "x"}]}, headers=h
    )
    assert r.status_code == 422 and "not an IP address" in r.text
    r = api.client.post("/api/v1/alerts", content=b"x" * 100_000, headers=h)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = api.client.post(
        "/api/v1/alerts",
        content=b"<xml/>",
        headers={**api.h("operator"), "Content-Type": "application/xml"},
    )
    assert r.status_code == 415 and "JSON" in r.json()["error"]["message"]
    r = api.client.post("/api/v1/alerts", json=[1, 2], headers=h)
    assert r.status_code == 422 and "alert object" in r.text
    r = api.client.post("/api/v1/alerts", json={"alerts": []}, headers=h)
    assert r.status_code == 422 and "body.alerts" in r.text
    r = api.client.get("/api/v1/incidents?min_severity=huge", headers=h)
    assert r.status_code == 422 and "unknown severity" in r.text
    r = api.client.get("/api/v1/incidents/INC-1999-0001", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found_error"


def test_roles_are_enforced(api: Api) -> None:
    assert _post(api, make_alert(), role="auditor").status_code == 403
    _post(api, make_alert(entities=["ip:192.0.2.55"]))
    ref = _wait_incidents(api, 1)[0]["ref"]
    r = api.client.post(
        f"/api/v1/incidents/{ref}/status", json={"status": "triage"}, headers=api.h("operator")
    )
    assert r.status_code == 403 and "incidents:write" in r.json()["error"]["message"]
    r = api.client.post(
        f"/api/v1/incidents/{ref}/status", json={"status": "triage"}, headers=api.h("analyst")
    )
    assert r.status_code == 200 and r.json()["status"] == "triage"
    r = api.client.post(
        f"/api/v1/incidents/{ref}/status", json={"status": "closed"}, headers=api.h("analyst")
    )
    assert r.status_code == 409 and "can move to" in r.json()["error"]["message"]
    assert api.client.get("/api/v1/users", headers=api.h("analyst")).status_code == 403
    assert api.client.get("/api/v1/users", headers=api.h("admin")).status_code == 200
    assert api.client.get("/api/v1/audit", headers=api.h("analyst")).status_code == 403
    r = api.client.get("/api/v1/audit/verify", headers=api.h("auditor"))
    assert r.status_code == 200 and r.json()["ok"] is True


def test_tlp_filters_reads(api: Api) -> None:
    _post(api, make_alert(entities=["ip:192.0.2.80"], tlp="red", title="red one"))
    _post(api, make_alert(entities=["ip:192.0.2.81"], tlp="green", title="green one"))
    _wait_incidents(api, 2)

    def titles(role: str) -> set[str]:
        r = api.client.get("/api/v1/incidents", headers=api.h(role))
        return {i["title"] for i in r.json()}

    assert titles("analyst") == {"red one", "green one"}
    assert titles("operator") == {"green one"}
    assert titles("member") == {"green one"}  # another organisation: community data only
    red = next(i for i in _wait_incidents(api, 2) if i["title"] == "red one")
    assert (
        api.client.get(f"/api/v1/incidents/{red['ref']}", headers=api.h("operator")).status_code
        == 404
    )


def test_nis2_flow_through_the_api(api: Api) -> None:
    _post(api, make_alert(entities=["domain:evil.example"], title="Ransomware on lock SCADA"))
    ref = _wait_incidents(api, 1)[0]["ref"]
    h = api.h("analyst")
    base = f"/api/v1/incidents/{ref}/nis2"
    r = api.client.get(f"{base}/reports/early_warning", headers=h)
    assert r.status_code == 409 and "not marked significant" in r.text
    aware = utcnow() - timedelta(hours=30)
    r = api.client.post(
        f"{base}/significance",
        headers=h,
        json={
            "criteria": ["malicious_access", "severe_disruption_or_loss"],
            "aware_at": aware.isoformat(),
            "malicious_suspected": True,
            "cross_border": False,
        },
    )
    assert r.status_code == 200, r.text
    stages = {d["stage"]: d for d in r.json()["clock"]["deadlines"]}
    assert stages["early_warning"]["status"] == "overdue"
    assert stages["notification"]["status"] == "pending"
    r = api.client.post(f"{base}/significance", headers=h, json={"criteria": ["bogus"]})
    assert r.status_code == 422
    md = api.client.get(f"{base}/reports/early_warning", headers=h)
    assert md.status_code == 200 and "Ransomware on lock SCADA" in md.text
    html = api.client.get(f"{base}/reports/early_warning?format=html&download=true", headers=h)
    assert html.headers["content-type"].startswith("text/html")
    assert "attachment" in html.headers["content-disposition"]
    js = api.client.get(f"{base}/reports/notification?format=json", headers=h).json()
    assert "domain:evil.example" in str(js)
    assert api.runtime.check_nis2_deadlines() == 1
    r = api.client.post(
        f"{base}/submissions",
        headers=h,
        json={
            "stage": "early_warning",
            "authority": "CCB",
            "reference": "CCB-2026-113",
        },
    )
    assert r.status_code == 201, r.text
    stages = {d["stage"]: d for d in r.json()["clock"]["deadlines"]}
    assert stages["early_warning"]["status"] == "submitted"
    assert stages["early_warning"]["submitted_late"] is True
    assert r.json()["submissions"][0]["reference"] == "CCB-2026-113"
    assert api.runtime.check_nis2_deadlines() == 0
    r = api.client.post(
        f"{base}/submissions",
        headers=api.h("operator"),
        json={"stage": "notification", "authority": "CCB"},
    )
    assert r.status_code == 403
    # The overdue alert lands on the incident's own timeline.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inc = api.client.get(f"/api/v1/incidents/{ref}", headers=h).json()
        if any(a["rule_id"] == "nis2.report_overdue" for a in inc["alerts"]):
            break
        time.sleep(0.05)
    assert any(a["rule_id"] == "nis2.report_overdue" for a in inc["alerts"])
    kinds = [t["kind"] for t in inc["timeline"]]
    assert kinds.count("nis2") == 2


def test_password_guessing_is_throttled(api: Api) -> None:
    def basic(password: str) -> dict[str, str]:
        token = base64.b64encode(f"analyst1:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    for _ in range(5):
        assert api.client.get("/api/v1/me", headers=basic("wrong password!")).status_code == 401
    r = api.client.get("/api/v1/me", headers=basic(PASSWORD))
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
    # Tokens are not affected.
    assert api.client.get("/api/v1/me", headers=api.h("analyst")).status_code == 200


def test_incident_detail_pages_alerts_and_timeline_and_hides_what_tlp_hides(api: Api) -> None:
    """A big incident opens with the first alerts and the latest timeline entries; the rest
    pages in; a reader who may not see RED gets neither its alerts, nor their count, nor their
    entities, even when the incident itself was lowered to GREEN."""
    now = utcnow()
    alerts = [
        make_alert(
            entities=["ip:192.0.2.90"] + (["ip:192.0.2.99"] if i >= 5 else []),
            observed_at=now - timedelta(minutes=10 - i),
            rule_id=f"test.r{i}",
            tlp="red" if i >= 5 else "green",
        )
        for i in range(7)
    ]
    for a in alerts:
        assert _post(api, a).status_code == 202
    ref = _wait_incidents(api, 1)[0]["ref"]
    h = api.h("analyst")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inc = api.client.get(f"/api/v1/incidents/{ref}?alerts=2&timeline=2", headers=h).json()
        if inc["alert_count"] == 7:
            break
        time.sleep(0.05)
    assert inc["alert_count"] == 7 and [a["id"] for a in inc["alerts"]] == [
        a.id for a in alerts[:2]
    ]
    assert {(e["kind"], e["value"]) for e in inc["entities"]} == {
        ("ip", "192.0.2.90"),
        ("ip", "192.0.2.99"),
    }
    pages = [
        api.client.get(f"/api/v1/incidents/{ref}/alerts?limit=3&offset={o}", headers=h).json()
        for o in (0, 3, 6)
    ]
    assert [a["id"] for page in pages for a in page] == [a.id for a in alerts]
    timeline = api.client.get(f"/api/v1/incidents/{ref}/timeline?limit=5000", headers=h).json()
    assert len(timeline) == inc["timeline_count"] >= 7
    assert inc["timeline"] == timeline[-2:]
    assert api.client.get(f"/api/v1/incidents/{ref}/alerts?limit=0", headers=h).status_code == 422
    assert api.client.get(f"/api/v1/incidents/{ref}?alerts=9999", headers=h).status_code == 422

    r = api.client.patch(f"/api/v1/incidents/{ref}", json={"tlp": "green"}, headers=h)
    assert r.status_code == 200, r.text
    op = api.h("operator")
    seen = api.client.get(f"/api/v1/incidents/{ref}", headers=op).json()
    assert seen["alert_count"] == 5 and [a["id"] for a in seen["alerts"]] == [
        a.id for a in alerts[:5]
    ]
    assert [(e["kind"], e["value"]) for e in seen["entities"]] == [("ip", "192.0.2.90")]
    paged = api.client.get(f"/api/v1/incidents/{ref}/alerts", headers=op).json()
    assert [a["id"] for a in paged] == [a.id for a in alerts[:5]]
    # Nor do the RED alerts' timeline entries show (they carry the alert's title and why).
    entries = api.client.get(f"/api/v1/incidents/{ref}/timeline", headers=op).json()
    about = [t["data"]["alert_id"] for t in entries if "alert_id" in t["data"]]
    assert about == [a.id for a in alerts[:5]]
    # Two entries hidden, one added by the TLP change.
    assert seen["timeline_count"] == len(entries) == inc["timeline_count"] - 2 + 1
    assert api.client.get("/api/v1/incidents/INC-1999-0001/alerts", headers=op).status_code == 404
