"""Routes of the logs domain under /api/v1/logs. The runtime is ``ctx.extras["logs"]`` (a
``LogWatch``). Ingesting needs ``alerts:write``; reading rules and stats ``alerts:read``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query

from portguard.core.auth import Permission
from portguard.core.errors import ConfigError, ValidationError
from portguard.core.http import Ctx, Principal, require
from portguard.logs.intake import IntakeError, ParseError, parse_json_line, parse_syslog
from portguard.logs.mapping import LogRecord
from portguard.logs.service import LogWatch

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/logs", tags=["logs"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))]

MAX_BODY_LINES = 50_000


def _watch(ctx: Ctx) -> LogWatch:
    watch = ctx.extras.get("logs")
    if not isinstance(watch, LogWatch):
        raise ConfigError("the logs domain is not running in this server")
    return watch


@router.post("/ingest", status_code=202)
def ingest(
    ctx: Ctx,
    principal: Writer,
    body: Annotated[str, Body(media_type="text/plain", max_length=16_000_000)],
    fmt: Annotated[Literal["jsonl", "syslog"], Query(alias="format")] = "jsonl",
) -> dict[str, Any]:
    """Log lines (JSON lines or syslog), one per line; answers after the alerts are published."""
    watch = _watch(ctx)
    lines = body.splitlines()
    if len(lines) > MAX_BODY_LINES:
        raise ValidationError(f"at most {MAX_BODY_LINES} lines per request", location="body")
    items: list[LogRecord | IntakeError] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            parse = parse_json_line if fmt == "jsonl" else parse_syslog
            items.append(parse(line, mapping=watch.mapping, source="api", position=f"line {n}"))
        except ParseError as exc:
            items.append(IntakeError("api", f"line {n}", exc.message))
    result = watch.ingest(items)
    return {
        "records": result.records,
        "alerts": [
            {"id": a.id, "rule_id": a.rule_id, "title": a.title, "severity": str(a.severity)}
            for a in result.alerts
        ],
        "errors": [str(e) for e in result.errors[:100]],
        "error_count": result.error_count,
    }


@router.get("/rules")
def rules(
    ctx: Ctx, principal: Reader, limit: Annotated[int, Query(ge=1, le=10_000)] = 500
) -> dict[str, Any]:
    """Loaded rules (id, title, level, log source, ATT&CK tags) and the ones that did not load."""
    watch = _watch(ctx)
    rs = watch.ruleset
    return {
        **rs.summary(),
        "rules": [
            {
                "id": r.id,
                "title": r.title,
                "level": r.level,
                "logsource": {"product": r.product, "category": r.category, "service": r.service},
                "attack": list(r.attack),
                "path": r.path,
            }
            for r in rs.rules[:limit]
        ],
        "problems": [p.as_dict() for p in rs.problems],
    }


@router.get("/stats")
def stats(ctx: Ctx, principal: Reader) -> dict[str, Any]:
    watch = _watch(ctx)
    t = watch.totals
    return {
        "records": t.records,
        "errors": t.error_count,
        "dropped": t.dropped,
        "recent_errors": [str(e) for e in t.errors[-20:]],
        "engine": watch.rules_report()["engine"],
    }
