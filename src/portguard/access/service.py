"""``AccessControl``: the access domain at run time (what the app wires and the API reads).

Construct it with::

    AccessControl(config, *, port_model=model, bus=bus, db=db)

``config`` is an ``AccessConfig`` (or None for the defaults); ``bus`` and ``db`` are optional
(without a bus, alerts stay in memory; without a db, credentials are whatever ``set_credentials``
gives). Wiring:

* ``make_handlers()`` → ``[(EVENTS, "access-detectors", handler)]`` for the ``Dispatcher``;
* ``set_levels(levels)`` with ``portmodel.current_security_levels`` (at start and on change);
* ``reload_credentials()`` after credentials change in another process (the API of this
  process reloads by itself).

Intake (``ingest_records``/``ingest_text``) validates records and publishes them as Events on
the bus before returning: what it reports as accepted is durable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portguard.access.alerts import to_alert
from portguard.access.config import AccessConfig
from portguard.access.credentials import Credential, load_credentials
from portguard.access.detectors import AccessDetectors, AccessState
from portguard.access.intake import IntakeReport, parse_csv, parse_json_lines, parse_records
from portguard.access.models import CredentialRecord
from portguard.access.readers import Readers
from portguard.core.bus import (
    EVENTS,
    AlertOutbox,
    Bus,
    Handler,
    HasAlertOutbox,
    Record,
    decode_event,
)
from portguard.core.bus.codec import publish_events
from portguard.core.clock import Clock, SystemClock
from portguard.core.db import Database
from portguard.core.errors import ValidationError
from portguard.core.types import Alert, Event
from portguard.portmodel import PortModel

__all__ = ["GROUP", "AccessControl"]

log = logging.getLogger(__name__)

#: The consumer group of the access detectors on EVENTS.
GROUP: Final = "access-detectors"


class AccessControl(HasAlertOutbox):
    """Runtime state of the access domain; see the module docstring for wiring."""

    def __init__(
        self,
        config: AccessConfig | None = None,
        *,
        port_model: PortModel,
        bus: Bus | None = None,
        db: Database | None = None,
        clock: Clock | None = None,
        recent_alerts: int = 1_000,
        credentials_check_s: float = 10.0,
    ) -> None:
        self.config = config or AccessConfig()
        #: How often the bus handler checks whether credentials changed in the database (in any
        #: process): a cheap ``count``/``max(updated_at)`` query, a reload only on change.
        self.credentials_check_s = credentials_check_s
        self._checked_at = 0.0
        self._credentials_mark: tuple[int, object] | None = None
        self.port_model = port_model
        self.bus = bus
        self.db = db
        self.clock = clock or SystemClock()
        self.readers = Readers.from_model(port_model, self.config.readers)
        self._credentials: dict[str, Credential] = {}
        self.detectors = AccessDetectors(
            self.config,
            self.readers,
            self._credentials,
            levels={f.id: f.security_level or 1 for f in port_model.facilities()},
        )
        self.outbox = AlertOutbox("access", recent_alerts)
        self.intake: Counter[str] = Counter()
        self._lock = threading.RLock()
        if db is not None:
            self.reload_credentials()

    # -- configuration ---------------------------------------------------------------------

    def set_levels(self, levels: Mapping[str, int]) -> None:
        """The ISPS levels in force, by facility id: thresholds change at once."""
        with self._lock:
            self.detectors.levels = dict(levels)

    def set_credentials(self, credentials: Iterable[Credential]) -> None:
        with self._lock:
            self._credentials.clear()
            self._credentials.update((c.badge, c) for c in credentials)

    def reload_credentials(self) -> int:
        """Reload credentials from the database; returns how many."""
        if self.db is None:
            return len(self._credentials)
        with self.db.session() as session:
            mark = _credentials_mark(session)
            creds = load_credentials(session=session)
        self.set_credentials(creds.values())
        self._credentials_mark = mark
        return len(creds)

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self.db is None or now - self._checked_at < self.credentials_check_s:
            return
        self._checked_at = now
        with self.db.session() as session:
            mark = _credentials_mark(session)
        if mark != self._credentials_mark:
            self.reload_credentials()

    @property
    def credentials(self) -> Mapping[str, Credential]:
        return self._credentials

    # -- intake ------------------------------------------------------------------------------

    def ingest_records(self, records: Iterable[tuple[str, Any]], *, source: str) -> IntakeReport:
        """Validate ``(location, record)`` pairs and publish the accepted Events."""
        report = parse_records(
            records,
            readers=self.readers,
            now=self.clock.now(),
            max_future_s=self.config.max_future_s,
            source=source,
        )
        return self._publish(report)

    def ingest_text(self, text: str, *, fmt: str, source: str) -> IntakeReport:
        """A JSON-lines (``jsonl``) or CSV (``csv``) document."""
        kw: dict[str, Any] = {
            "readers": self.readers,
            "now": self.clock.now(),
            "max_future_s": self.config.max_future_s,
            "source": source,
        }
        if fmt == "jsonl":
            report = parse_json_lines(text, **kw)
        elif fmt == "csv":
            report = parse_csv(text, **kw)
        else:
            raise ValidationError(f"unknown format {fmt!r}; use jsonl or csv", location="format")
        return self._publish(report)

    def _publish(self, report: IntakeReport) -> IntakeReport:
        self.intake["accepted"] += report.accepted
        for reason, n in report.rejected.items():
            self.intake[f"rejected_{reason}"] += n
        if self.bus is not None and report.events:
            publish_events(self.bus, report.events)  # durable before we answer
        return report

    # -- detection ---------------------------------------------------------------------------

    def handle(self, record: Record) -> None:
        """The Dispatcher handler: one Event record of EVENTS (other domains' are skipped)."""
        event = decode_event(record.payload)
        if event.kind == "security_level_changed":
            self._level_changed(event)
        elif event.domain.value == "access":
            self._maybe_reload()
            self.process([event])

    def _level_changed(self, event: Event) -> None:
        """A level change announced on the bus applies at once (the 5 s refresh confirms it)."""
        fac, level = event.attributes.get("facility_id"), event.attributes.get("level")
        if isinstance(fac, str) and isinstance(level, int) and level in (1, 2, 3):
            with self._lock:
                self.detectors.levels[fac] = level

    def process(self, events: Iterable[Event]) -> list[Alert]:
        """Run the detectors on events synchronously; publish and return the alerts."""
        with self._lock:
            found = [f for ev in events for f in self.detectors.process(ev)]
            alerts = self.outbox.build(found, to_alert)
        self.outbox.publish(self.bus, alerts)
        return alerts

    def make_handlers(self) -> list[tuple[str, str, Handler]]:
        """``(topic, group, handler)`` for the lead to ``Dispatcher.subscribe``."""
        return [(EVENTS, GROUP, self.handle)]

    # -- state -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.detectors.state.snapshot()

    def restore(self, data: Mapping[str, Any]) -> None:
        with self._lock:
            self.detectors.state = AccessState.restore(data)

    def stats(self) -> dict[str, Any]:
        d = self.detectors
        with self._lock:
            return {
                "intake": dict(self.intake),
                "events": d.events,
                "duplicates": d.duplicates,
                "ignored": d.ignored,
                "findings": dict(d.findings),
                "detector_errors": dict(d.errors),
                "publish_errors": self.publish_errors,
                "readers": len(self.readers),
                "credentials": len(self._credentials),
                "levels": dict(d.levels),
            }


def _credentials_mark(session: Session) -> tuple[int, object]:
    n, latest = session.execute(select(func.count(), func.max(CredentialRecord.updated_at))).one()
    return int(n), latest
