"""Routes of the mail domain: quarantine search, message, release, delete, user reports, stats,
known correspondents.

Reads need ``alerts:read``; release, delete, reports and forgetting a correspondent need
``incidents:write``. The runtime
object is ``ctx.extras["mail"]`` (a ``MailGateway``); searching and statistics work from the
database alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from portguard.core.auth import Permission
from portguard.core.errors import NotFoundError
from portguard.core.http import Ctx, DbSession, Principal, require
from portguard.mail import service
from portguard.mail.gateway import MailGateway
from portguard.mail.schemas import (
    Category,
    CorrespondentRead,
    FeedbackCreate,
    QuarantineRead,
    StatsRead,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/mail", tags=["mail"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INCIDENTS_WRITE))]


def _gateway(ctx: Ctx) -> MailGateway:
    gw = ctx.extras.get("mail")
    if not isinstance(gw, MailGateway):
        raise NotFoundError("the mail gateway is not running in this instance")
    return gw


@router.get("/messages", response_model=list[QuarantineRead])
def messages(
    session: DbSession,
    principal: Reader,
    status: Annotated[
        service.Status | Literal["any"],
        Query(description="quarantined (default), queued, delivered, released, ... or 'any'"),
    ] = "quarantined",
    sender: Annotated[str | None, Query(max_length=320)] = None,
    recipient: Annotated[str | None, Query(max_length=320)] = None,
    subject: Annotated[str | None, Query(max_length=500)] = None,
    category: Category | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[QuarantineRead]:
    """Search verdicts; by default the quarantine."""
    rows = service.search_messages(
        session=session,
        status=None if status == "any" else status,
        sender=sender,
        recipient=recipient,
        subject=subject,
        category=category.value if category else None,
        since=since,
        until=until,
        q=q,
        limit=limit,
        offset=offset,
    )
    return [QuarantineRead.model_validate(r) for r in rows]


@router.get("/messages/{sid}", response_model=QuarantineRead)
def message(sid: str, session: DbSession, principal: Reader) -> QuarantineRead:
    return QuarantineRead.model_validate(service.get_message(session=session, sid=sid))


@router.get("/messages/{sid}/raw")
def raw(sid: str, ctx: Ctx, session: DbSession, principal: Writer) -> Response:
    """The quarantined message itself (``message/rfc822``); needs write rights (it may be
    live malware) and is audited (it is personal data)."""
    service.get_message(session=session, sid=sid)
    data = _gateway(ctx).quarantined_raw(sid)
    service.record_raw_read(session=session, sid=sid, actor=principal.actor)
    return Response(data, media_type="message/rfc822")


@router.post("/messages/{sid}/release", response_model=QuarantineRead)
def release(sid: str, ctx: Ctx, principal: Writer) -> QuarantineRead:
    gw = _gateway(ctx)
    gw.release(sid, actor=principal.actor)
    with ctx.db.session() as session:
        return QuarantineRead.model_validate(service.get_message(session=session, sid=sid))


@router.delete("/messages/{sid}", status_code=204)
def delete(sid: str, ctx: Ctx, principal: Writer) -> Response:
    _gateway(ctx).delete(sid, actor=principal.actor)
    return Response(status_code=204)


@router.post("/messages/{sid}/report", status_code=201)
def report(sid: str, body: FeedbackCreate, ctx: Ctx, principal: Writer) -> dict[str, str]:
    """A user's "this is phishing" / "this is not phishing" (``ham``); feeds retraining."""
    _gateway(ctx).report(sid, body.label, actor=principal.actor, comment=body.comment)
    return {"message_id": sid, "label": body.label}


@router.get("/stats", response_model=list[StatsRead])
def stats(
    session: DbSession,
    principal: Reader,
    period: Annotated[str, Query(pattern="^(day|month)$")] = "day",
    limit: Annotated[int, Query(ge=1, le=3660)] = 31,
) -> list[StatsRead]:
    """Messages scanned and blocked (phishing, spam, malware) per day or month."""
    return service.stats(session=session, period=period, limit=limit)


@router.get("/correspondents", response_model=list[CorrespondentRead])
def correspondents(
    session: DbSession,
    principal: Reader,
    q: Annotated[str | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CorrespondentRead]:
    """Senders whose authenticated mail was delivered here, most recently seen first."""
    rows = service.search_correspondents(session=session, q=q, limit=limit, offset=offset)
    return [CorrespondentRead.model_validate(r) for r in rows]


@router.delete("/correspondents/{address}", status_code=204)
def forget(address: str, ctx: Ctx, principal: Writer) -> Response:
    """Drop a sender's history: its mail earns no credit until it builds one again."""
    _gateway(ctx).forget_correspondent(address, actor=principal.actor)
    return Response(status_code=204)
