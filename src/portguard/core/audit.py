"""The append-only audit log: every state change a person or system makes, hash-chained.

Each entry stores the SHA-256 of its canonical content plus the previous entry's hash, so deleting,
reordering or editing any row breaks the chain; ``verify`` finds the first broken link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime, take_write_lock

__all__ = ["AuditEntry", "VerifyResult", "record", "verify"]

GENESIS = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    target: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


def _digest(prev: str, at: datetime, actor: str, action: str, target: str, details: Any) -> str:
    body = orjson.dumps(
        [prev, at.isoformat(timespec="microseconds"), actor, action, target, details],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction. Never put secrets in ``details``."""
    details = details or {}
    at = at or utcnow()
    # Serialise writers: the chain must be linear. On PostgreSQL, an advisory transaction lock;
    # on SQLite the write transaction itself is exclusive.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(7312001)"))
    else:
        take_write_lock(session, AuditEntry.__tablename__)
    prev = session.execute(
        select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar_one_or_none()
    prev = prev or GENESIS
    details = orjson.loads(orjson.dumps(details, default=str))
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        target=target,
        details=details,
        prev_hash=prev,
        hash=_digest(prev, at, actor, action, target, details),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the start; report the first entry that does not check out."""
    prev = GENESIS
    n = 0
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        n += 1
        if entry.prev_hash != prev:
            return VerifyResult(False, n, entry.seq, "previous-hash link broken (row removed?)")
        expected = _digest(prev, entry.at, entry.actor, entry.action, entry.target, entry.details)
        if expected != entry.hash:
            return VerifyResult(False, n, entry.seq, "content does not match its hash (edited?)")
        prev = entry.hash
    return VerifyResult(True, n)
