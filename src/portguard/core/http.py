"""HTTP plumbing shared by every domain's routes: the app context, database sessions,
authentication (bearer API token or HTTP Basic) and permission checks.

Domain ``api.py`` modules depend on this; the ``portguard.api`` package assembles the app.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from portguard.core import auth
from portguard.core.bus.base import Bus
from portguard.core.clock import Clock
from portguard.core.db import Database
from portguard.core.errors import AuthError, PermissionDenied
from portguard.core.metrics import Metrics
from portguard.core.settings import Settings
from portguard.core.types import TLP, Alert

__all__ = [
    "AppContext",
    "Ctx",
    "DbSession",
    "Principal",
    "get_context",
    "newest_alerts",
    "require",
]


@dataclass
class AppContext:
    """What a request handler may reach: built once by ``portguard.app``."""

    settings: Settings
    db: Database
    bus: Bus
    clock: Clock
    metrics: Metrics
    #: Per-domain runtime objects (the port model, correlation rules...), keyed by name.
    extras: dict[str, Any] = field(default_factory=dict)
    token_cache: TokenCache = field(default_factory=lambda: TokenCache())
    login_throttle: auth.LoginThrottle = field(default_factory=lambda: auth.LoginThrottle())


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    username: str
    role: auth.Role
    organisation: str | None

    def can(self, permission: auth.Permission) -> bool:
        return auth.has_permission(self.role, permission)

    @property
    def actor(self) -> str:
        return f"user:{self.username}"

    def may_read(self, tlp: TLP | str, *, owner: str | None, home: str) -> bool:
        """TLP 2.0 for data the port (``home``) or a member (``owner``) holds.

        Users of the owning organisation (and the port's own staff, for the port's data) read up
        to AMBER+STRICT; RED only with the analyst or admin role (named recipients). Users of
        other organisations read CLEAR and GREEN (the community) only; AMBER is for the owner and
        its clients, decided by the ISAC hub, not here.
        """
        label = TLP.parse(tlp)
        mine = (self.organisation or home) == (owner or home)
        if label in (TLP.CLEAR, TLP.GREEN):
            return True
        if not mine:
            return False
        if label is TLP.RED:
            return self.role in (auth.Role.ADMIN, auth.Role.ANALYST)
        return True


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]


def get_session(ctx: Ctx) -> Iterator[Session]:
    with ctx.db.session() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


class TokenCache:
    """Recently verified bearer tokens, so a busy client does not cost a database read per
    request. Entries live ``ttl_s`` seconds: a revoked token stops working within that time."""

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, secret: str) -> Principal | None:
        key = hashlib.sha256(secret.encode()).hexdigest()
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            if hit[1] < time.monotonic():
                del self._entries[key]
                return None
            return hit[0]

    def put(self, secret: str, principal: Principal) -> None:
        key = hashlib.sha256(secret.encode()).hexdigest()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (principal, time.monotonic() + self.ttl_s)


def authenticate(request: Request, ctx: Ctx) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    cache: TokenCache = ctx.token_cache
    if scheme.lower() == "bearer" and credentials:
        cached = cache.get(credentials.strip())
        if cached is not None:
            return cached
    with ctx.db.session() as session:
        if scheme.lower() == "bearer" and credentials:
            user = auth.authenticate_token(session=session, secret=credentials.strip())
        elif scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise AuthError("malformed HTTP Basic credentials") from None
            username, sep, password = decoded.partition(":")
            if not sep:
                raise AuthError("malformed HTTP Basic credentials")
            address = request.client.host if request.client else ""
            ctx.login_throttle.check(username, address)
            try:
                user = auth.authenticate_password(
                    session=session, username=username, password=password
                )
            except AuthError:
                ctx.login_throttle.failed(username, address)
                raise
            ctx.login_throttle.succeeded(username, address)
        else:
            raise AuthError("authentication required: send 'Authorization: Bearer <API token>'")
        principal = Principal(
            user_id=user.id,
            username=user.username,
            role=auth.Role(user.role),
            organisation=user.organisation,
        )
    if scheme.lower() == "bearer":
        cache.put(credentials.strip(), principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require(permission: auth.Permission) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks one permission."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise PermissionDenied(
                f"role {principal.role.value!r} may not do this (needs {permission.value})"
            )
        return principal

    return check


def newest_alerts(
    alerts: Sequence[Alert], *, keep: Callable[[Alert], bool], limit: int
) -> list[dict[str, Any]]:
    """The last ``limit`` alerts ``keep`` accepts, newest first, as JSON: the "recent alerts" of
    a domain's in-memory ring (``deque`` of what it raised)."""
    out: list[dict[str, Any]] = []
    for a in reversed(alerts):
        if keep(a):
            out.append(a.model_dump(mode="json"))
            if len(out) >= limit:
                break
    return out
