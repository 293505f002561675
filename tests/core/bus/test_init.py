"""open_bus: the backend the settings name."""

from __future__ import annotations

from pathlib import Path

from portguard.core.bus import EmbeddedBus, RedisBus, open_bus
from portguard.core.settings import Settings


def test_embedded_bus_lives_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with open_bus(settings) as bus:
        assert isinstance(bus, EmbeddedBus)
        assert bus.path == tmp_path / "data" / "bus.db"
        bus.ping()
    assert (tmp_path / "data" / "bus.db").is_file()


def test_redis_bus_from_settings_does_not_connect_yet() -> None:
    settings = Settings(bus="redis", redis_url="redis://127.0.0.1:1/3", bus_namespace="port-a")
    bus = open_bus(settings, visibility_timeout_s=5)
    assert isinstance(bus, RedisBus)
    assert (bus.url, bus.namespace, bus.visibility_timeout_s) == (
        "redis://127.0.0.1:1/3",
        "port-a",
        5.0,
    )
    bus.close()
