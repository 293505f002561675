"""Every infra detector with its decoy, the phishing link through the directory, ISPS levels,
traffic impact, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from portguard.core.clock import FixedClock
from portguard.core.types import Alert, Domain, EntityRef, Severity
from portguard.infra import InfraConfig, InfraWatch
from portguard.portmodel import Directory, PersonInfo, builtin_port_model

DAY = datetime(2026, 11, 3, tzinfo=UTC)
LOCK = "berendrecht-lock"
DIRECTORY = Directory(
    [
        PersonInfo(
            id="P-1",
            name="Jan",
            organisation_id="poab",
            identities=("account:jpeeters", "email:jan@poab.example", "badge:B-1"),
        ),
        PersonInfo(id="P-2", name="An", organisation_id="poab", identities=("account:ajanssens",)),
        PersonInfo(
            id="P-3", name="Piet", organisation_id="lockfix", identities=("account:psmits",)
        ),
    ]
)


def t(hh: int, mm: int = 0) -> str:
    return (DAY + timedelta(hours=hh, minutes=mm)).isoformat()


def watch(extra: dict[str, Any] | None = None) -> InfraWatch:
    cfg: dict[str, Any] = {
        "assets": {LOCK: {"require_plan": True}, "berendrecht-bridge": {"hours": "06:00-22:00"}},
        "plans": [{"places": [LOCK], "start": t(14), "end": t(15)}],
        "shifts": [
            {"accounts": ["jpeeters"], "start": t(5), "end": t(13)},
            {"accounts": ["ajanssens"], "start": t(13), "end": t(21)},
        ],
        "maintenance": [
            {"places": ["zandvliet-lock"], "organisations": ["lockfix"], "start": t(1), "end": t(5)}
        ],
    }
    cfg.update(extra or {})
    return InfraWatch(
        InfraConfig.from_dict(cfg),
        port_model=builtin_port_model(),
        clock=FixedClock(DAY + timedelta(days=1)),
        directory=DIRECTORY,
    )


_n = 0


def run(w: InfraWatch, *records: dict[str, Any]) -> list[Alert]:
    global _n
    recs = []
    for r in records:
        _n += 1
        recs.append((f"r{_n}", {"asset": LOCK, "source": "scada", "id": str(_n), **r}))
    report = w.ingest_records(recs, source="test")
    assert not report.rejected, report.problems
    return w.process(sorted(report.events, key=lambda e: e.observed_at))


def cmd(time: str, account: str, **kw: Any) -> dict[str, Any]:
    return {"time": time, "type": "command", "command": "open_gate", "account": account,
            "station": "control-room-zandvliet", **kw}  # fmt: skip


def rules(alerts: list[Alert]) -> list[str]:
    return sorted(a.rule_id for a in alerts)


def phishing(at: datetime, email: str = "jan@poab.example") -> Alert:
    return Alert(
        rule_id="mail.phishing.lookalike",
        domain=Domain.MAIL,
        severity=Severity.HIGH,
        title="phish",
        observed_at=at,
        entities=(EntityRef.of("email", email),),
        category="phishing",
    )


def test_on_shift_planned_command_from_the_control_room_is_silent() -> None:
    assert run(watch(), cmd(t(14, 10), "ajanssens"), {"time": t(14, 11), "type": "state",
               "state": "open"}) == []  # fmt: skip


def test_out_of_schedule_off_shift_and_wrong_station() -> None:
    out = run(watch(), cmd(t(3), "jpeeters", station="home-vpn", host="ews-7"))
    assert rules(out) == [
        "infra.command.off_shift",
        "infra.command.out_of_schedule",
        "infra.command.wrong_station",
    ]
    a = out[0]
    assert a.location is not None and a.location.asset_id == LOCK
    assert {"account:jpeeters", "person:P-1", "asset:berendrecht-lock", "host:ews-7"} <= {
        e.key for e in a.entities
    }
    # Operating hours of the bridge: 23:30 Brussels is outside 06:00-22:00.
    out = run(watch(), cmd(t(22, 30), "ajanssens", asset="berendrecht-bridge"))
    assert rules(out) == ["infra.command.off_shift", "infra.command.out_of_schedule"]


def test_contractor_in_maintenance_window_is_silent() -> None:
    w = watch({"shifts": [{"accounts": ["jpeeters"], "start": t(5), "end": t(13)}]})
    assert run(w, cmd(t(2), "psmits", asset="zandvliet-lock")) == []


def test_phished_operator_either_order() -> None:
    w = watch()
    w.observe_alerts([phishing(DAY + timedelta(hours=1))])
    out = run(w, cmd(t(14, 5), "jpeeters"))  # planned, but Jan is off shift: and phished
    assert rules(out) == ["infra.command.off_shift", "infra.command.phished_operator"]
    # The phishing alert arriving after the command still links them.
    w2 = watch()
    assert rules(run(w2, cmd(t(14, 5), "jpeeters"))) == ["infra.command.off_shift"]
    late = w2.observe_alerts([phishing(DAY + timedelta(hours=1))])
    assert rules(late) == ["infra.command.phished_operator"]
    # A phishing mail to someone else, or after the command, links nothing.
    w3 = watch()
    w3.observe_alerts([phishing(DAY + timedelta(hours=20))])
    w3.observe_alerts([phishing(DAY, email="someone@else.example")])
    assert rules(run(w3, cmd(t(14, 5), "ajanssens"))) == []


def test_uncommanded_change_and_unplanned_outage_with_impact() -> None:
    w = watch()
    assert run(w, {"time": t(8), "type": "state", "state": "closed"}) == []  # baseline
    out = run(w, {"time": t(9), "type": "state", "state": "open"})
    assert rules(out) == ["infra.state.uncommanded_change"]
    run(w, {"time": t(9), "type": "passage", "mmsi": "244123456", "eta": t(10)})
    w.observe_alerts(
        [
            Alert(
                rule_id="maritime.loitering",
                domain=Domain.MARITIME,
                severity=Severity.HIGH,
                title="loiter",
                observed_at=DAY + timedelta(hours=9),
                entities=(EntityRef.of("mmsi", "205123456"),),
                location={"asset_id": LOCK},  # type: ignore[arg-type]
            )
        ]
    )
    out = run(w, {"time": t(9, 30), "type": "state", "state": "fault"})
    assert rules(out) == ["infra.state.unplanned_outage"]
    imp = out[0].attributes["traffic_impact"]
    assert imp["waterway_blocked"] and imp["alternatives"] == ["zandvliet-lock"]
    assert {v["mmsi"] for v in imp["vessels"]} == {"244123456", "205123456"}
    assert imp["expected_delay_min"] >= 60
    assert [o.asset for o in w.outages()] == [LOCK]


def test_traffic_impact_of_bridges_and_a_second_lock_out() -> None:
    w = watch()
    bridge = w.impact("berendrecht-bridge", "open")
    assert [r["id"] for r in bridge.roads] == ["road-berendrecht-locks"]
    assert not bridge.waterway_blocked
    run(w, {"time": t(8), "type": "state", "state": "fault", "asset": "zandvliet-lock"})
    both = w.impact(LOCK, "fault")
    assert both.waterway_blocked and both.alternatives == []
    assert both.expected_delay_min == 480.0
    assert "no alternative" in both.summary


def test_level_three_tightens() -> None:
    w = watch()
    w.set_levels({"antwerp-port-area": 3})
    out = run(w, cmd(t(14, 10), "ajanssens", station=None))
    assert rules(out) == ["infra.command.wrong_station"]
    assert str(out[0].severity) == "critical"


def test_bad_input_is_counted() -> None:
    w = watch()
    good = {"time": t(9), "asset": LOCK, "type": "command", "command": "x"}
    lines: list[Any] = [
        good,
        {**good, "asset": "atlantis"},
        {"time": t(9), "asset": LOCK, "type": "state", "state": "melted"},
        {"time": t(9), "asset": LOCK, "type": "command"},
        {"time": "2027-01-01T00:00:00Z", "asset": LOCK, "type": "state", "state": "open"},
        {**good, "ip": "999.1.1.1"},
        "oops",
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    report = w.ingest_text(text, fmt="jsonl", source="ot.jsonl")
    assert report.accepted == 1
    assert dict(report.rejected) == {"unknown_asset": 1, "malformed": 4, "future": 1}


def test_state_snapshot_round_trip_keeps_detecting() -> None:
    w = watch()
    w.observe_alerts([phishing(DAY + timedelta(hours=1))])
    run(w, {"time": t(8), "type": "state", "state": "closed"})
    snap = w.snapshot()
    fresh = watch()
    fresh.restore(snap)
    assert fresh.snapshot() == snap
    # The restored watch remembers the phishing mail and the lock's state.
    out = run(
        fresh, cmd(t(14, 5), "jpeeters"), {"time": t(14, 6), "type": "state", "state": "open"}
    )
    assert rules(out) == ["infra.command.off_shift", "infra.command.phished_operator"]
