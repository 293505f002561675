from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portguard.core import audit
from portguard.core.db import Database
from portguard.core.errors import ConflictError, ValidationError
from portguard.core.types import Domain, Location, Severity
from portguard.incidents import service
from portguard.incidents.correlation import CorrelationRules
from portguard.incidents.models import AlertRecord, Incident, Status
from portguard.testing import make_alert, migrated_db

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
RULES = CorrelationRules.builtin()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    d = migrated_db(db_url)
    yield d
    d.dispose()


def ingest(db: Database, alert: object) -> service.IngestOutcome:
    with db.session() as s:
        return service.ingest_alert(session=s, alert=alert, rules=RULES)  # type: ignore[arg-type]


def test_shared_entity_correlates_and_other_domain_makes_it_hybrid(db: Database) -> None:
    a = make_alert(entities=["email:op@port.example", "domain:evil.example"], observed_at=T0)
    b = make_alert(
        rule_id="infra.cmd",
        domain=Domain.INFRA,
        entities=["email:op@port.example"],
        observed_at=T0 + timedelta(hours=2),
        severity=Severity.MEDIUM,
    )
    first = ingest(db, a)
    assert first.incident_created and first.incident_id
    second = ingest(db, b)
    assert second.incident_id == first.incident_id and not second.incident_created
    with db.session() as s:
        inc = service.get_incident(session=s, incident_id=first.incident_id)
        assert inc.hybrid and "hybrid" in inc.tags
        assert inc.severity == Severity.CRITICAL  # high, raised one level for hybrid
        assert inc.domains == ["infra", "mail"]
        assert inc.ref.startswith("INC-")
        kinds = [t.kind for t in inc.timeline]
        assert kinds.count("alert") == 2 and "correlation" in kinds
        assert audit.verify(s).ok


def test_window_is_respected(db: Database) -> None:
    a = make_alert(entities=["ip:198.51.100.7"], observed_at=T0)
    b = make_alert(entities=["ip:198.51.100.7"], observed_at=T0 + timedelta(hours=25), rule_id="r2")
    assert ingest(db, a).incident_id != ingest(db, b).incident_id


def test_asset_window_is_shorter_than_entity_window(db: Database) -> None:
    lock = Location(asset_id="berendrecht-lock")
    a = make_alert(location=lock, observed_at=T0, domain=Domain.ACCESS)
    near = make_alert(location=lock, observed_at=T0 + timedelta(hours=5), rule_id="r2")
    far = make_alert(location=lock, observed_at=T0 + timedelta(hours=13), rule_id="r3")
    first = ingest(db, a).incident_id
    assert ingest(db, near).incident_id == first
    assert ingest(db, far).incident_id != first


def test_duplicate_alert_id_and_dedup_key(db: Database) -> None:
    a = make_alert(entities=["url:http://x.example/a"], observed_at=T0)
    first = ingest(db, a)
    assert ingest(db, a).outcome == "duplicate_id"
    again = make_alert(entities=["url:http://x.example/a"], observed_at=T0 + timedelta(minutes=5))
    out = ingest(db, again)
    assert out.outcome == "deduplicated" and out.incident_id == first.incident_id
    with db.session() as s:
        rows = s.execute(select(AlertRecord)).scalars().all()
        assert len(rows) == 1 and rows[0].count == 2


def test_low_alerts_do_not_open_incidents_but_join_them(db: Database) -> None:
    low = make_alert(entities=["mmsi:244123456"], severity="low", observed_at=T0)
    assert ingest(db, low).incident_id is None
    high = make_alert(entities=["mmsi:244123456"], observed_at=T0, rule_id="r2")
    inc = ingest(db, high).incident_id
    low2 = make_alert(
        entities=["mmsi:244123456"], severity="low", observed_at=T0 + timedelta(1), rule_id="r3"
    )
    assert ingest(db, low2).incident_id == inc


def test_ignored_keys_do_not_correlate(db: Database) -> None:
    fairway = Location(zone_id="fairway-westerschelde")
    a = ingest(db, make_alert(location=fairway, observed_at=T0))
    b = ingest(db, make_alert(location=fairway, observed_at=T0, rule_id="r2"))
    assert a.incident_id != b.incident_id


def test_closed_incidents_take_no_new_alerts(db: Database) -> None:
    first = ingest(db, make_alert(entities=["host:plc-7"], observed_at=T0)).incident_id
    assert first
    with db.session() as s:
        inc = service.get_incident(session=s, incident_id=first)
        service.transition(session=s, incident=inc, to="resolved", actor="t")
    later = make_alert(entities=["host:plc-7"], observed_at=T0 + timedelta(hours=1), rule_id="r")
    assert ingest(db, later).incident_id != first


def test_lifecycle_rules(db: Database) -> None:
    inc_id = ingest(db, make_alert(observed_at=T0)).incident_id
    assert inc_id
    with db.session() as s:
        inc = service.get_incident(session=s, incident_id=inc_id)
        with pytest.raises(ConflictError, match="can move to"):
            service.transition(session=s, incident=inc, to="closed", actor="t")
        with pytest.raises(ValidationError, match="unknown status"):
            service.transition(session=s, incident=inc, to="done", actor="t")
        for step in ("triage", "contained", "resolved", "closed"):
            service.transition(session=s, incident=inc, to=step, actor="user:ana")
        assert inc.status == Status.CLOSED and inc.closed_at and inc.resolved_at
        service.transition(session=s, incident=inc, to="triage", actor="user:ana")
        assert inc.resolved_at is None
        service.assign(session=s, incident=inc, assignee="ana", actor="user:ana")
        service.add_note(session=s, incident=inc, text="called the lock master", actor="user:ana")
        task = service.add_task(session=s, incident=inc, title="Reset VPN creds", actor="user:ana")
        service.complete_task(session=s, incident=inc, task_id=task.id, actor="user:ana")
        service.update_incident(
            session=s,
            incident=inc,
            changes={"severity": "critical", "root_cause": "phish"},
            actor="user:ana",
        )
        with pytest.raises(ValidationError, match="cannot change"):
            service.update_incident(session=s, incident=inc, changes={"id": "x"}, actor="t")
    with db.session() as s:
        inc2 = s.get(Incident, inc_id)
        assert inc2 is not None
        kinds = [t.kind for t in service.get_incident(session=s, incident_id=inc2.ref).timeline]
        assert kinds.count("status") == 5 and "note" in kinds and kinds.count("task") == 2
        assert inc2.severity == Severity.CRITICAL and inc2.root_cause == "phish"
        assert audit.verify(s).ok


def test_alert_naming_its_incident_joins_it(db: Database) -> None:
    inc = ingest(db, make_alert(entities=["ip:192.0.2.1"], observed_at=T0)).incident_id
    named = make_alert(
        rule_id="nis2.overdue", domain="system", observed_at=T0, attributes={"incident_id": inc}
    )
    assert ingest(db, named).incident_id == inc
