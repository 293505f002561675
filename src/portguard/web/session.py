"""Console sessions: log in with a username and password, get an HttpOnly cookie holding a
short-lived API token; the ``ConsoleSession`` middleware turns that cookie into the
``Authorization: Bearer`` header every API route already understands.

So the console's JavaScript never sees a secret, and the API has one authentication path. The
cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends
it) and ``Secure`` when served over HTTPS. On top of SameSite, a state-changing request
authenticated by the cookie must carry the ``X-PortGuard-Console`` header, which a cross-site form
cannot set: two independent defences against request forgery.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from portguard.core import auth
from portguard.core.errors import AuthError, NotFoundError, TooManyAttempts
from portguard.core.http import Ctx
from portguard.web.pages import COOKIE, login_page

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "SESSION_TTL",
    "ConsoleSession",
    "router",
]

log = logging.getLogger("portguard.web")

#: Header a cookie-authenticated state change must carry (any value).
CSRF_HEADER = "x-portguard-console"
#: Lifetime of a console session (one control-room shift); log in again after it.
SESSION_TTL = timedelta(hours=8)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

router = APIRouter(tags=["console"], include_in_schema=False)


def _cookie_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            key, sep, val = part.strip().partition("=")
            if sep and key == COOKIE and val.startswith(auth.TOKEN_PREFIX):
                return val
    return None


class ConsoleSession:
    """Pure ASGI middleware: a request with the session cookie and no ``Authorization`` header
    is authenticated as ``Bearer <cookie token>``. State-changing requests authenticated this way
    need the ``X-PortGuard-Console`` header (403 otherwise)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        if any(name == b"authorization" for name, _ in headers):
            await self.app(scope, receive, send)
            return
        token = _cookie_token(headers)
        if token is None:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        forgeable = method not in _SAFE_METHODS and scope.get("path") != "/console/login"
        if forgeable and not any(name == CSRF_HEADER.encode() for name, _ in headers):
            body = (
                b'{"error":{"code":"permission_denied","message":"a console request that '
                b'changes something must carry the X-PortGuard-Console header"}}'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        headers.append((b"authorization", b"Bearer " + token.encode()))
        await self.app(dict(scope, headers=headers), receive, send)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/console/login")
def login_form(request: Request) -> Response:
    return login_page()


@router.post("/console/login", response_model=None)
def login(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Check the password, create a short-lived API token for the console and set it as the
    session cookie. A browser form gets a redirect; ``Accept: application/json`` gets JSON."""
    wants_json = "application/json" in request.headers.get("accept", "")
    address = request.client.host if request.client else ""
    try:
        ctx.login_throttle.check(username, address)
    except TooManyAttempts as exc:
        log.warning("console: log-in throttled for %r", username[:64])
        if wants_json:
            return JSONResponse(
                {"error": {"code": "too_many_attempts", "message": str(exc)}}, status_code=429
            )
        return login_page(error="Too many failed log-ins; try again later.", status_code=429)
    try:
        with ctx.db.session() as session:
            user = auth.authenticate_password(session=session, username=username, password=password)
            _, secret = auth.create_token(
                session=session,
                user=user,
                name="console session",
                ttl=SESSION_TTL,
                actor=f"user:{user.username}",
            )
            name, role = user.username, user.role
    except AuthError:
        ctx.login_throttle.failed(username, address)
        log.warning("console: failed log-in for %r", username[:64])
        if wants_json:
            return JSONResponse(
                {"error": {"code": "auth_error", "message": "invalid username or password"}},
                status_code=401,
            )
        return login_page(error="Invalid username or password.", status_code=401)
    ctx.login_throttle.succeeded(username, address)
    response: Response
    if wants_json:
        response = JSONResponse({"username": name, "role": role})
    else:
        response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/console/logout", status_code=204, response_model=None)
def logout(request: Request, ctx: Ctx) -> Response:
    """Revoke the session's token and clear the cookie."""
    token = request.cookies.get(COOKIE)
    if token:
        try:
            with ctx.db.session() as session:
                user = auth.authenticate_token(session=session, secret=token)
                digest = hashlib.sha256(token.encode()).hexdigest()
                token_id = session.execute(
                    select(auth.ApiToken.id).where(auth.ApiToken.token_hash == digest)
                ).scalar_one()
                auth.revoke_token(session=session, token_id=token_id, actor=f"user:{user.username}")
        except (AuthError, NotFoundError):
            pass  # expired or already revoked: nothing to undo
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
