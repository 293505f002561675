"""The console's server side without a browser: log-in cookie, CSRF guard, static files, the
server-sent event stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from portguard.web.testing import PASSWORD, Console


@contextmanager
def login(console: Console, username: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url, timeout=10) as client:
        r = client.post(
            "/console/login",
            data={"username": username, "password": password},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 200, r.text
        yield client


def test_root_leads_to_login_and_login_sets_a_strict_httponly_cookie(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10, follow_redirects=True) as c:
        r = c.get("/")
        assert r.url.path == "/console/login"
        assert 'name="password"' in r.text
        assert "default-src 'self'" in r.headers["content-security-policy"]
        r = c.post("/console/login", data={"username": "admin", "password": "wrong password!"})
        assert r.status_code == 401
        assert "Invalid username or password" in r.text
        r = c.post(
            "/console/login",
            data={"username": "admin", "password": console.admin_password},
            follow_redirects=False,
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "pg_session=pgt_" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Max-Age=28800" in cookie
        me = c.get("/api/v1/me").json()
        assert me["username"] == "admin"
        assert c.get("/console/").status_code == 200


def test_cookie_writes_need_the_console_header(console: Console) -> None:
    with login(console, "analyst1", PASSWORD) as c:
        r = c.post(
            "/api/v1/portmodel/facilities/terminal-mpet/security-level",
            json={"level": 2, "reason": "exercise"},
        )
        assert r.status_code == 403
        assert "X-PortGuard-Console" in r.json()["error"]["message"]
        r = c.post(
            "/api/v1/portmodel/facilities/terminal-mpet/security-level",
            json={"level": 1, "reason": "exercise over"},
            headers={"X-PortGuard-Console": "1"},
        )
        assert r.status_code == 200, r.text


def test_logout_revokes_the_session(console: Console) -> None:
    with login(console, "auditor1", PASSWORD) as c:
        assert c.get("/api/v1/me").status_code == 200
        token = c.cookies["pg_session"]
        r = c.post("/console/logout", headers={"X-PortGuard-Console": "1"})
        assert r.status_code == 204
        assert "pg_session" not in c.cookies
    # The token itself is revoked, not just the cookie dropped (after the 5 s verify cache).
    time.sleep(5.2)
    r = httpx.get(
        console.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    "path",
    ["../session.py", "..%2Fsession.py", ".hidden", "js/../../pages.py", "nope.js"],
)
def test_static_files_stay_in_their_folder(console: Console, path: str) -> None:
    r = httpx.get(f"{console.url}/console/static/{path}", timeout=10)
    assert r.status_code == 404


def test_vendored_map_library_is_served_with_its_licence(console: Console) -> None:
    r = httpx.get(f"{console.url}/console/static/vendor/leaflet/leaflet.js", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    etag = r.headers["etag"]
    r2 = httpx.get(
        f"{console.url}/console/static/vendor/leaflet/leaflet.js",
        headers={"If-None-Match": etag},
        timeout=10,
    )
    assert r2.status_code == 304
    lic = httpx.get(f"{console.url}/console/static/vendor/leaflet/LICENSE", timeout=10)
    assert "BSD 2-Clause" in lic.text


def read_events(client: httpx.Client, want: set[str], timeout_s: float = 20) -> dict[str, object]:
    seen: dict[str, object] = {}
    deadline = time.monotonic() + timeout_s
    with client.stream("GET", "/api/v1/stream", params={"interval": 0.3}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event:
                seen.setdefault(event, json.loads(line[6:]))
            if want <= set(seen) or time.monotonic() > deadline:
                break
    return seen


def test_stream_pushes_alerts_incidents_vessels_and_levels(console: Console) -> None:
    with login(console, "admin", console.admin_password) as c:
        # Alerts received in the last 10 minutes are replayed to a stream that resumes.
        since = time.time() - 600
        c.headers["Last-Event-ID"] = f"{since:.6f}"
        seen = read_events(c, {"hello", "alerts", "incidents", "vessels", "levels"})
    assert {"hello", "alerts", "incidents", "vessels", "levels"} <= set(seen)
    alerts = seen["alerts"]
    assert isinstance(alerts, list) and alerts[0]["id"].startswith("demo-")
    vessels = seen["vessels"]
    assert isinstance(vessels, dict) and len(vessels["v"]) >= 30
    mmsi, lat, lon = vessels["v"][0][:3]
    assert 100_000_000 <= mmsi <= 999_999_999 and 50 < lat < 53 and 2 < lon < 5


def test_stream_hides_what_the_tlp_hides(console: Console) -> None:
    # The demo alerts are TLP:AMBER of the port; a member organisation's user sees none of them.
    with login(console, "member1", PASSWORD) as c:
        c.headers["Last-Event-ID"] = f"{time.time() - 600:.6f}"
        seen = read_events(c, {"vessels", "levels"}, timeout_s=8)
    assert "vessels" in seen
    for a in seen.get("alerts", []):  # type: ignore[attr-defined]
        assert a["tlp"] in ("clear", "green")


def test_stream_needs_a_session(console: Console) -> None:
    r = httpx.get(console.url + "/api/v1/stream", timeout=10)
    assert r.status_code == 401


def test_console_log_in_is_throttled(console: Console) -> None:
    with httpx.Client(base_url=console.url, headers={"Accept": "application/json"}) as c:
        for _ in range(5):
            r = c.post("/console/login", data={"username": "ghost", "password": "guess" * 3})
            assert r.status_code == 401
        r = c.post("/console/login", data={"username": "ghost", "password": "guess" * 3})
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
