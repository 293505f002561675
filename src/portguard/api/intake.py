"""Alert intake over HTTP: validated at the edge, published durably on the bus, then answered.

``202 Accepted`` means the alerts are on the durable bus: a crash after the answer loses nothing,
the incident engine takes them from there.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from portguard.core.auth import Permission
from portguard.core.bus import ALERTS, encode_alert
from portguard.core.errors import PortGuardError, ValidationError
from portguard.core.http import Ctx, Principal, require
from portguard.core.types import Alert

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["intake"])

MAX_BATCH = 1000


class Accepted(BaseModel):
    accepted: int
    ids: list[str]


class AlertBatch(BaseModel):
    alerts: list[Alert] = Field(min_length=1, max_length=MAX_BATCH)


class UnsupportedMediaType(PortGuardError):
    http_status = 415


def _problems(exc: PydanticValidationError, prefix: str) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        parts.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_alerts(body: bytes, content_type: str) -> list[Alert]:
    """One alert object, or ``{"alerts": [...]}``; every problem named with its JSON path."""
    if content_type.split(";")[0].strip().lower() not in ("application/json", ""):
        raise UnsupportedMediaType(
            f"send JSON (Content-Type: application/json), not {content_type}"
        )
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc}", location="body") from None
    if isinstance(doc, dict) and "alerts" in doc:
        try:
            return AlertBatch.model_validate(doc).alerts
        except PydanticValidationError as exc:
            raise ValidationError(_problems(exc, "body"), location="body") from None
    if not isinstance(doc, dict):
        raise ValidationError('expected an alert object or {"alerts": [...]}', location="body")
    try:
        return [Alert.model_validate(doc)]
    except PydanticValidationError as exc:
        raise ValidationError(_problems(exc, "body"), location="body") from None


_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/Alert"},
                        {"$ref": "#/components/schemas/AlertBatch"},
                    ]
                }
            }
        },
    }
}


@router.post("/alerts", status_code=202, response_model=Accepted, openapi_extra=_SCHEMA)
async def post_alerts(
    request: Request,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))],
) -> Accepted:
    """Submit one alert, or ``{"alerts": [...]}`` with up to 1,000."""
    from starlette.concurrency import run_in_threadpool

    alerts = parse_alerts(await request.body(), request.headers.get("content-type", ""))
    items = [(a.id, encode_alert(a)) for a in alerts]
    # The durable write blocks; keep it off the event loop.
    await run_in_threadpool(ctx.bus.publish_many, ALERTS, items)
    ctx.metrics.events_published.labels(ALERTS).inc(len(alerts))
    return Accepted(accepted=len(alerts), ids=[a.id for a in alerts])
