"""Batched ingestion gives exactly the incidents one-by-one ingestion gives, and the batch
consumer acknowledges only what it committed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from portguard.core.bus import ALERTS, EmbeddedBus, publish_alerts
from portguard.core.db import Database
from portguard.core.types import Alert, Domain, Location, Severity
from portguard.incidents import service
from portguard.incidents.consumer import GROUP, BatchAlertConsumer
from portguard.incidents.correlation import CorrelationRules
from portguard.incidents.models import AlertRecord, Incident
from portguard.testing import make_alert, migrated_db

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
RULES = CorrelationRules.builtin()


def _alerts(n: int, seed: int = 3) -> list[Alert]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ents = [f"host:h{rnd.randrange(12)}.example"]
        if rnd.random() < 0.3:
            ents.append(f"ip:192.0.2.{rnd.randrange(8)}")
        loc = Location(asset_id=f"lock-{rnd.randrange(3)}") if rnd.random() < 0.2 else None
        out.append(
            make_alert(
                id=f"a{i:04d}",
                rule_id=f"r{rnd.randrange(4)}",
                entities=ents,
                location=loc,
                domain=rnd.choice([Domain.LOGS, Domain.MAIL, Domain.INFRA]),
                severity=rnd.choice([Severity.LOW, Severity.MEDIUM, Severity.HIGH]),
                observed_at=T0 + timedelta(minutes=7 * i),
            )
        )
    out.append(out[min(5, n - 1)])  # a redelivery
    return out


def _shape(db: Database) -> list[tuple[str, ...]]:
    with db.session() as s:
        groups: dict[str | None, list[str]] = {}
        for rec in s.execute(select(AlertRecord)).scalars():
            groups.setdefault(rec.incident_id, []).append(rec.id)
        refs = {i.id: (i.ref, i.status, str(i.severity), ",".join(i.tags))
                for i in s.execute(select(Incident)).scalars()}  # fmt: skip
    return sorted((*(refs.get(k) or ("-",)), *sorted(v)) for k, v in groups.items())


def test_batches_equal_one_by_one(tmp_path: Path) -> None:
    alerts = _alerts(300)
    one = migrated_db(f"sqlite:///{tmp_path / 'one.db'}")
    for a in alerts:
        with one.session() as s:
            service.ingest_alert(session=s, alert=a, rules=RULES)
    many = migrated_db(f"sqlite:///{tmp_path / 'many.db'}")
    for k in range(0, len(alerts), 64):
        with many.session() as s:
            service.ingest_alerts(session=s, alerts=alerts[k : k + 64], rules=RULES)
    assert _shape(one) == _shape(many)
    one.dispose()
    many.dispose()


def test_batch_consumer_acks_after_commit(tmp_path: Path) -> None:
    db = migrated_db(f"sqlite:///{tmp_path / 'db.db'}")
    with EmbeddedBus(tmp_path / "bus.db") as bus:
        consumer = BatchAlertConsumer(
            bus, db=db, rules=RULES, dedup_window=timedelta(hours=1), batch_size=50
        )
        publish_alerts(bus, _alerts(120))
        while consumer.run_once():
            pass
        assert consumer.processed == 120 and consumer.skipped == 1
        assert bus.pending(ALERTS, GROUP) == 0
        publish_alerts(bus, _alerts(5))  # the same ids again: skipped, nothing changes
        while consumer.run_once():
            pass
        assert consumer.skipped == 7
    with db.session() as s:
        assert len(s.execute(select(AlertRecord.id)).all()) <= 120
    db.dispose()
