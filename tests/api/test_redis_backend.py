"""The whole flow on the Redis Streams bus, and a clear error when Redis goes away."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from portguard.app.runtime import build_runtime
from portguard.core import auth
from portguard.core.settings import Settings
from portguard.testing import make_alert

pytestmark = pytest.mark.redis


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis server of this test's own, so the test may stop it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield proc, url
    proc.kill()
    proc.wait()


def test_flow_on_redis_and_clear_error_when_it_goes_away(
    tmp_path: Path, own_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, url = own_redis
    settings = Settings.load(data_dir=tmp_path, bus="redis", redis_url=url)
    runtime = build_runtime(settings)
    with runtime.db.session() as s:
        user = auth.create_user(session=s, username="op", password="x" * 12, role="admin")
        _, token = auth.create_token(session=s, user=user, name="t")
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with TestClient(runtime.api()) as client:
        r = client.post("/api/v1/alerts", content=make_alert().model_dump_json(), headers=h)
        assert r.status_code == 202
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if client.get("/api/v1/incidents", headers=h).json():
                break
            time.sleep(0.05)
        assert len(client.get("/api/v1/incidents", headers=h).json()) == 1
        proc.kill()
        proc.wait()
        r = client.post("/api/v1/alerts", content=make_alert().model_dump_json(), headers=h)
        assert r.status_code == 503
        assert "Redis" in r.json()["error"]["message"]
        r = client.get("/healthz")
        assert r.status_code == 503 and r.json()["checks"]["bus"] == "down"
    runtime.close()
