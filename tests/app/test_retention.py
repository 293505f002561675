"""Bus retention as the running platform applies it (``bus_retention_days``)."""

from __future__ import annotations

import time
from pathlib import Path

from portguard.app.runtime import build_runtime
from portguard.core.settings import Settings


def test_runtime_trims_the_bus_to_its_retention(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, bus_retention_days=0.05 / 86400)  # 50 ms
    runtime = build_runtime(settings)
    try:
        runtime.bus.publish_many("retention-test", [(f"k{i}", b"x") for i in range(5)])
        assert runtime.trim_bus() == 0  # younger than the retention
        time.sleep(0.1)
        assert runtime.trim_bus() == 4  # no group needs them; the newest record stays
        assert [r.key for r in runtime.bus.replay("retention-test")] == ["k4"]
    finally:
        runtime.close()


def test_retention_can_be_turned_off(tmp_path: Path) -> None:
    runtime = build_runtime(Settings.load(data_dir=tmp_path, bus_retention_days=None))
    try:
        runtime.bus.publish_many("retention-test", [(f"k{i}", b"x") for i in range(3)])
        assert runtime.trim_bus() == 0
        assert len(runtime.bus.replay("retention-test")) == 3
    finally:
        runtime.close()
