"""Shared indicators feed detection: an indicator imported through the API makes any Event that
carries its domain raise an INTEL alert, which reaches the incident engine."""

from __future__ import annotations

import time

from tests.api.conftest import Api

from portguard.core.bus import publish_event
from portguard.testing import make_event


def test_shared_domain_indicator_flags_events_and_reaches_incidents(api: Api) -> None:
    r = api.client.post(
        "/api/v1/intel/objects?tlp=green",
        content=b"portofantwerpbruges-login.com\n",
        headers={**api.h("analyst"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["stored"] >= 1
    # A mail-like event mentioning a subdomain of the shared phishing domain.
    publish_event(
        api.runtime.bus,
        make_event(entities=["domain:vpn.portofantwerpbruges-login.com", "email:op@port.example"]),
    )
    deadline = time.monotonic() + 15
    alerts: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        alerts = api.client.get("/api/v1/alerts?domain=intel", headers=api.h("analyst")).json()
        if alerts:
            break
        time.sleep(0.1)
    assert len(alerts) == 1, alerts
    assert "portofantwerpbruges-login.com" in str(alerts[0]["alert"])
    # Nothing matches an unrelated event.
    publish_event(api.runtime.bus, make_event(entities=["domain:example.org"]))
    time.sleep(1)
    alerts = api.client.get("/api/v1/alerts?domain=intel", headers=api.h("analyst")).json()
    assert len(alerts) == 1
