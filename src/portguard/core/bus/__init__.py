"""The event bus: durable topics, consumer groups, at-least-once delivery (see ``base``).

Public API::

    Bus, Record, DeadLetter, StartAt     the interface (base)
    EmbeddedBus                          SQLite log + in-process wake-up (embedded)
    RedisBus                             Redis Streams (redis)
    open_bus(settings)                   the backend the settings ask for
    Dispatcher, GroupStats, Handler      the consume loop: isolation, idempotency (dispatch)
    EVENTS, ALERTS                       the topics (topics)
    encode_/decode_/publish_ event(s), alert(s)      the wire form (codec)
    AlertOutbox                          findings → alerts → recent list → bus (outbox)
"""

from __future__ import annotations

from portguard.core.bus.base import Bus, DeadLetter, Record, StartAt
from portguard.core.bus.codec import (
    decode_alert,
    decode_event,
    encode_alert,
    encode_event,
    publish_alert,
    publish_alerts,
    publish_event,
    publish_events,
)
from portguard.core.bus.dispatch import Dispatcher, GroupStats, Handler
from portguard.core.bus.embedded import EmbeddedBus
from portguard.core.bus.outbox import AlertOutbox, HasAlertOutbox
from portguard.core.bus.redis import RedisBus
from portguard.core.bus.topics import ALERTS, EVENTS
from portguard.core.settings import Settings

__all__ = [
    "ALERTS",
    "EVENTS",
    "AlertOutbox",
    "Bus",
    "DeadLetter",
    "Dispatcher",
    "EmbeddedBus",
    "GroupStats",
    "Handler",
    "HasAlertOutbox",
    "Record",
    "RedisBus",
    "StartAt",
    "decode_alert",
    "decode_event",
    "encode_alert",
    "encode_event",
    "open_bus",
    "publish_alert",
    "publish_alerts",
    "publish_event",
    "publish_events",
]


def open_bus(settings: Settings, *, visibility_timeout_s: float = 30.0) -> Bus:
    """The bus ``settings.bus`` names: ``embedded`` (``data_dir/bus.db``) or ``redis``
    (``redis_url``, ``bus_namespace``). Does not check that Redis answers: call ``ping``."""
    if settings.bus == "redis":
        return RedisBus(
            settings.redis_url,
            namespace=settings.bus_namespace,
            visibility_timeout_s=visibility_timeout_s,
        )
    settings.ensure_dirs()
    return EmbeddedBus(settings.data_dir / "bus.db", visibility_timeout_s=visibility_timeout_s)
