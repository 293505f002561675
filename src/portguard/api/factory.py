"""Build the FastAPI application from an AppContext and the routers of the domains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from portguard import __version__
from portguard.api import admin, intake
from portguard.api.errors import install_error_handlers
from portguard.api.middleware import BodyLimit, RequestMetrics
from portguard.core.auth import Permission
from portguard.core.errors import PortGuardError
from portguard.core.http import AppContext, Ctx, Principal, require

__all__ = ["create_api"]

_ops = APIRouter(tags=["operations"])


@_ops.get("/healthz")
def healthz(ctx: Ctx) -> JSONResponse:
    """Liveness and readiness: the database and the bus answer. No authentication, no details
    beyond up/down, so it is safe for load balancers."""
    checks: dict[str, str] = {}
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means not ready
        checks["database"] = "down"
    try:
        ctx.bus.ping()
        checks["bus"] = "ok"
    except PortGuardError:
        checks["bus"] = "down"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "checks": checks, "version": __version__},
        status_code=200 if ok else 503,
    )


@_ops.get("/metrics")
def metrics(
    ctx: Ctx, _: Annotated[Principal, Depends(require(Permission.METRICS_READ))]
) -> Response:
    """Prometheus metrics (scrape with a bearer token)."""
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _add_schemas(app: FastAPI) -> None:
    from fastapi.openapi.utils import get_openapi

    from portguard.api.intake import AlertBatch

    def openapi() -> dict[str, object]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        batch = AlertBatch.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in batch.pop("$defs", {}).items():
            comps.setdefault(name, sub)
        comps["AlertBatch"] = batch
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_api(ctx: AppContext, routers: Sequence[APIRouter] = ()) -> FastAPI:
    app = FastAPI(
        title="PortGuard",
        version=__version__,
        description="Security operations for a seaport and its port community.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    # Alert and AlertBatch are parsed by hand in intake (clear errors); document them anyway.
    _add_schemas(app)
    install_error_handlers(app)
    app.include_router(_ops)
    app.include_router(intake.router)
    app.include_router(admin.router)
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestMetrics, metrics=ctx.metrics)
    app.add_middleware(BodyLimit, max_bytes=ctx.settings.max_body_bytes)
    return app
