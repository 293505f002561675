"""``InfraWatch``: the critical-infrastructure domain at run time.

Construct it with::

    InfraWatch(config, *, port_model=model, bus=bus, db=db)

``config`` is an ``InfraConfig`` (or None); ``bus`` and ``db`` are optional. With a ``db`` the
directory (account ↔ person ↔ e-mail) is read from it through a ``DirectoryCache``; without one,
pass ``directory=`` a ``Directory`` (tests) or nothing. Wiring:

* ``make_handlers()`` → ``[(EVENTS, "infra-detectors", ...), (ALERTS, "infra-alert-watch", ...)]``
  for the ``Dispatcher`` (the second hears phishing and maritime alerts);
* ``set_levels(levels)`` with ``portmodel.current_security_levels``.

``impact(asset)`` and ``outages()`` give the traffic impact (business-continuity view).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Final

from portguard.core.bus import (
    ALERTS,
    EVENTS,
    AlertOutbox,
    Bus,
    Handler,
    HasAlertOutbox,
    Record,
    decode_alert,
    decode_event,
)
from portguard.core.bus.codec import publish_events
from portguard.core.clock import Clock, SystemClock
from portguard.core.db import Database
from portguard.core.types import Alert, Event
from portguard.infra.alerts import to_alert
from portguard.infra.config import InfraConfig
from portguard.infra.detectors import InfraDetectors, InfraFinding, InfraState
from portguard.infra.intake import IntakeReport, parse_infra_records, parse_infra_text
from portguard.infra.traffic import TrafficImpact, traffic_impact
from portguard.portmodel import PortModel
from portguard.portmodel.directory import Directory, DirectoryCache
from portguard.portmodel.schedule import PlannedWindow

__all__ = ["ALERT_GROUP", "GROUP", "InfraWatch"]

log = logging.getLogger(__name__)

GROUP: Final = "infra-detectors"
ALERT_GROUP: Final = "infra-alert-watch"
_OUT_STATES: Final = frozenset({"fault", "maintenance"})


class InfraWatch(HasAlertOutbox):
    def __init__(
        self,
        config: InfraConfig | None = None,
        *,
        port_model: PortModel,
        bus: Bus | None = None,
        db: Database | None = None,
        clock: Clock | None = None,
        directory: Directory | None = None,
        recent_alerts: int = 1_000,
    ) -> None:
        self.config = config or InfraConfig()
        self.port_model = port_model
        self.bus = bus
        self.db = db
        self.clock = clock or SystemClock()
        self._cache = DirectoryCache(db) if db is not None and directory is None else None
        self._directory = directory
        self.detectors = InfraDetectors(
            self.config,
            port_model,
            directory=self._get_directory,
            levels={f.id: f.security_level or 1 for f in port_model.facilities()},
        )
        self.outbox = AlertOutbox("infra", recent_alerts)
        self.intake: Counter[str] = Counter()
        self._lock = threading.RLock()

    def _get_directory(self) -> Directory | None:
        if self._cache is not None:
            return self._cache.get()
        return self._directory

    def set_directory(self, directory: Directory) -> None:
        self._directory, self._cache = directory, None

    def set_levels(self, levels: Mapping[str, int]) -> None:
        with self._lock:
            self.detectors.levels = dict(levels)

    def add_window(self, kind: str, window: PlannedWindow) -> None:
        """Add a planned operation (``plan``), ``maintenance`` window or ``shift``."""
        with self._lock:
            target = {
                "plan": self.detectors.plans,
                "maintenance": self.detectors.maintenance,
                "shift": self.detectors.shifts,
            }[kind]
            target.append(window)

    # -- intake ------------------------------------------------------------------------------

    def ingest_records(self, records: Iterable[tuple[str, Any]], *, source: str) -> IntakeReport:
        report = parse_infra_records(
            records,
            model=self.port_model,
            now=self.clock.now(),
            max_future_s=self.config.max_future_s,
            source=source,
        )
        return self._publish(report)

    def ingest_text(self, text: str, *, fmt: str, source: str) -> IntakeReport:
        report = parse_infra_text(
            text,
            fmt=fmt,
            model=self.port_model,
            now=self.clock.now(),
            max_future_s=self.config.max_future_s,
            source=source,
        )
        return self._publish(report)

    def _publish(self, report: IntakeReport) -> IntakeReport:
        self.intake["accepted"] += report.accepted
        for reason, n in report.rejected.items():
            self.intake[f"rejected_{reason}"] += n
        if self.bus is not None and report.events:
            publish_events(self.bus, report.events)
        return report

    # -- detection ---------------------------------------------------------------------------

    def handle_event(self, record: Record) -> None:
        event = decode_event(record.payload)
        if event.kind == "security_level_changed":
            fac, level = event.attributes.get("facility_id"), event.attributes.get("level")
            if isinstance(fac, str) and isinstance(level, int) and level in (1, 2, 3):
                with self._lock:
                    self.detectors.levels[fac] = level
        elif event.domain.value == "infra":
            self.process([event])

    def handle_alert(self, record: Record) -> None:
        alert = decode_alert(record.payload)
        if alert.domain.value in ("mail", "maritime"):
            self.observe_alerts([alert])

    def process(self, events: Iterable[Event]) -> list[Alert]:
        with self._lock:
            found = [f for ev in events for f in self.detectors.process(ev)]
            return self._emit(found)

    def observe_alerts(self, alerts: Iterable[Alert]) -> list[Alert]:
        with self._lock:
            found = [f for a in alerts for f in self.detectors.observe_alert(a)]
            return self._emit(found)

    def _emit(self, found: list[InfraFinding]) -> list[Alert]:
        out = self.outbox.build(found, self._to_alert)
        self.outbox.publish(self.bus, out)
        return out

    def _to_alert(self, f: InfraFinding) -> Alert:
        extra: dict[str, Any] = {}
        if f.detector == "unplanned_outage":
            extra["traffic_impact"] = self._impact_locked(
                f.asset, str(f.attributes.get("state", "fault"))
            ).as_dict()
        return to_alert(f, self.port_model, extra)

    def make_handlers(self) -> list[tuple[str, str, Handler]]:
        return [(EVENTS, GROUP, self.handle_event), (ALERTS, ALERT_GROUP, self.handle_alert)]

    # -- traffic impact -----------------------------------------------------------------------

    def _impact_locked(self, asset: str, state: str) -> TrafficImpact:
        st = self.detectors.state
        since = st.states.get(asset)
        vessels_at = dict(st.vessels.get(asset, {}))
        f = self.port_model.get(asset)
        if f is not None and f.parent:
            vessels_at.update(st.vessels.get(f.parent, {}))
        return traffic_impact(
            self.port_model,
            asset,
            state,
            since=since[1] if since else None,
            vessels=[(m, reason, eta) for m, (reason, eta) in sorted(vessels_at.items())],
            out_of_service=[a for a, (s, _, _) in st.states.items() if s in _OUT_STATES],
            alternatives=self.config.alternatives,
            detour_min=self.config.detour_min,
        )

    def impact(self, asset: str, state: str | None = None) -> TrafficImpact:
        """The traffic impact of ``asset`` being in ``state`` (default: its current state)."""
        with self._lock:
            current = self.detectors.state.states.get(asset)
            return self._impact_locked(asset, state or (current[0] if current else "fault"))

    def outages(self) -> list[TrafficImpact]:
        with self._lock:
            return [
                self._impact_locked(a, s)
                for a, (s, _, _) in sorted(self.detectors.state.states.items())
                if s in _OUT_STATES
            ]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.detectors.state.snapshot()

    def restore(self, data: Mapping[str, Any]) -> None:
        with self._lock:
            self.detectors.state = InfraState.restore(data)

    def states(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {
                a: {"state": s, "since": t.isoformat(), "event_id": e}
                for a, (s, t, e) in self.detectors.state.states.items()
            }

    def stats(self) -> dict[str, Any]:
        d = self.detectors
        with self._lock:
            return {
                "intake": dict(self.intake),
                "events": d.events,
                "duplicates": d.duplicates,
                "findings": dict(d.findings),
                "detector_errors": dict(d.errors),
                "publish_errors": self.publish_errors,
                "levels": dict(d.levels),
            }
