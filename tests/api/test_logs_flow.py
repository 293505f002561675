"""A syslog stream sent over UDP to a running PortGuard raises Sigma alerts that reach incidents,
and the operator's own rule folder is loaded beside the port rules."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from fastapi.testclient import TestClient

from portguard.app.runtime import build_runtime
from portguard.core import auth
from portguard.core.settings import Settings

SSH_RULE = """
title: SSH password failures on OT hosts
id: 0f6b7a52-1111-4c1e-9a7d-3b0c2d4e5f60
level: high
logsource:
  product: linux
  service: sshd
detection:
  keywords:
    - 'Failed password for'
  condition: keywords
"""


def test_udp_syslog_to_incident(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ssh.yml").write_text(SSH_RULE)
    settings = Settings.load(data_dir=tmp_path / "data", sigma_rules=[rules], syslog_udp_port=0)
    runtime = build_runtime(settings)
    with runtime.db.session() as s:
        user = auth.create_user(session=s, username="ana", password="x" * 12, role="analyst")
        _, token = auth.create_token(session=s, user=user, name="t")
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(runtime.api()) as client:
        port = runtime.syslog_ports["udp"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(
                b"<38>Mar  2 23:10:01 scada-01 sshd[77]: Failed password for jdoe from 10.9.8.7",
                ("127.0.0.1", port),
            )
        deadline = time.monotonic() + 15
        incidents: list[dict[str, object]] = []
        while time.monotonic() < deadline and not incidents:
            incidents = client.get("/api/v1/incidents", headers=h).json()
            time.sleep(0.1)
        assert len(incidents) == 1, incidents
        assert incidents[0]["domains"] == ["logs"]
        detail = client.get(f"/api/v1/incidents/{incidents[0]['ref']}", headers=h).json()
        assert detail["alerts"][0]["rule_id"] == "0f6b7a52-1111-4c1e-9a7d-3b0c2d4e5f60"
        r = client.get("/api/v1/logs/rules", headers=h)
        assert r.status_code == 200
    runtime.close()
