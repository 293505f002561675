from __future__ import annotations

import pytest

from portguard.core.detector_config import check_overrides
from portguard.core.errors import ConfigError

DEFAULTS = {"loitering": {"threshold_s": 1200.0, "radius_m": 300.0}, "speeding": {"margin": 0.1}}


def test_known_overrides_are_copied() -> None:
    raw = {"loitering": {"threshold_s": 600.0}}
    out = check_overrides("maritime", "zones.lock", raw, DEFAULTS)
    assert out == raw and out["loitering"] is not raw["loitering"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([1], "zones.lock: expected a mapping"),
        ({"lingering": {}}, "unknown detector 'lingering'; use one of loitering, speeding"),
        ({"loitering": 5}, "zones.lock.loitering: expected a mapping"),
        ({"loitering": {"radius": 1}}, "unknown parameter 'radius'; use threshold_s, radius_m"),
    ],
)
def test_every_mistake_names_its_section(overrides: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        check_overrides("maritime", "zones.lock", overrides, DEFAULTS)
