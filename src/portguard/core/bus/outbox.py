"""The tail every detector service shares: findings become alerts, the newest are kept for the
recent-alerts views, and they go on the bus."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypeVar

from portguard.core.bus.base import Bus
from portguard.core.bus.codec import publish_alerts
from portguard.core.errors import BusError
from portguard.core.types import Alert

__all__ = ["AlertOutbox", "HasAlertOutbox"]

log = logging.getLogger(__name__)

F = TypeVar("F")


class AlertOutbox:
    """Builds, keeps and publishes one domain's alerts; ``errors`` counts the findings that
    could not become an alert and the alerts the bus refused."""

    def __init__(self, domain: str, recent: int = 1_000) -> None:
        self.domain = domain
        self.recent: deque[Alert] = deque(maxlen=recent)
        self.errors = 0

    def build(self, findings: Iterable[F], convert: Callable[[F], Alert]) -> list[Alert]:
        """``convert`` each finding (a ValueError is counted and logged, not raised) and keep
        the alerts among the recent ones."""
        out: list[Alert] = []
        for f in findings:
            try:
                out.append(convert(f))
            except ValueError:
                self.errors += 1
                name = getattr(f, "detector", type(f).__name__)
                log.error("%s: finding %s could not become an alert", self.domain, name)
        self.recent.extend(out)
        return out

    def publish(self, bus: Bus | None, alerts: list[Alert]) -> None:
        """Put ``alerts`` on the bus. A BusError is counted and raised, so the Dispatcher does
        not acknowledge the events that caused them: they come back."""
        if not alerts or bus is None:
            return
        try:
            publish_alerts(bus, alerts)
        except BusError:
            self.errors += len(alerts)
            raise


class HasAlertOutbox:
    """What a detector service with an ``outbox`` shows of it: the newest alerts and the count
    of findings or alerts that could not be published."""

    outbox: AlertOutbox

    @property
    def alerts(self) -> deque[Alert]:
        """The newest alerts, for the recent-alerts view."""
        return self.outbox.recent

    @property
    def publish_errors(self) -> int:
        return self.outbox.errors
