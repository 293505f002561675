"""Routes of the access domain under ``/api/v1/access``: event intake, readers, credentials,
recent alerts, counters. The runtime state is ``ctx.extras["access"]`` (an ``AccessControl``).

Event intake answers 202 once the accepted events are on the durable bus; refused records are
counted and listed with their location (``body[3]``, ``body:12``). Credential changes need
``security_level:write`` (security officers: analysts and admins) and are audited.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from portguard.access.credentials import (
    CredentialIn,
    import_credentials_csv,
    load_credentials,
    revoke_credential,
    upsert_credentials,
)
from portguard.access.service import AccessControl
from portguard.core.auth import Permission
from portguard.core.errors import NotFoundError, ValidationError
from portguard.core.http import Ctx, DbSession, Principal, newest_alerts, require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/access", tags=["access"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))]
Officer = Annotated[Principal, Depends(require(Permission.SECURITY_LEVEL_WRITE))]

MAX_RECORDS = 10_000


class Revoke(BaseModel):
    reason: str = Field(min_length=1, max_length=2_000)


def _control(ctx: Ctx) -> AccessControl:
    ac = ctx.extras.get("access")
    if not isinstance(ac, AccessControl):
        raise NotFoundError("access control is not running in this instance")
    return ac


def _kind(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


def _records(body: bytes) -> list[tuple[str, Any]]:
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc}", location="body") from None
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        doc = doc["events"]
    items = doc if isinstance(doc, list) else [doc]
    if len(items) > MAX_RECORDS:
        raise ValidationError(f"at most {MAX_RECORDS} records per request", location="body")
    return [(f"body[{i}]", r) for i, r in enumerate(items)]


@router.post("/events", status_code=202)
async def post_events(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """Access records (see ``docs/access_infra.md``): a JSON object, a list, ``{"events": [...]}``,
    JSON lines (``application/x-ndjson``) or CSV (``text/csv``)."""
    ac = _control(ctx)
    body = await request.body()
    kind = _kind(request)
    source = f"api:{principal.username}"
    if kind in ("application/x-ndjson", "application/jsonl"):
        text = body.decode("utf-8", errors="replace")
        report = await run_in_threadpool(ac.ingest_text, text, fmt="jsonl", source=source)
    elif kind == "text/csv":
        text = body.decode("utf-8", errors="replace")
        report = await run_in_threadpool(ac.ingest_text, text, fmt="csv", source=source)
    else:
        recs = _records(body)
        report = await run_in_threadpool(ac.ingest_records, recs, source=source)
    if report.accepted == 0 and report.rejected:
        raise ValidationError("no record accepted: " + "; ".join(report.problems[:5]))
    return report.as_dict()


@router.get("/readers")
def readers(ctx: Ctx, principal: Reader) -> list[dict[str, Any]]:
    """Readers and gates with their facility, the ISPS level in force, and level rules."""
    ac = _control(ctx)
    return [
        {
            "id": r.id,
            "name": r.name,
            "lat": r.lat,
            "lon": r.lon,
            "facility": r.facility,
            "asset": r.asset,
            "security_level": ac.detectors.level_at(r),
            "closed_at_level": r.closed_at_level,
            "level3_access_point": r.level3_access_point,
        }
        for r in ac.readers
    ]


def _cred_json(c: Any) -> dict[str, Any]:
    return {
        "badge": c.badge,
        "holder": c.holder,
        "person_id": c.person_id,
        "organisation": c.organisation,
        "clearances": sorted(c.clearances),
        "valid_from": c.valid_from,
        "valid_until": c.valid_until,
        "revoked": c.revoked,
        "hours": c.hours,
        "visitor": c.visitor,
        "responder": c.responder,
    }


@router.get("/credentials/{badge}")
def get_credential(badge: str, ctx: Ctx, principal: Reader) -> dict[str, Any]:
    c = _control(ctx).credentials.get(badge)
    if c is None:
        raise NotFoundError(f"no credential {badge!r}")
    return _cred_json(c)


@router.put("/credentials")
def put_credentials(
    body: Annotated[list[CredentialIn], Field(max_length=MAX_RECORDS)],
    ctx: Ctx,
    session: DbSession,
    principal: Officer,
) -> dict[str, int]:
    """Create or replace credentials (audited)."""
    ac = _control(ctx)
    out = upsert_credentials(session=session, credentials=body, actor=principal.actor)
    session.commit()
    ac.set_credentials(load_credentials(session=session).values())
    return {"upserted": len(out)}


@router.post("/credentials/{badge}/revoke")
def revoke(
    badge: str, body: Revoke, ctx: Ctx, session: DbSession, principal: Officer
) -> dict[str, Any]:
    ac = _control(ctx)
    c = revoke_credential(session=session, badge=badge, actor=principal.actor, reason=body.reason)
    session.commit()
    ac.set_credentials(load_credentials(session=session).values())
    return _cred_json(c)


@router.post("/credentials/import")
async def import_credentials(
    request: Request, ctx: Ctx, session: DbSession, principal: Officer
) -> dict[str, Any]:
    """A credentials CSV (``text/csv``); bad rows are reported, the rest imported."""
    ac = _control(ctx)
    text = (await request.body()).decode("utf-8", errors="replace")
    result = import_credentials_csv(
        session=session, text=text, actor=principal.actor, source="upload"
    )
    session.commit()
    ac.set_credentials(load_credentials(session=session).values())
    return {"imported": result.imported, "problems": result.problems}


@router.get("/alerts")
def alerts(
    ctx: Ctx,
    principal: Reader,
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> list[dict[str, Any]]:
    """Recent access alerts raised by this instance, newest first."""
    return newest_alerts(
        _control(ctx).alerts, keep=lambda a: not rule or a.rule_id == rule, limit=limit
    )


@router.get("/stats")
def stats(ctx: Ctx, principal: Reader) -> dict[str, Any]:
    """Intake counters (accepted, refused by reason), detector findings and errors."""
    return _control(ctx).stats()
