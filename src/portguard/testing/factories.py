"""Factories for real core objects with sensible defaults; override any field by keyword."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portguard.core.clock import utcnow
from portguard.core.db import Database
from portguard.core.types import Alert, Domain, EntityRef, Event, Severity

__all__ = ["make_alert", "make_event", "migrated_db"]


def _entities(values: Any) -> tuple[EntityRef, ...]:
    return tuple(v if isinstance(v, EntityRef) else EntityRef.parse(v) for v in values)


def make_alert(
    *,
    entities: Any = (),
    observed_at: datetime | None = None,
    severity: Severity | str = Severity.HIGH,
    domain: Domain | str = Domain.MAIL,
    **fields: Any,
) -> Alert:
    """An Alert; ``entities`` may be ``"kind:value"`` strings."""
    data: dict[str, Any] = {
        "rule_id": "test.rule",
        "title": "Test alert",
        "why": "because a test said so",
        "domain": Domain(domain),
        "severity": severity,
        "observed_at": observed_at or utcnow(),
        "entities": _entities(entities),
    }
    data.update(fields)
    return Alert(**data)


def make_event(*, entities: Any = (), observed_at: datetime | None = None, **fields: Any) -> Event:
    data: dict[str, Any] = {
        "observed_at": observed_at or utcnow(),
        "source": "test",
        "domain": Domain.MAIL,
        "kind": "test",
        "entities": _entities(entities),
    }
    data.update(fields)
    return Event(**data)


def migrated_db(url: str) -> Database:
    """A Database at ``url`` with every migration applied."""
    from portguard.app.migrations import SCRIPT_LOCATION

    db = Database(url)
    db.upgrade(SCRIPT_LOCATION)
    return db
