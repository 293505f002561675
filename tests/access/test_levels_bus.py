"""A level change announced on the bus (as the port-model API does) tightens the access and infra
detectors at once, before the runtime's periodic refresh; credential changes made in another
process reach the detectors through the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from portguard.access import AccessControl
from portguard.access.credentials import CredentialIn, upsert_credentials
from portguard.core.bus import Dispatcher, EmbeddedBus, publish_event
from portguard.core.types import Domain, Event
from portguard.infra import InfraWatch
from portguard.portmodel import builtin_port_model
from portguard.testing import migrated_db

# A past time inside the level-2 opening hours (06:00-22:00 Brussels): an hour before "now"
# made the test fail after 22:00 with an out-of-hours alert besides the one it checks.
_NOW = datetime.now(UTC).replace(microsecond=0)
T = _NOW.replace(hour=10, minute=0, second=0)
if T > _NOW:
    T -= timedelta(days=1)


def test_level_event_and_credentials_from_another_process(tmp_path: Path) -> None:
    db = migrated_db(f"sqlite:///{tmp_path / 'db.db'}")
    with EmbeddedBus(tmp_path / "bus.db") as bus:
        model = builtin_port_model()
        ac = AccessControl(port_model=model, bus=bus, db=db, credentials_check_s=0)
        infra = InfraWatch(port_model=model, bus=bus, db=db)
        d = Dispatcher(bus, consumer="t")
        for topic, group, handler in ac.make_handlers() + infra.make_handlers():
            d.subscribe(topic, group, handler)
        # Another process issues the badge: the detectors see it at the next event.
        with db.session() as s:
            upsert_credentials(
                session=s,
                actor="other",
                credentials=[CredentialIn(badge="B-1", clearances=["lock-complex-berendrecht"])],
            )
        publish_event(
            bus,
            Event(
                observed_at=T,
                source="portguard.portmodel",
                domain=Domain.SYSTEM,
                kind="security_level_changed",
                attributes={"facility_id": "lock-complex-berendrecht", "level": 2},
            ),
        )
        rec = {"time": T.isoformat(), "reader": "berendrecht-lock-reader-quay", "badge": "B-1"}
        ac.ingest_records([("r", rec)], source="t")
        while d.run_once():
            pass
        assert [a.rule_id for a in ac.alerts] == ["access.level.closed_access_point"]
        assert infra.detectors.levels["lock-complex-berendrecht"] == 2
    db.dispose()
