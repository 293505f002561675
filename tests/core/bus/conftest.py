"""Bus fixtures: every contract test runs on each backend (embedded always, Redis when available).

``make_bus`` opens buses of one backend sharing one log (one SQLite file, or one Redis namespace
unique to the test), so a test can play several processes or reopen after a crash.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
import redis

from portguard.core.bus import Bus, EmbeddedBus, RedisBus

BACKENDS = ["embedded", pytest.param("redis", marks=pytest.mark.redis)]


class BusFactory(Protocol):
    backend: str

    def __call__(self, *, visibility_timeout_s: float = 30.0) -> Bus: ...


class _Factory:
    def __init__(self, backend: str, tmp_path: Path, redis_url: str | None) -> None:
        self.backend = backend
        self.path = tmp_path / "bus.db"
        self.redis_url = redis_url
        self.namespace = f"test-{uuid.uuid4().hex[:12]}"
        self.opened: list[Bus] = []

    def __call__(self, *, visibility_timeout_s: float = 30.0) -> Bus:
        bus: Bus
        if self.backend == "embedded":
            bus = EmbeddedBus(self.path, visibility_timeout_s=visibility_timeout_s)
        else:
            assert self.redis_url is not None
            bus = RedisBus(
                self.redis_url, namespace=self.namespace, visibility_timeout_s=visibility_timeout_s
            )
        self.opened.append(bus)
        return bus

    def cleanup(self) -> None:
        for bus in self.opened:
            bus.close()
        if self.redis_url is not None:
            client = redis.Redis.from_url(self.redis_url)
            keys = list(client.scan_iter(match=f"{self.namespace}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


@pytest.fixture(params=BACKENDS)
def make_bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BusFactory]:
    url: str | None = None
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    factory = _Factory(request.param, tmp_path, url)
    yield factory
    factory.cleanup()


@pytest.fixture
def bus(make_bus: BusFactory) -> Bus:
    return make_bus()
