"""The console's pages and static files, served from the package (no internet at run time).

``/`` and ``/console`` lead to ``/console/``, the single-page console (``static/index.html``);
without a session cookie it sends the browser to ``/console/login``. Static files are read once
and kept in memory with a content hash as ETag.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portguard.core.errors import NotFoundError
from portguard.core.http import Ctx, CurrentPrincipal

__all__ = ["COOKIE", "SECURITY_HEADERS", "login_page", "router"]

#: The session cookie's name.
COOKIE = "pg_session"

router = APIRouter(tags=["console"], include_in_schema=False)

#: Sent with every console page: scripts and styles only from this server, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}


def _static_root() -> Traversable:
    return resources.files("portguard.web").joinpath("static")


@cache
def _asset(path: str) -> tuple[bytes, str, str]:
    """(body, media type, etag) of a static file; NotFoundError for anything else."""
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise NotFoundError(f"no console file {path!r}")
    node = _static_root()
    for p in parts:
        node = node.joinpath(p)
    if not node.is_file():
        raise NotFoundError(f"no console file {path!r}")
    body = node.read_bytes()
    suffix = "." + parts[-1].rsplit(".", 1)[-1] if "." in parts[-1] else ""
    media = _TYPES.get(suffix) or mimetypes.guess_type(parts[-1])[0] or "text/plain"
    if parts[-1] == "LICENSE":
        media = _TYPES[".txt"]
    return body, media, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _page(name: str, *, status_code: int = 200, replace: dict[str, str] | None = None) -> Response:
    body, _, _ = _asset(name)
    text = body.decode()
    for key, value in (replace or {}).items():
        text = text.replace(key, value)
    return HTMLResponse(
        text,
        status_code=status_code,
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


def login_page(*, error: str = "", status_code: int = 200) -> Response:
    message = f'<p class="login-error" role="alert">{html.escape(error)}</p>' if error else ""
    return _page("login.html", status_code=status_code, replace={"<!--ERROR-->": message})


@router.get("/")
def root() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console")
def console_bare() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
def console(request: Request) -> Response:
    if COOKIE not in request.cookies:
        return RedirectResponse("/console/login", status_code=303)
    return _page("index.html")


@router.get("/console/static/{path:path}")
def static(path: str, request: Request) -> Response:
    body, media, etag = _asset(path)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media, headers=headers)


@router.get("/console/features")
def features(ctx: Ctx, principal: CurrentPrincipal) -> dict[str, bool]:
    """Which domains run in this instance, so the console shows only screens that work."""
    return {
        name: name in ctx.extras
        for name in ("maritime", "intel", "mail", "infra", "access", "logs", "port_model")
    }
