"""API shapes: built from features and rows; the create shape refuses what the service would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from portguard.portmodel.models import SecurityLevelChange
from portguard.portmodel.schemas import (
    FeatureRead,
    SecurityLevelChangeCreate,
    SecurityLevelChangeRead,
    SecurityLevelRead,
)
from portguard.portmodel.testing import small_port_model

AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def change() -> SecurityLevelChange:
    return SecurityLevelChange(
        id=7,
        facility_id="terminal-a",
        level=2,
        previous_level=1,
        reason="threat assessment",
        actor="pfso",
        changed_at=AT,
    )


def test_feature_read() -> None:
    model = small_port_model()
    read = FeatureRead.of(model.feature("gate-a"))
    assert read.model_dump(mode="json") == {
        "id": "gate-a",
        "name": "gate-a",
        "kind": "gate",
        "lat": 51.3101,
        "lon": 4.315,
        "facility": "terminal-a",
        "security_level": None,
        "speed_limit_kn": None,
        "parent": None,
        "properties": {},
        "geometry": {"type": "Point", "coordinates": [4.315, 51.3101]},
    }
    assert FeatureRead.of(model.feature("lock-a"), with_geometry=False).geometry is None


@pytest.mark.parametrize(
    "body",
    [
        {"level": 0, "reason": "x"},
        {"level": 4, "reason": "x"},
        {"level": True, "reason": "x"},
        {"level": "2", "reason": "x"},
        {"level": 2, "reason": "   "},
        {"level": 2},
        {"level": 2, "reason": "x", "actor": "someone else"},
    ],
)
def test_change_create_refuses_bad_bodies(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SecurityLevelChangeCreate.model_validate(body)


def test_change_create_from_json() -> None:
    body = SecurityLevelChangeCreate.model_validate_json('{"level": 3, "reason": " drill "}')
    assert (body.level, body.reason) == (3, "drill")


def test_change_read_from_a_row() -> None:
    read = SecurityLevelChangeRead.model_validate(change())
    assert read.model_dump() == {
        "id": 7,
        "facility_id": "terminal-a",
        "level": 2,
        "previous_level": 1,
        "reason": "threat assessment",
        "actor": "pfso",
        "changed_at": AT,
    }


def test_security_level_read() -> None:
    terminal = small_port_model().feature("terminal-a")
    default = SecurityLevelRead.of(terminal, None)
    assert (default.level, default.default_level, default.changed_at) == (1, 1, None)
    live = SecurityLevelRead.of(terminal, change())
    assert (live.level, live.default_level, live.changed_by, live.changed_at) == (2, 1, "pfso", AT)
    with pytest.raises(ValueError, match="not a facility"):
        SecurityLevelRead.of(small_port_model().feature("gate-a"), None)
