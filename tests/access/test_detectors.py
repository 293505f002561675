"""Every access detector, its decoy, and the ISPS levels tightening them; bad input at intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portguard.access import AccessConfig, AccessControl, AccessState, Credential
from portguard.core.clock import FixedClock
from portguard.core.errors import ConfigError
from portguard.core.types import Alert
from portguard.portmodel import builtin_port_model

# Tuesday 3 November 2026, Brussels = UTC+1.
DAY = datetime(2026, 11, 3, tzinfo=UTC)
CONTROL = "berendrecht-lock-reader-control"
QUAY = "berendrecht-lock-reader-quay"
MPET = "terminal-mpet-reader-2"
FAC = "lock-complex-berendrecht"

CREDS = [
    Credential(badge="B-1", holder="Op One", person_id="P-1", clearances=frozenset({FAC})),
    Credential(badge="B-2", holder="Op Two", clearances=frozenset({FAC}), hours="06:00-15:00"),
    Credential(badge="B-R", holder="Gone", clearances=frozenset({FAC}), revoked=True),
    Credential(
        badge="B-X", holder="Old", clearances=frozenset({FAC}), valid_until=DAY - timedelta(1)
    ),
    Credential(badge="V-1", holder="Visitor", clearances=frozenset({FAC}), visitor=True),
    Credential(badge="E-1", holder="Everywhere", clearances=frozenset({"*"}), responder=True),
    Credential(
        badge="C-1",
        holder="Contractor",
        organisation="lockfix",
        clearances=frozenset({FAC}),
        hours="mon-fri 07:00-18:00",
    ),
]


def t(hh: int, mm: int = 0, ss: int = 0) -> str:
    return (DAY + timedelta(hours=hh, minutes=mm, seconds=ss)).isoformat()


def control(config: dict[str, Any] | None = None) -> AccessControl:
    ac = AccessControl(
        AccessConfig.from_dict(config or {}),
        port_model=builtin_port_model(),
        clock=FixedClock(DAY + timedelta(days=1)),
    )
    ac.set_credentials(CREDS)
    return ac


_n = 0


def run(ac: AccessControl, *records: dict[str, Any]) -> list[Alert]:
    global _n
    recs = []
    for r in records:
        _n += 1
        recs.append((f"r{_n}", {"reader": CONTROL, "controller": "c", "id": str(_n), **r}))
    report = ac.ingest_records(recs, source="test")
    assert not report.rejected, report.problems
    return ac.process(sorted(report.events, key=lambda e: e.observed_at))


def rules(alerts: list[Alert]) -> list[str]:
    return sorted(a.rule_id for a in alerts)


def test_valid_badge_in_hours_raises_nothing() -> None:
    ac = control()
    assert run(ac, {"time": t(9), "badge": "B-1"}, {"time": t(9, 1), "badge": "B-2"}) == []


@pytest.mark.parametrize(
    ("badge", "result", "rule", "severity"),
    [
        ("NOPE", "granted", "access.badge.unknown", "medium"),
        ("NOPE", "denied", "access.badge.unknown", "low"),
        ("B-R", "granted", "access.badge.revoked", "high"),
        ("B-R", "denied", "access.badge.revoked", "medium"),
        ("B-X", "granted", "access.badge.expired", "medium"),
    ],
)
def test_credential_problems(badge: str, result: str, rule: str, severity: str) -> None:
    alerts = run(control(), {"time": t(9), "badge": badge, "result": result})
    assert rules(alerts) == [rule]
    assert str(alerts[0].severity) == severity
    assert alerts[0].location is not None and alerts[0].location.asset_id == "berendrecht-lock"


def test_beyond_clearance_and_entities() -> None:
    alerts = run(control(), {"time": t(9), "badge": "B-1", "reader": MPET})
    assert rules(alerts) == ["access.badge.beyond_clearance"]
    keys = {e.key for e in alerts[0].entities}
    assert {"badge:B-1", "person:P-1", "asset:terminal-mpet-reader-2"} <= keys
    assert alerts[0].fingerprint


def test_out_of_hours_and_the_maintenance_decoy() -> None:
    # 02:00 UTC is 03:00 in Brussels: outside both badges' hours.
    assert rules(run(control(), {"time": t(2), "badge": "B-2"})) == ["access.badge.out_of_hours"]
    assert rules(run(control(), {"time": t(2), "badge": "C-1"})) == ["access.badge.out_of_hours"]
    planned = {
        "maintenance": [{"places": [FAC], "organisations": ["lockfix"], "start": t(1), "end": t(5)}]
    }
    assert run(control(planned), {"time": t(2), "badge": "C-1"}) == []
    # The window is for lockfix only.
    assert rules(run(control(planned), {"time": t(2), "badge": "B-2"})) == [
        "access.badge.out_of_hours"
    ]


def test_impossible_travel_with_clock_skew_slack() -> None:
    ac = control()
    # Berendrecht lock to the MPET terminal: about 6 km.
    out = run(
        ac,
        {"time": t(9), "badge": "E-1", "reader": CONTROL},
        {"time": t(9, 2), "badge": "E-1", "reader": MPET},
    )
    assert rules(out) == ["access.badge.impossible_travel"]
    assert len(out[0].evidence) == 2
    # Twenty minutes later is a plausible drive.
    ac2 = control()
    assert (
        run(
            ac2,
            {"time": t(9), "badge": "E-1", "reader": CONTROL},
            {"time": t(9, 20), "badge": "E-1", "reader": MPET},
        )
        == []
    )


def test_antipassback() -> None:
    ac = control()
    out = run(
        ac,
        {"time": t(9), "badge": "B-1", "direction": "in"},
        {"time": t(9, 5), "badge": "B-1", "direction": "in", "reader": QUAY},
    )
    assert rules(out) == ["access.badge.antipassback"]
    ok = control()
    assert (
        run(
            ok,
            {"time": t(9), "badge": "B-1", "direction": "in"},
            {"time": t(10), "badge": "B-1", "direction": "out"},
            {"time": t(11), "badge": "B-1", "direction": "in"},
        )
        == []
    )


def test_tailgating_forced_and_held_open() -> None:
    ac = control()
    out = run(
        ac,
        {"time": t(9), "badge": "B-1"},
        {"time": t(9, 0, 3), "type": "person_count", "count": 2},
        {"time": t(9, 30), "type": "door_open"},
        {"time": t(9, 31), "type": "door_open", "rex": True},
        {"time": t(9, 40), "type": "door_forced"},
        {"time": t(9, 50), "type": "door_held", "duration_s": 45},
        {"time": t(9, 55), "type": "door_held", "duration_s": 75},
    )
    assert rules(out) == [
        "access.door.forced",
        "access.door.held_open",
        "access.door.tailgating",
        "access.door.tailgating",
    ]
    # One person counted after one badge: not tailgating.
    assert run(control(), {"time": t(9), "badge": "B-1"}, {
        "time": t(9, 0, 2), "type": "person_count", "count": 1}) == []  # fmt: skip


def test_probing_one_alert_per_episode() -> None:
    ac = control()
    recs = [{"time": t(9, 0, i * 10), "badge": f"Z-{i}", "result": "denied"} for i in range(8)]
    out = [a for a in run(ac, *recs) if a.rule_id == "access.badge.probing"]
    assert len(out) == 1
    assert len([e for e in out[0].entities if e.kind.value == "badge"]) == 5


def test_level_two_closes_access_points_needs_escorts_and_tightens() -> None:
    ac = control()
    ac.set_levels({FAC: 2})
    assert rules(run(ac, {"time": t(9), "badge": "B-1", "reader": QUAY})) == [
        "access.level.closed_access_point"
    ]
    assert rules(run(ac, {"time": t(9), "badge": "V-1"})) == ["access.level.escort_required"]
    assert run(ac, {"time": t(9, 5), "badge": "V-1", "escort": "B-1"}) == []
    # Level 2 facility hours 06:00-22:00 Brussels: 22:30 local is outside.
    assert rules(run(ac, {"time": t(21, 30), "badge": "B-1"})) == ["access.badge.out_of_hours"]
    held = run(ac, {"time": t(9), "type": "door_held", "duration_s": 45})
    assert rules(held) == ["access.door.held_open"]
    # The same events at level 1 raise nothing.
    ac.set_levels({FAC: 1})
    assert run(ac, {"time": t(10), "badge": "B-1", "reader": QUAY}) == []


def test_level_three_responders_only_at_the_single_access_point() -> None:
    ac = control()
    ac.set_levels({FAC: 3})
    assert run(ac, {"time": t(9), "badge": "E-1"}) == []  # a responder at the open point
    assert rules(run(ac, {"time": t(9, 5), "badge": "B-1"})) == ["access.level.responders_only"]
    assert sorted(rules(run(ac, {"time": t(9, 10), "badge": "E-1", "reader": QUAY}))) == [
        "access.level.closed_access_point",
        "access.level.responders_only",
    ]


def test_bad_input_is_counted_never_fatal() -> None:
    ac = control()
    good = {"time": t(9), "reader": CONTROL, "badge": "B-1"}
    lines: list[Any] = [
        good,
        {**good, "reader": "nowhere"},
        {**good, "time": (DAY + timedelta(days=3)).isoformat()},
        "{not json",
        {**good, "time": "yesterday"},
        {**good, "colour": "red"},
        {"time": t(9), "reader": CONTROL, "type": "badge"},
        good,
        [1, 2],
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    report = ac.ingest_text(text, fmt="jsonl", source="door.jsonl")
    assert report.accepted == 1
    assert dict(report.rejected) == {
        "unknown_reader": 1,
        "future": 1,
        "malformed": 5,
        "duplicate": 1,
    }
    assert any(p.startswith("door.jsonl:2: unknown reader") for p in report.problems)
    assert ac.stats()["intake"]["rejected_malformed"] == 5


def test_csv_intake_and_state_snapshot_round_trip() -> None:
    ac = control()
    text = f"time,reader,badge,direction\n{t(9)},{CONTROL},B-1,in\n{t(9, 1)},{CONTROL},B-1\n"
    report = ac.ingest_text(text, fmt="csv", source="door.csv")
    assert report.accepted == 2
    ac.process(report.events)
    snap = ac.snapshot()
    restored = AccessState.restore(snap)
    assert restored.snapshot() == snap
    assert ("B-1", FAC) in restored.inside


def test_unknown_detector_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown parameter"):
        AccessConfig.from_dict({"detectors": {"probing": {"denial": 3}}})
    with pytest.raises(ConfigError, match="unknown detector"):
        AccessConfig.from_dict({"facilities": {FAC: {"probe": {}}}})
