"""The wire form of Events and Alerts, and the publish helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from portguard.core.bus import (
    ALERTS,
    EVENTS,
    EmbeddedBus,
    decode_alert,
    decode_event,
    encode_alert,
    encode_event,
    publish_alert,
    publish_alerts,
    publish_event,
    publish_events,
)
from portguard.core.errors import ValidationError
from portguard.core.types import TLP, Alert, Domain, EntityRef, Event, Location, Severity


def make_event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "observed_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
        "source": "ais.listener.zeebrugge",
        "domain": Domain.MARITIME,
        "kind": "ais.position",
        "entities": (EntityRef.of("mmsi", "244123456"),),
        "location": Location(zone_id="zeebrugge-outer", lat=51.35, lon=3.18),
        "attributes": {"sog": 11.2, "nav_status": "under_way", "ship_type": 70},
        "raw_ref": "nmea:ais-0001.nmea#1234",
    }
    fields.update(overrides)
    return Event.model_validate(fields)


def make_alert() -> Alert:
    return Alert(
        rule_id="maritime.ais-gap",
        domain=Domain.MARITIME,
        severity=Severity.HIGH,
        title="AIS silent for 40 minutes near Berendrecht lock",
        why="The vessel stopped transmitting inside the lock approach.",
        evidence=("01J0000000000000000000000A",),
        entities=(EntityRef.of("mmsi", "244123456"),),
        tlp=TLP.AMBER_STRICT,
    )


def test_topics() -> None:
    assert (EVENTS, ALERTS) == ("events", "alerts")


def test_event_round_trip() -> None:
    event = make_event()
    data = encode_event(event)
    assert isinstance(data, bytes)
    assert orjson.loads(data)["id"] == event.id
    assert decode_event(data) == event


def test_alert_round_trip() -> None:
    alert = make_alert()
    data = encode_alert(alert)
    assert orjson.loads(data)["severity"] == "high"
    decoded = decode_alert(data)
    assert decoded == alert
    assert decoded.severity is Severity.HIGH and decoded.tlp is TLP.AMBER_STRICT


def test_attributes_orjson_does_not_know_still_encode() -> None:
    event = make_event(attributes={"ports": {443}, "blob": b"raw", "huge": 2**70})
    decoded = decode_event(encode_event(event))
    assert decoded.attributes == {"ports": [443], "blob": "raw", "huge": 2**70}


def test_a_bad_payload_is_a_validation_error_without_the_values() -> None:
    bad = orjson.dumps({"source": "secret-source", "domain": "nowhere", "kind": "x"})
    with pytest.raises(ValidationError) as info:
        decode_event(bad)
    message = str(info.value)
    assert message.startswith("bus payload: not a valid Event")
    assert "observed_at" in message and "domain" in message
    assert "nowhere" not in message and "secret-source" not in message
    with pytest.raises(ValidationError, match="not a valid Alert"):
        decode_alert(b"not json at all")


def test_publish_helpers(tmp_path: Path) -> None:
    with EmbeddedBus(tmp_path / "bus.db") as bus:
        one = make_event()
        many = [make_event(kind=f"ais.k{i}") for i in range(3)]
        offset = publish_event(bus, one)
        offsets = publish_events(bus, many)
        alert_offset = publish_alert(bus, make_alert())
        assert len(publish_alerts(bus, [make_alert(), make_alert()])) == 2
        assert publish_events(bus, []) == []

        records = bus.replay(EVENTS)
        assert [r.offset for r in records] == [offset, *offsets]
        assert [r.key for r in records] == [e.id for e in [one, *many]]
        assert [decode_event(r.payload) for r in records] == [one, *many]
        alerts = bus.replay(ALERTS)
        assert alerts[0].offset == alert_offset
        assert all(decode_alert(r.payload).rule_id == "maritime.ais-gap" for r in alerts)
