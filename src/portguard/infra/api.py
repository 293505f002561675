"""Routes of the infrastructure domain under ``/api/v1/infra``: event intake, asset states,
outages with their traffic impact, planned windows, recent alerts, counters. The runtime state
is ``ctx.extras["infra"]`` (an ``InfraWatch``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from portguard.core import audit
from portguard.core.auth import Permission
from portguard.core.errors import NotFoundError, ValidationError
from portguard.core.http import Ctx, DbSession, Principal, newest_alerts, require
from portguard.infra.service import InfraWatch
from portguard.portmodel.schedule import PlannedWindow

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/infra", tags=["infrastructure"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))]
Planner = Annotated[Principal, Depends(require(Permission.SECURITY_LEVEL_WRITE))]

MAX_RECORDS = 10_000


class WindowIn(BaseModel):
    kind: Literal["plan", "maintenance", "shift"]
    start: str
    end: str
    places: list[str] = Field(default_factory=list, max_length=1_000)
    organisations: list[str] = Field(default_factory=list, max_length=1_000)
    accounts: list[str] = Field(default_factory=list, max_length=1_000)
    persons: list[str] = Field(default_factory=list, max_length=1_000)
    note: str = Field(default="", max_length=2_000)


def _watch(ctx: Ctx) -> InfraWatch:
    w = ctx.extras.get("infra")
    if not isinstance(w, InfraWatch):
        raise NotFoundError("the infrastructure watch is not running in this instance")
    return w


@router.post("/events", status_code=202)
async def post_events(request: Request, ctx: Ctx, principal: Writer) -> dict[str, Any]:
    """OT commands, states and planned passages (see ``docs/access_infra.md``): a JSON object, a
    list, ``{"events": [...]}``, JSON lines (``application/x-ndjson``) or CSV (``text/csv``)."""
    w = _watch(ctx)
    body = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    source = f"api:{principal.username}"
    if kind in ("application/x-ndjson", "application/jsonl", "text/csv"):
        fmt = "csv" if kind == "text/csv" else "jsonl"
        text = body.decode("utf-8", errors="replace")
        report = await run_in_threadpool(w.ingest_text, text, fmt=fmt, source=source)
    else:
        try:
            doc: Any = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"the body is not valid JSON: {exc}", location="body") from None
        if isinstance(doc, dict) and isinstance(doc.get("events"), list):
            doc = doc["events"]
        items = doc if isinstance(doc, list) else [doc]
        if len(items) > MAX_RECORDS:
            raise ValidationError(f"at most {MAX_RECORDS} records per request", location="body")
        recs = [(f"body[{i}]", r) for i, r in enumerate(items)]
        report = await run_in_threadpool(w.ingest_records, recs, source=source)
    if report.accepted == 0 and report.rejected:
        raise ValidationError("no record accepted: " + "; ".join(report.problems[:5]))
    return report.as_dict()


@router.get("/states")
def states(ctx: Ctx, principal: Reader) -> dict[str, dict[str, str]]:
    """The last reported state of every asset heard of."""
    return _watch(ctx).states()


@router.get("/outages")
def outages(ctx: Ctx, principal: Reader) -> list[dict[str, Any]]:
    """Assets out (fault, maintenance) with the routes, roads and vessels affected and the
    expected delay: the business-continuity view."""
    return [i.as_dict() for i in _watch(ctx).outages()]


@router.get("/impact/{asset_id}")
def impact(
    asset_id: str,
    ctx: Ctx,
    principal: Reader,
    state: Annotated[
        Literal["open", "closed", "moving", "maintenance", "fault"] | None, Query()
    ] = None,
) -> dict[str, Any]:
    """What if ``asset_id`` were in ``state`` (default: its current state, else fault)?"""
    return _watch(ctx).impact(asset_id, state).as_dict()


@router.post("/windows", status_code=201)
def add_window(body: WindowIn, ctx: Ctx, session: DbSession, principal: Planner) -> dict[str, Any]:
    """Add a planned operation, maintenance window or shift (audited; kept in memory until the
    configuration file has it)."""
    w = _watch(ctx)
    window = PlannedWindow.from_dict(
        body.model_dump(exclude={"kind"}, exclude_defaults=False), where="body"
    )
    w.add_window(body.kind, window)
    audit.record(
        session,
        actor=principal.actor,
        action=f"infra.window.{body.kind}",
        target="infra:windows",
        details=window.as_dict(),
    )
    return {"kind": body.kind, **window.as_dict()}


@router.get("/alerts")
def alerts(
    ctx: Ctx,
    principal: Reader,
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> list[dict[str, Any]]:
    return newest_alerts(
        _watch(ctx).alerts, keep=lambda a: not rule or a.rule_id == rule, limit=limit
    )


@router.get("/stats")
def stats(ctx: Ctx, principal: Reader) -> dict[str, Any]:
    return _watch(ctx).stats()
