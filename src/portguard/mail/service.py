"""State changes of the mail domain; each function takes its session (Dispatch's style).

Recording is idempotent by message id (the spool id), so a verdict recorded twice after a crash
counts once. Every action a person takes on a message is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.clock import utcnow
from portguard.core.errors import ConflictError, NotFoundError
from portguard.mail.models import MailCorrespondent, MailDailyStat, MailFeedback, MailMessage
from portguard.mail.schemas import StatsRead

__all__ = [
    "HELD",
    "STATUSES",
    "Status",
    "add_feedback",
    "count_message",
    "expiring",
    "forget_correspondent",
    "get_message",
    "purge_messages",
    "record_message",
    "record_raw_read",
    "search_correspondents",
    "search_messages",
    "set_status",
    "stats",
]

_CATS = ("clean", "bulk", "spam", "phishing", "malware")
#: Where a message stands: waiting for the next hop, held, passed on, released from the
#: quarantine, deleted from it (by a person, or by the retention period), refused at SMTP
#: time, or given up on after the retries.
Status = Literal[
    "queued",
    "quarantined",
    "delivered",
    "released",
    "deleted",
    "expired",
    "rejected",
    "undeliverable",
]
#: Statuses whose message is kept in the quarantine folder.
HELD = ("quarantined", "undeliverable")
STATUSES: tuple[str, ...] = get_args(Status)


def count_message(*, session: Session, day: str, category: str | None, rejected: bool) -> None:
    row = session.get(MailDailyStat, day)
    if row is None:
        row = MailDailyStat(
            day=day, scanned=0, clean=0, bulk=0, spam=0, phishing=0, malware=0, rejected=0
        )
        session.add(row)
    row.scanned += 1
    if category in _CATS:
        setattr(row, category, getattr(row, category) + 1)
    if rejected:
        row.rejected += 1


def record_message(
    *,
    session: Session,
    sid: str,
    received_at: datetime,
    sender: str,
    recipients: list[str],
    subject: str,
    category: str,
    score: float,
    reasons: list[dict[str, Any]],
    status: str,
    size: int,
    client: str,
    sha256: str,
) -> bool:
    """Store a verdict once; False (and nothing changed) when ``sid`` is already recorded."""
    if session.get(MailMessage, sid) is not None:
        return False
    session.add(
        MailMessage(
            id=sid,
            received_at=received_at,
            sender=sender[:320],
            recipients=recipients,
            recipients_text=" ".join(recipients),
            subject=subject[:1000],
            category=category,
            score=score,
            reasons=reasons,
            status=status,
            size=size,
            client=client[:100],
            sha256=sha256,
        )
    )
    count_message(
        session=session,
        day=received_at.strftime("%Y-%m-%d"),
        category=category,
        rejected=status == "rejected",
    )
    return True


def get_message(*, session: Session, sid: str, for_update: bool = False) -> MailMessage:
    """The verdict row of ``sid``; ``for_update`` locks it until the commit (PostgreSQL; SQLite
    serialises writers anyway)."""
    row = (
        session.get(MailMessage, sid, with_for_update=True, populate_existing=True)
        if for_update
        else session.get(MailMessage, sid)
    )
    if row is None:
        raise NotFoundError(f"no mail message {sid!r}")
    return row


def record_raw_read(*, session: Session, sid: str, actor: str) -> None:
    """Audit that ``actor`` read a held message itself (personal data, possibly malware)."""
    row = get_message(session=session, sid=sid)
    audit.record(
        session,
        actor=actor,
        action="mail.raw_read",
        target=f"mail:{sid}",
        details={"status": row.status, "subject": row.subject[:200]},
    )


def search_messages(
    *,
    session: Session,
    status: str | None = "quarantined",
    sender: str | None = None,
    recipient: str | None = None,
    subject: str | None = None,
    category: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[MailMessage]:
    stmt = select(MailMessage)
    if status:
        stmt = stmt.where(MailMessage.status == status)
    if sender:
        stmt = stmt.where(MailMessage.sender.contains(sender.lower()))
    if recipient:
        stmt = stmt.where(MailMessage.recipients_text.contains(recipient.lower()))
    if subject:
        stmt = stmt.where(func.lower(MailMessage.subject).contains(subject.lower()))
    if category:
        stmt = stmt.where(MailMessage.category == category)
    if since:
        stmt = stmt.where(MailMessage.received_at >= since)
    if until:
        stmt = stmt.where(MailMessage.received_at < until)
    if q:
        like = q.lower()
        stmt = stmt.where(
            or_(
                MailMessage.sender.contains(like),
                MailMessage.recipients_text.contains(like),
                func.lower(MailMessage.subject).contains(like),
            )
        )
    stmt = stmt.order_by(MailMessage.received_at.desc()).limit(limit).offset(offset)
    return list(session.execute(stmt).scalars())


def set_status(
    *, session: Session, sid: str, status: str, actor: str, expect: tuple[str, ...] = ()
) -> MailMessage:
    # Locked: a release and the retention's expiry of one message must not both pass the check.
    row = get_message(session=session, sid=sid, for_update=True)
    if expect and row.status not in expect:
        raise ConflictError(f"message {sid} is {row.status}, not {' or '.join(expect)}")
    old = row.status
    row.status = status
    audit.record(
        session,
        actor=actor,
        action=f"mail.{status}",
        target=f"mail:{sid}",
        details={"from": old, "to": status, "subject": row.subject[:200]},
    )
    return row


def expiring(*, session: Session, before: datetime, limit: int = 500) -> list[str]:
    """Ids of held messages received before ``before``, oldest first."""
    stmt = (
        select(MailMessage.id)
        .where(MailMessage.status.in_(HELD), MailMessage.received_at < before)
        .order_by(MailMessage.received_at)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def purge_messages(*, session: Session, before: datetime, limit: int = 5000) -> int:
    """Delete the verdict rows (and users' reports on them) of messages received before
    ``before``, held and queued ones excepted (their message is still in the spool); one
    audit entry for the batch. The daily counters stay. Returns how many rows went."""
    ids = list(
        session.execute(
            select(MailMessage.id)
            .where(
                MailMessage.received_at < before,
                MailMessage.status.not_in((*HELD, "queued")),
            )
            .limit(limit)
        ).scalars()
    )
    if not ids:
        return 0
    session.execute(delete(MailFeedback).where(MailFeedback.message_id.in_(ids)))
    session.execute(delete(MailMessage).where(MailMessage.id.in_(ids)))
    audit.record(
        session,
        actor="system:retention",
        action="mail.purged",
        target="mail_messages",
        details={"messages": len(ids), "received_before": before.isoformat()},
    )
    return len(ids)


def add_feedback(
    *, session: Session, sid: str, label: str, actor: str, comment: str = ""
) -> MailFeedback:
    row = get_message(session=session, sid=sid)
    fb = MailFeedback(message_id=sid, label=label, actor=actor, comment=comment, at=utcnow())
    session.add(fb)
    audit.record(
        session,
        actor=actor,
        action="mail.report",
        target=f"mail:{sid}",
        details={"label": label, "verdict": row.category},
    )
    session.flush()
    return fb


def stats(*, session: Session, period: str = "day", limit: int = 31) -> list[StatsRead]:
    """Counters per day (``YYYY-MM-DD``) or month (``YYYY-MM``), newest first."""
    rows = list(session.execute(select(MailDailyStat).order_by(MailDailyStat.day.desc())).scalars())
    buckets: dict[str, dict[str, int]] = {}
    for r in rows:
        key = r.day if period == "day" else r.day[:7]
        b = buckets.setdefault(key, dict.fromkeys((*_CATS, "scanned", "rejected"), 0))
        for k in b:
            b[k] += getattr(r, k)
    return [StatsRead(period=k, **v) for k, v in list(buckets.items())[:limit]]


def search_correspondents(
    *, session: Session, q: str | None = None, limit: int = 100, offset: int = 0
) -> list[MailCorrespondent]:
    """Senders with a history here, most recently seen first; ``q`` matches the address."""
    stmt = select(MailCorrespondent)
    if q:
        stmt = stmt.where(MailCorrespondent.address.contains(q.lower()))
    stmt = stmt.order_by(MailCorrespondent.last_seen.desc()).limit(limit).offset(offset)
    return list(session.execute(stmt).scalars())


def forget_correspondent(*, session: Session, address: str, actor: str) -> None:
    """Drop a sender's history (audited): its mail earns no credit until it builds one again."""
    row = session.get(MailCorrespondent, address.lower())
    if row is None:
        raise NotFoundError(f"no correspondent {address!r}")
    audit.record(
        session,
        actor=actor,
        action="mail.forget_correspondent",
        target=f"mail-sender:{row.address}",
        details={"delivered": row.delivered, "reported": row.reported},
    )
    session.delete(row)
