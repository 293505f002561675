"""The web console: pages and static files (vanilla JavaScript, Leaflet vendored, no internet
needed), cookie sessions for browsers, and the server-sent event stream the console listens to.

Wire it into an app with ``install_console(app)`` (the router plus the session middleware), or
``app.include_router(router)`` and ``app.add_middleware(ConsoleSession)`` by hand.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from portguard.web import pages, session, stream
from portguard.web.session import ConsoleSession

__all__ = ["ConsoleSession", "install_console", "router"]

router = APIRouter()
router.include_router(pages.router)
router.include_router(session.router)
router.include_router(stream.router)


def install_console(app: FastAPI) -> None:
    """Serve the console from ``app``: its routes and the cookie-session middleware."""
    app.include_router(router)
    app.add_middleware(ConsoleSession)
