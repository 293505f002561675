"""State changes of the port model: ISPS security levels set at run time, audited, with history.

This module owns the rules for changing a facility's security level. Functions are keyword-only
and take the caller's session: they add and flush rows but never commit, so a change and its audit
entry land in the caller's transaction together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.clock import ensure_utc, utcnow
from portguard.core.errors import ConflictError, ValidationError
from portguard.portmodel.model import PortModel
from portguard.portmodel.models import SecurityLevelChange

__all__ = [
    "AUDIT_ACTION",
    "SECURITY_LEVELS",
    "current_security_level",
    "current_security_levels",
    "latest_security_level_change",
    "security_level_history",
    "set_security_level",
]

SECURITY_LEVELS: Final = (1, 2, 3)
#: The audit-log action of a security-level change.
AUDIT_ACTION: Final = "portmodel.security_level.set"
MAX_REASON: Final = 2_000
MAX_ACTOR: Final = 200
_LOCK_NAMESPACE: Final = 7_312_002


def _check_level(level: object) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level not in SECURITY_LEVELS:
        raise ValidationError(
            f"ISPS security level must be 1, 2 or 3, got {level!r}", location="level"
        )
    return level


def _check_text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be given (non-empty text)", location=field)
    value = value.strip()
    if len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters", location=field)
    return value


def _serialise_per_facility(session: Session, facility_id: str) -> None:
    """One writer per facility at a time, so that ``previous_level`` is always the level before.

    PostgreSQL: a transaction-scoped advisory lock on the facility. SQLite: take the database's
    write lock *before* reading the latest change. The driver only opens a transaction at the
    first write, so without this the read could see a state another writer is about to change.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:fid))"),
            {"ns": _LOCK_NAMESPACE, "fid": facility_id},
        )
    elif dialect == "sqlite":
        session.execute(
            text(f"UPDATE {SecurityLevelChange.__tablename__} SET level = level WHERE 1 = 0")
        )


def latest_security_level_change(
    *, session: Session, facility_id: str
) -> SecurityLevelChange | None:
    """The change now in force for this facility, or None if its level was never changed."""
    return session.execute(
        select(SecurityLevelChange)
        .where(SecurityLevelChange.facility_id == facility_id)
        .order_by(SecurityLevelChange.changed_at.desc(), SecurityLevelChange.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def set_security_level(
    *,
    session: Session,
    model: PortModel,
    facility_id: str,
    level: int,
    actor: str,
    reason: str,
    at: datetime | None = None,
) -> SecurityLevelChange:
    """Set a facility's ISPS security level; record the change and an audit entry.

    Raises ``NotFoundError`` if the model has no such facility, ``ValidationError`` for a level
    other than 1, 2 or 3 or an empty actor/reason, and ``ConflictError`` if ``at`` is earlier than
    the facility's last change (history is append-only). Setting the level already in force is
    recorded too: re-confirming a level is a decision worth keeping.
    """
    facility = model.facility(facility_id)
    level = _check_level(level)
    actor = _check_text(actor, "actor", MAX_ACTOR)
    reason = _check_text(reason, "reason", MAX_REASON)

    _serialise_per_facility(session, facility_id)
    when = ensure_utc(at) if at is not None else utcnow()  # stamped once the lock is held
    latest = latest_security_level_change(session=session, facility_id=facility_id)
    if latest is not None and when < latest.changed_at:
        raise ConflictError(
            f"cannot set the security level of {facility_id!r} at {when.isoformat()}: "
            f"it was last changed later, at {latest.changed_at.isoformat()}"
        )
    previous = latest.level if latest is not None else facility.security_level
    assert previous is not None  # model.facility() only returns features with a level
    change = SecurityLevelChange(
        facility_id=facility_id,
        level=level,
        previous_level=previous,
        reason=reason,
        actor=actor,
        changed_at=when,
    )
    session.add(change)
    session.flush()
    # The audit entry's own time is when it was written, which a caller cannot backdate.
    audit.record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        target=f"facility:{facility_id}",
        details={
            "change_id": change.id,
            "facility_id": facility_id,
            "facility_name": facility.name,
            "level": level,
            "previous_level": previous,
            "reason": reason,
            "changed_at": when.isoformat(),
        },
    )
    return change


def current_security_level(*, session: Session, model: PortModel, facility_id: str) -> int:
    """The level in force: the latest change, else the model's default for the facility."""
    facility = model.facility(facility_id)
    latest = latest_security_level_change(session=session, facility_id=facility_id)
    if latest is not None:
        return latest.level
    assert facility.security_level is not None
    return facility.security_level


def current_security_levels(*, session: Session, model: PortModel) -> dict[str, int]:
    """The level in force at every facility of the model, by facility id, in one query."""
    levels = {f.id: f.security_level for f in model.facilities() if f.security_level is not None}
    rows = session.execute(
        select(SecurityLevelChange.facility_id, SecurityLevelChange.level)
        .where(SecurityLevelChange.facility_id.in_(list(levels)))
        .order_by(SecurityLevelChange.changed_at, SecurityLevelChange.id)
    )
    for facility_id, level in rows:
        levels[facility_id] = level
    return levels


def security_level_history(
    *, session: Session, facility_id: str, limit: int | None = None
) -> list[SecurityLevelChange]:
    """Changes of this facility's level, oldest first; ``limit`` keeps only the latest ones."""
    query = (
        select(SecurityLevelChange)
        .where(SecurityLevelChange.facility_id == facility_id)
        .order_by(SecurityLevelChange.changed_at.desc(), SecurityLevelChange.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.execute(query).scalars())
    rows.reverse()
    return rows
