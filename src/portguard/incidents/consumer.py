"""The incident engine's bus consumer: alerts in, incidents out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from portguard.core.bus import ALERTS, Bus, Record, decode_alert
from portguard.core.db import Database
from portguard.core.errors import PortGuardError
from portguard.core.metrics import Metrics
from portguard.core.types import Alert
from portguard.incidents import service
from portguard.incidents.correlation import CorrelationRules
from portguard.portmodel.directory import Directory

__all__ = ["GROUP", "BatchAlertConsumer", "make_alert_handler"]

log = logging.getLogger(__name__)

GROUP = "incidents"


def make_alert_handler(
    *,
    db: Database,
    rules: CorrelationRules,
    dedup_window: timedelta,
    metrics: Metrics | None = None,
    directory: Callable[[], Directory] | None = None,
) -> Callable[[Record], None]:
    """A handler that ingests one alert record in its own transaction (idempotent by alert id,
    so a redelivery after a crash changes nothing).

    ``directory`` hands out the current directory snapshot (e.g. ``DirectoryCache(db).get``),
    so that alerts about one person correlate through ``person:<id>``."""

    def handle(record: Record) -> None:
        alert = decode_alert(record.payload)
        snapshot = directory() if directory is not None else None
        with db.session() as session:
            outcome = service.ingest_alert(
                session=session,
                alert=alert,
                rules=rules,
                dedup_window=dedup_window,
                directory=snapshot,
            )
        if metrics is not None:
            metrics.alerts_ingested.labels(alert.domain.value, outcome.outcome).inc()

    return handle


class BatchAlertConsumer:
    """The incident engine's consumer, batched: one transaction per batch of alert records
    instead of one per alert (``service.ingest_alerts``), for sustained alert rates.

    Same guarantees as ``make_alert_handler`` under a ``Dispatcher``: records are acknowledged
    (and their keys remembered) only after their batch committed; a record the group already
    processed is skipped; if a batch fails, its records are retried one transaction each and only
    the ones that fail on their own are dead-lettered (isolation). Wire it *instead of* the
    Dispatcher subscription for the ``incidents`` group::

        consumer = BatchAlertConsumer(bus, db=db, rules=rules, dedup_window=w,
                                      directory=DirectoryCache(db).get)
        consumer.start()   # background thread; consumer.stop() to end
    """

    def __init__(
        self,
        bus: Bus,
        *,
        db: Database,
        rules: CorrelationRules,
        dedup_window: timedelta,
        consumer: str = "incidents-batch",
        batch_size: int = 500,
        metrics: Metrics | None = None,
        directory: Callable[[], Directory] | None = None,
        idle_block_ms: int = 200,
    ) -> None:
        self.bus = bus
        self.db = db
        self.rules = rules
        self.dedup_window = dedup_window
        self.consumer = consumer
        self.batch_size = batch_size
        self.metrics = metrics
        self.directory = directory
        self.idle_block_ms = idle_block_ms
        self.processed = 0
        self.failed = 0
        self.skipped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        bus.create_group(ALERTS, GROUP)

    def run_once(self, *, block_ms: int = 0) -> int:
        records = self.bus.read(
            ALERTS, GROUP, self.consumer, count=self.batch_size, block_ms=block_ms
        )
        if not records:
            return 0
        seen = self.bus.processed_keys(GROUP, [r.key for r in records])
        todo: list[tuple[Record, Alert]] = []
        skipped: list[str] = []
        for r in records:
            if r.key in seen or any(r.key == t.key for t, _ in todo):
                skipped.append(r.offset)
                continue
            try:
                todo.append((r, decode_alert(r.payload)))
            except PortGuardError as exc:
                self._dead(r, str(exc))
        snapshot = self.directory() if self.directory is not None else None
        done: list[Record] = []
        try:
            with self.db.session() as session:
                outcomes = service.ingest_alerts(
                    session=session,
                    alerts=[a for _, a in todo],
                    rules=self.rules,
                    dedup_window=self.dedup_window,
                    directory=snapshot,
                )
            done = [r for r, _ in todo]
            self._count(outcomes, [a for _, a in todo])
        except Exception:
            log.warning("incidents: batch of %d failed; retrying one by one", len(todo))
            for r, a in todo:
                try:
                    with self.db.session() as session:
                        out = service.ingest_alert(
                            session=session,
                            alert=a,
                            rules=self.rules,
                            dedup_window=self.dedup_window,
                            directory=snapshot,
                        )
                    done.append(r)
                    self._count([out], [a])
                except Exception as exc:
                    self._dead(r, f"{type(exc).__name__}: {exc}")
        self.bus.ack_processed(
            ALERTS, GROUP, [r.offset for r in done] + skipped, [r.key for r in done]
        )
        self.processed += len(done)
        self.skipped += len(skipped)
        return len(records)

    def _count(self, outcomes: list[service.IngestOutcome], alerts: list[Alert]) -> None:
        if self.metrics is None:
            return
        for o, a in zip(outcomes, alerts, strict=True):
            self.metrics.alerts_ingested.labels(a.domain.value, o.outcome).inc()

    def _dead(self, record: Record, error: str) -> None:
        log.warning("incidents: record %s dead-lettered", record.offset)
        self.bus.dead_letter(ALERTS, GROUP, record, error)
        self.failed += 1

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="incidents-batch", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(block_ms=self.idle_block_ms)
            except Exception:
                log.exception("incidents: batch consumer error; retrying")
                self._stop.wait(1.0)
