"""RedisBus beyond the contract: errors a user can act on, namespaces, long blocking reads."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from portguard.core.bus import RedisBus
from portguard.core.bus.redis import redact_url
from portguard.core.errors import BusError, ConfigError


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_unreachable_redis_is_a_bus_error_naming_the_server() -> None:
    url = f"redis://127.0.0.1:{closed_port()}/0"
    bus = RedisBus(url)
    started = time.monotonic()
    with pytest.raises(BusError) as info:
        bus.ping()
    assert time.monotonic() - started < 5  # a few quick retries, not a hang
    message = str(info.value)
    assert f"Redis at {url} is unreachable" in message
    assert "redis_url" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    for call in (
        lambda: bus.publish("events", "k", b"x"),
        lambda: bus.publish_many("events", [("a", b"1"), ("b", b"2")]),
        lambda: bus.create_group("events", "g"),
        lambda: bus.read("events", "g", "c1", block_ms=100),
        lambda: bus.ack("events", "g", ["1-0"]),
        lambda: bus.replay("events"),
        lambda: bus.is_processed("g", "k"),
    ):
        with pytest.raises(BusError, match="unreachable"):
            call()
    bus.close()


def test_the_password_never_appears_in_messages() -> None:
    url = f"redis://worker:s3cret@127.0.0.1:{closed_port()}/0"
    bus = RedisBus(url)
    with pytest.raises(BusError) as info:
        bus.ping()
    assert "s3cret" not in str(info.value)
    assert "worker:***@127.0.0.1" in str(info.value)
    assert "s3cret" not in repr(bus)


def test_redact_url() -> None:
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact_url("rediss://:pw@host:6380/1") == "rediss://:***@host:6380/1"
    assert redact_url("redis://u:pw@[::1]:6379") == "redis://u:***@[::1]:6379"


def test_a_malformed_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="redis_url"):
        RedisBus("http://127.0.0.1:6379")


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.mark.redis
def test_namespaces_keep_instances_apart(redis_url: str, client: redis.Redis) -> None:
    one, two = (f"test-{uuid.uuid4().hex[:12]}" for _ in range(2))
    a = RedisBus(redis_url, namespace=one)
    b = RedisBus(redis_url, namespace=two)
    try:
        a.publish("events", "only-in-a", b"x")
        a.mark_processed("g", ["k"])
        assert b.replay("events") == []
        assert not b.is_processed("g", "k")
        assert client.exists(f"{one}:stream:events", f"{one}:processed:g") == 2
    finally:
        a.close()
        b.close()
        client.delete(f"{one}:stream:events", f"{one}:processed:g")


@pytest.mark.redis
def test_a_blocking_read_longer_than_one_server_block_slice(
    redis_url: str, client: redis.Redis
) -> None:
    ns = f"test-{uuid.uuid4().hex[:12]}"
    bus = RedisBus(redis_url, namespace=ns)
    try:
        bus.create_group("events", "g")
        started = time.monotonic()
        assert bus.read("events", "g", "c1", block_ms=1500) == []
        assert 1.4 < time.monotonic() - started < 4
    finally:
        bus.close()
        client.delete(f"{ns}:stream:events")


@pytest.mark.redis
def test_a_server_refusal_is_a_bus_error(redis_url: str, client: redis.Redis) -> None:
    ns = f"test-{uuid.uuid4().hex[:12]}"
    client.set(f"{ns}:stream:events", "not a stream")
    bus = RedisBus(redis_url, namespace=ns)
    try:
        with pytest.raises(BusError, match="refused to publish"):
            bus.publish("events", "k", b"x")
    finally:
        bus.close()
        client.delete(f"{ns}:stream:events")
