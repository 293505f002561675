"""The "Done when" scenario: a scripted hybrid attack on Berendrecht lock, driven as real events
through the bus, the access and infra detectors, the maritime pipeline and the incident engine.

A phishing mail to lock operator Jan Peeters (the mail domain's alert), an OT command at the lock
out of schedule from his account, his badge at the lock control building in the night, and a
craft loitering at the lock (real AIS) must become ONE hybrid incident with every alert on its
timeline; the decoys (a colleague on shift issuing a planned command from the control room, a
contractor with valid clearance at night during a maintenance window) raise nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portguard.access import AccessConfig, AccessControl
from portguard.access.credentials import CredentialIn, upsert_credentials
from portguard.core import audit
from portguard.core.bus import ALERTS, Dispatcher, EmbeddedBus, publish_alert
from portguard.core.clock import FixedClock
from portguard.core.db import Database
from portguard.core.types import Alert, Domain, EntityRef, Severity
from portguard.incidents import service
from portguard.incidents.consumer import GROUP, make_alert_handler
from portguard.incidents.correlation import CorrelationRules
from portguard.incidents.models import AlertRecord, Incident
from portguard.infra import InfraConfig, InfraWatch
from portguard.maritime import MaritimeWatch
from portguard.maritime.service import MaritimeSettings
from portguard.maritime.testing import position_lines
from portguard.portmodel import DirectoryCache, builtin_port_model, import_directory_csv
from portguard.testing import migrated_db

# Tuesday 3 November 2026; Brussels is UTC+1.
DAY = datetime(2026, 11, 3, tzinfo=UTC)
NOW = DAY + timedelta(days=1)
OPERATOR_MAIL = "j.peeters@portofantwerpbruges.example"

DIRECTORY = f"""person_id,name,organisation_id,organisation_name,role,emails,badges,accounts
P-0001,Jan Peeters,poab,Port of Antwerp-Bruges,lock operator,{OPERATOR_MAIL},B-40411,jpeeters
P-0002,An Janssens,poab,Port of Antwerp-Bruges,lock operator,aj@poab.example,B-40412,ajanssens
P-0003,Piet Smits,lockfix,LockFix Maintenance NV,contractor,p.smits@lockfix.example,C-7001,
"""


def at(hh: int, mm: int = 0) -> str:
    return (DAY + timedelta(hours=hh, minutes=mm)).isoformat()


@dataclass
class World:
    db: Database
    bus: EmbeddedBus
    access: AccessControl
    infra: InfraWatch
    maritime: MaritimeWatch
    dispatcher: Dispatcher

    def drain(self) -> None:
        while self.dispatcher.run_once():
            pass


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = migrated_db(f"sqlite:///{tmp_path / 'pg.db'}")
    bus = EmbeddedBus(tmp_path / "bus.db")
    model = builtin_port_model()
    clock = FixedClock(NOW)
    with db.session() as s:
        report = import_directory_csv(session=s, text=DIRECTORY, actor="test", source="people.csv")
        assert not report.problems
        upsert_credentials(
            session=s,
            actor="test",
            credentials=[
                CredentialIn(
                    badge="B-40411",
                    holder="Jan Peeters",
                    person_id="P-0001",
                    organisation="poab",
                    clearances=["lock-complex-berendrecht"],
                    hours="06:00-15:00",
                ),
                CredentialIn(
                    badge="C-7001",
                    holder="Piet Smits",
                    person_id="P-0003",
                    organisation="lockfix",
                    clearances=["lock-complex-berendrecht"],
                    hours="mon-fri 07:00-18:00",
                ),
            ],
        )
    access = AccessControl(
        AccessConfig.from_dict(
            {
                "maintenance": [
                    {
                        "places": ["lock-complex-berendrecht"],
                        "organisations": ["lockfix"],
                        "start": at(1),
                        "end": at(5),
                        "note": "gate hydraulics overhaul",
                    }
                ]
            }
        ),
        port_model=model,
        bus=bus,
        db=db,
        clock=clock,
    )
    infra = InfraWatch(
        InfraConfig.from_dict(
            {
                "assets": {"berendrecht-lock": {"require_plan": True}},
                "plans": [
                    {"places": ["berendrecht-lock"], "start": at(14), "end": at(14, 45)},
                ],
                "shifts": [
                    {"accounts": ["jpeeters"], "start": at(5), "end": at(13)},
                    {"accounts": ["ajanssens"], "start": at(13), "end": at(21)},
                ],
            }
        ),
        port_model=model,
        bus=bus,
        db=db,
        clock=clock,
    )
    maritime = MaritimeWatch(
        MaritimeSettings(store_positions=False, live_clock=False),
        port_model=model,
        bus=bus,
        start_time=DAY.timestamp(),
    )
    dispatcher = Dispatcher(bus, consumer="test", batch_size=50)
    for topic, group, handler in access.make_handlers() + infra.make_handlers():
        dispatcher.subscribe(topic, group, handler)
    dispatcher.subscribe(
        ALERTS,
        GROUP,
        make_alert_handler(
            db=db,
            rules=CorrelationRules.builtin(),
            dedup_window=timedelta(hours=1),
            directory=DirectoryCache(db, ttl_s=0).get,
        ),
    )
    yield World(db, bus, access, infra, maritime, dispatcher)
    bus.close()
    db.dispose()


def _phishing_alert() -> Alert:
    """What the mail domain raises for the phishing mail (mail is another team's domain)."""
    return Alert(
        id="mail-phish-0001",
        rule_id="mail.phishing.lookalike",
        domain=Domain.MAIL,
        severity=Severity.HIGH,
        observed_at=DAY + timedelta(hours=1, minutes=30),
        title="Phishing mail to lock operator from look-alike domain",
        why="Look-alike of portofantwerpbruges.example asking for VPN credentials.",
        entities=(
            EntityRef.of("email", OPERATOR_MAIL),
            EntityRef.of("domain", "portofantwerpbruges-login.example"),
        ),
        category="phishing",
    )


def _ais(
    mmsi: int, lat: float, lon: float, start: datetime, minutes: int, sog: float
) -> list[bytes]:
    lines: list[bytes] = []
    for i in range(0, minutes * 60, 30):
        t = start.timestamp() + i
        lines += [s.encode() for s in position_lines(mmsi, lat, lon, sog=sog, cog=90.0, t=t)]
    return lines


def _run_scenario(w: World) -> None:
    publish_alert(w.bus, _phishing_alert())
    w.drain()
    # Decoy: the contractor at the control building at 02:00, inside the maintenance window.
    report = w.access.ingest_records(
        [
            ("decoy", {"time": at(2), "reader": "berendrecht-lock-reader-control",
                       "badge": "C-7001", "direction": "in", "controller": "ctl-b", "id": "1"}),
        ],
        source="ctl-b",
    )  # fmt: skip
    assert report.accepted == 1
    w.drain()
    # The craft loitering west of the lock gates from 02:40 (AIS, through the real pipeline).
    w.maritime.process(
        _ais(205123456, 51.3449, 4.2790, DAY + timedelta(hours=2, minutes=40), 50, 0.3)
    )
    w.maritime.finish()
    w.drain()
    # 03:12 the attacker uses Jan's stolen credentials from a remote session.
    rep = w.infra.ingest_records(
        [
            ("attack", {"time": at(3, 12), "asset": "berendrecht-lock", "type": "command",
                        "command": "open_gate", "component": "gate-sea", "account": "jpeeters",
                        "station": "vpn-remote", "host": "ews-07", "source": "scada", "id": "c1"}),
            ("attack", {"time": at(3, 13), "asset": "berendrecht-lock", "type": "state",
                        "state": "moving", "component": "gate-sea", "source": "scada",
                        "id": "s0"}),
        ],
        source="scada",
    )  # fmt: skip
    assert rep.accepted == 2, rep.problems
    w.drain()
    # 03:25 Jan's badge opens the control building door: outside his hours.
    w.access.ingest_records(
        [("attack", {"time": at(3, 25), "reader": "berendrecht-lock-reader-control",
                     "badge": "B-40411", "direction": "in", "controller": "ctl-b", "id": "2"})],
        source="ctl-b",
    )  # fmt: skip
    w.drain()
    # Decoy: An Janssens, on shift, opens the lock for a planned passage from the control room.
    w.infra.ingest_records(
        [("decoy", {"time": at(14, 10), "asset": "berendrecht-lock", "type": "command",
                    "command": "open_gate", "account": "ajanssens",
                    "station": "control-room-zandvliet", "source": "scada", "id": "c2"}),
         ("decoy", {"time": at(14, 11), "asset": "berendrecht-lock", "type": "state",
                    "state": "open", "source": "scada", "id": "s1"})],
        source="scada",
    )  # fmt: skip
    w.drain()


EXPECTED_RULES = sorted(
    [
        "mail.phishing.lookalike",
        "maritime.loitering",
        "infra.command.out_of_schedule",
        "infra.command.off_shift",
        "infra.command.wrong_station",
        "infra.command.phished_operator",
        "access.badge.out_of_hours",
    ]
)


def test_hybrid_attack_is_one_incident_and_decoys_are_silent(world: World) -> None:
    _run_scenario(world)
    with world.db.session() as s:
        alerts = s.execute(select(AlertRecord)).scalars().all()
        assert sorted(a.rule_id for a in alerts) == EXPECTED_RULES
        # Decoys: no alert names the contractor, An Janssens or her planned command.
        keys = {e["value"] for a in alerts for e in a.payload["entities"]}
        assert not keys & {"C-7001", "ajanssens", "P-0002", "P-0003"}
        incidents = s.execute(select(Incident)).scalars().all()
        open_ = [i for i in incidents if "merged" not in i.tags]
        assert len(open_) == 1
        inc = service.get_incident(session=s, incident_id=open_[0].id)
        assert {a.incident_id for a in alerts} == {inc.id}
        assert inc.hybrid and "hybrid" in inc.tags
        assert {"phishing-to-ot", "physical-and-maritime"} <= set(inc.tags)
        assert inc.domains == ["access", "infra", "mail", "maritime"]
        assert inc.severity == Severity.CRITICAL
        on_timeline = {t.data.get("rule_id") for t in inc.timeline if t.kind == "alert"}
        assert sorted(r for r in on_timeline if r) == EXPECTED_RULES
        hybrid_rules = {t.data.get("hybrid_rule") for t in inc.timeline if t.kind == "correlation"}
        assert {"phishing-to-ot-command", "badge-and-vessel-at-facility"} <= hybrid_rules
        assert audit.verify(s).ok
    # Every piece of evidence is there: the command alert names the phishing alert it follows.
    phished = next(a for a in world.infra.alerts if a.rule_id.endswith("phished_operator"))
    assert "mail-phish-0001" in phished.evidence
    assert {e.key for e in phished.entities} >= {"account:jpeeters", "person:P-0001"}


def test_replaying_everything_changes_nothing(world: World) -> None:
    _run_scenario(world)
    with world.db.session() as s:
        before = s.execute(select(AlertRecord.id)).scalars().all()
    _run_scenario(world)  # same records, same ids: skipped as duplicates everywhere
    with world.db.session() as s:
        after = s.execute(select(AlertRecord.id)).scalars().all()
    assert sorted(before) == sorted(after)
    assert world.access.detectors.duplicates == 0  # the bus never delivered them twice
