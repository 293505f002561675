"""Every error leaves the API as JSON a client can act on: ``{"error": {"code", "message", ...}}``.
Never a traceback; unexpected errors are logged server-side with an id the client can quote."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from portguard.core.errors import AuthError, PortGuardError, ValidationError
from portguard.core.ids import new_id

log = logging.getLogger("portguard.api")

__all__ = ["error_body", "install_error_handlers"]


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _code(exc: PortGuardError) -> str:
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PortGuardError)
    async def _pg(_: Request, exc: PortGuardError) -> JSONResponse:
        extra: dict[str, Any] = {}
        message = str(exc)
        if isinstance(exc, ValidationError):
            message = exc.message
            if exc.location:
                extra["location"] = exc.location
        headers = {"WWW-Authenticate": "Bearer"} if type(exc) is AuthError else None
        return JSONResponse(
            error_body(_code(exc), message, **extra), status_code=exc.http_status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()))
            problems.append({"location": loc, "message": err.get("msg", "invalid")})
        summary = "; ".join(f"{p['location']}: {p['message']}" for p in problems[:5])
        return JSONResponse(
            error_body(
                "invalid_request", f"the request is not valid: {summary}", problems=problems
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        error_id = new_id()
        log.exception("unexpected error %s", error_id)
        return JSONResponse(
            error_body(
                "internal_error",
                f"PortGuard hit an unexpected error; quote {error_id} to your administrator",
                error_id=error_id,
            ),
            status_code=500,
        )
