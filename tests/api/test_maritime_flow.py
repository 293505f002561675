"""AIS sent over UDP to a running PortGuard: a dummy MMSI raises a maritime alert that reaches
the incident engine, and the vessel shows in the API."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from fastapi.testclient import TestClient

from portguard.app.runtime import build_runtime
from portguard.core import auth
from portguard.core.settings import Settings
from portguard.maritime.testing import position_lines


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ais_over_udp_to_alert_and_incident(tmp_path: Path) -> None:
    port = _free_udp_port()
    settings = Settings.load(data_dir=tmp_path, ais_udp_listen=[f"127.0.0.1:{port}"])
    runtime = build_runtime(settings)
    with runtime.db.session() as s:
        user = auth.create_user(session=s, username="ana", password="x" * 12, role="analyst")
        _, token = auth.create_token(session=s, user=user, name="t")
    h = {"Authorization": f"Bearer {token}"}
    now = time.time()
    with TestClient(runtime.api()) as client:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for i in range(3):  # a transmitter using the dummy MMSI 123456789 near the locks
                for line in position_lines(
                    123456789, 51.30 + i * 0.001, 4.29, sog=5.0, cog=0.0, t=now + i * 10
                ):
                    udp.sendto(line.encode() + b"\r\n", ("127.0.0.1", port))
        deadline = time.monotonic() + 15
        alerts: list[dict[str, object]] = []
        while time.monotonic() < deadline and not alerts:
            alerts = client.get("/api/v1/alerts?domain=maritime", headers=h).json()
            time.sleep(0.1)
        assert alerts, "no maritime alert"
        assert "mmsi" in str(alerts[0]["alert"]) and "123456789" in str(alerts[0]["alert"])
        assert "invalid_identity" in str(alerts[0]["rule_id"])
        r = client.get("/api/v1/maritime/vessels/123456789", headers=h)
        assert r.status_code == 200, r.text
    runtime.close()
