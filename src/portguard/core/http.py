"""HTTP plumbing shared by every domain's routes: the app context, database sessions,
authentication (bearer API token or HTTP Basic) and permission checks.

Domain ``api.py`` modules depend on this; the ``portguard.api`` package assembles the app.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
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
from portguard.core.types import TLP

__all__ = [
    "AppContext",
    "Ctx",
    "DbSession",
    "Principal",
    "get_context",
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


def authenticate(request: Request, ctx: Ctx) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
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
            user = auth.authenticate_password(session=session, username=username, password=password)
        else:
            raise AuthError("authentication required: send 'Authorization: Bearer <API token>'")
        return Principal(
            user_id=user.id,
            username=user.username,
            role=auth.Role(user.role),
            organisation=user.organisation,
        )


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
