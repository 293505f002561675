"""The incident engine's bus consumer: alerts in, incidents out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from portguard.core.bus import Record, decode_alert
from portguard.core.db import Database
from portguard.core.metrics import Metrics
from portguard.incidents import service
from portguard.incidents.correlation import CorrelationRules

__all__ = ["GROUP", "make_alert_handler"]

GROUP = "incidents"


def make_alert_handler(
    *,
    db: Database,
    rules: CorrelationRules,
    dedup_window: timedelta,
    metrics: Metrics | None = None,
) -> Callable[[Record], None]:
    """A handler that ingests one alert record in its own transaction (idempotent by alert id,
    so a redelivery after a crash changes nothing)."""

    def handle(record: Record) -> None:
        alert = decode_alert(record.payload)
        with db.session() as session:
            outcome = service.ingest_alert(
                session=session, alert=alert, rules=rules, dedup_window=dedup_window
            )
        if metrics is not None:
            metrics.alerts_ingested.labels(alert.domain.value, outcome.outcome).inc()

    return handle
