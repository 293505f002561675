"""Nothing acknowledged is lost when the server is killed with SIGKILL during intake."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from portguard.core import auth
from portguard.testing import make_alert, migrated_db

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PORTGUARD_DATA_DIR": str(data_dir)}
    log = data_dir / "server.log"
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "portguard", "serve", "--port", str(port), *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=fh,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"server died: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


def test_sigkill_during_intake_loses_no_acknowledged_alert(tmp_path: Path) -> None:
    db = migrated_db(f"sqlite:///{tmp_path / 'portguard.db'}")
    with db.session() as s:
        user = auth.create_user(session=s, username="feeder", password="x" * 12, role="operator")
        _, token = auth.create_token(session=s, user=user, name="feeder")
    db.dispose()
    port = _free_port()
    proc = _start(tmp_path, port)
    accepted: list[str] = []
    sent = 0
    stop = threading.Event()

    def feed() -> None:
        nonlocal sent
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            i = 0
            while not stop.is_set():
                batch = [
                    make_alert(fingerprint=f"kill-{i}-{j}", entities=[f"host:h{i}-{j}"])
                    for j in range(5)
                ]
                i += 1
                sent += len(batch)
                try:
                    r = client.post(
                        "/api/v1/alerts",
                        json={"alerts": [a.model_dump(mode="json") for a in batch]},
                        timeout=5,
                    )
                except httpx.HTTPError:
                    return  # the server is gone: whatever was not answered was not accepted
                if r.status_code == 202:
                    accepted.extend(r.json()["ids"])

    t = threading.Thread(target=feed)
    t.start()
    while len(accepted) < 300 and t.is_alive():
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    t.join()
    assert len(accepted) >= 300

    # Restart: the incident engine resumes from the durable bus and stores every accepted alert.
    proc = _start(tmp_path, port)
    try:
        engine = create_engine(f"sqlite:///{tmp_path / 'portguard.db'}")
        deadline = time.monotonic() + 60
        stored: set[str] = set()
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                stored = set(conn.execute(text("SELECT id FROM alerts")).scalars())
            if set(accepted) <= stored:
                break
            time.sleep(0.2)
        engine.dispose()
        missing = set(accepted) - stored
        assert not missing, f"{len(missing)} of {len(accepted)} acknowledged alerts lost"
        # Nothing is stored twice either, and nothing appears that was never sent.
        assert len(stored) <= sent
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_separate_worker_process_consumes(tmp_path: Path) -> None:
    """`serve --workers 1`: the API only publishes; a `portguard worker` process correlates."""
    db = migrated_db(f"sqlite:///{tmp_path / 'portguard.db'}")
    with db.session() as s:
        user = auth.create_user(session=s, username="feeder", password="x" * 12, role="admin")
        _, token = auth.create_token(session=s, user=user, name="feeder")
    db.dispose()
    port = _free_port()
    proc = _start(tmp_path, port, "--workers", "1")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            alert = make_alert(entities=["ip:198.51.100.9"])
            r = client.post("/api/v1/alerts", json=alert.model_dump(mode="json"))
            assert r.status_code == 202
            deadline = time.monotonic() + 30
            incidents: list[object] = []
            while time.monotonic() < deadline and not incidents:
                incidents = client.get("/api/v1/incidents").json()
                time.sleep(0.1)
            assert len(incidents) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0
