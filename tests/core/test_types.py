from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from portguard.core.types import TLP, Alert, EntityKind, EntityRef, Event, Location, Severity
from portguard.testing import make_alert


def test_entities_are_normalised() -> None:
    assert EntityRef.of("email", " J.Peeters@Port.BE ").value == "j.peeters@port.be"
    assert EntityRef.of("domain", "Evil.Example.").value == "evil.example"
    assert EntityRef.of("ip", "2001:DB8::1").value == "2001:db8::1"
    assert EntityRef.of("imo", "IMO 9321483").value == "9321483"
    assert EntityRef.parse("mmsi:244123456").key == "mmsi:244123456"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("mmsi", "12345"),
        ("imo", "12"),
        ("email", "no-at-sign"),
        ("ip", "999.1.1.1"),
        ("domain", "bad domain"),
        ("file_hash", "xyz"),
    ],
)
def test_bad_entities_are_refused_with_the_reason(kind: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        EntityRef.of(kind, value)
    assert value in str(info.value) or kind in str(info.value).lower()


def test_unknown_entity_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        EntityRef.parse("starship:enterprise")
    assert EntityKind("mmsi") is EntityKind.MMSI


def test_alert_rejects_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Alert.model_validate(
            {"rule_id": "r", "domain": "mail", "severity": "high", "title": "t", "colour": "red"}
        )
    with pytest.raises(ValidationError, match="severity"):
        Alert.model_validate({"rule_id": "r", "domain": "mail", "severity": "huge", "title": "t"})
    with pytest.raises(ValidationError):
        Alert.model_validate(
            {"rule_id": "r", "domain": "mail", "severity": "low", "title": "t", "confidence": 2}
        )


def test_alert_json_round_trip_keeps_severity_name_and_utc() -> None:
    cet = timezone(timedelta(hours=1))
    alert = make_alert(
        entities=["email:a@b.example"],
        observed_at=datetime(2026, 3, 1, 10, 0, tzinfo=cet),
        tlp="TLP:AMBER+STRICT",
    )
    data = alert.model_dump(mode="json")
    assert data["severity"] == "high"
    assert data["tlp"] == "amber+strict"
    back = Alert.model_validate_json(alert.model_dump_json())
    assert back == alert
    assert back.observed_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_naive_times_are_taken_as_utc() -> None:
    ev = Event(observed_at=datetime(2026, 1, 1, 12, 0), source="s", domain="logs", kind="k")
    assert ev.observed_at.tzinfo is not None
    assert ev.observed_at.utcoffset() == timedelta(0)


def test_dedup_key_ignores_entity_order_and_uses_fingerprint() -> None:
    a = make_alert(entities=["ip:10.0.0.1", "domain:x.example"])
    b = make_alert(entities=["domain:x.example", "ip:10.0.0.1"])
    assert a.dedup_key() == b.dedup_key()
    assert make_alert(fingerprint="f1").dedup_key() != make_alert(fingerprint="f2").dedup_key()


def test_location_needs_both_coordinates() -> None:
    with pytest.raises(ValidationError, match="together"):
        Location(lat=51.0)


def test_severity_and_tlp_parsing() -> None:
    assert Severity.parse("Critical") is Severity.CRITICAL
    assert max(Severity.LOW, Severity.HIGH) is Severity.HIGH
    assert TLP.parse("white") is TLP.CLEAR
    assert TLP.parse("amber_strict") is TLP.AMBER_STRICT
    assert TLP.RED.rank > TLP.AMBER.rank
    with pytest.raises(ValueError, match="unknown TLP"):
        TLP.parse("purple")
