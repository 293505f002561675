"""Auth primitives: users, roles and their permissions, password and API-token hashing.

Passwords are hashed with argon2id. API tokens are 256-bit random secrets shown once; only their
SHA-256 is stored (a token has far more entropy than a password, so a fast hash is safe and keeps
per-request authentication cheap). Every change goes to the audit log; no secret ever does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portguard.core import audit
from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    TooManyAttempts,
    ValidationError,
)
from portguard.core.ids import new_id

__all__ = [
    "ApiToken",
    "LoginThrottle",
    "Permission",
    "Role",
    "User",
    "authenticate_password",
    "authenticate_token",
    "create_token",
    "create_user",
    "get_user",
    "has_permission",
    "list_users",
    "revoke_token",
    "set_password",
]

TOKEN_PREFIX = "pgt_"  # noqa: S105 (a prefix, not a secret)
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps timing the same either way.
_DUMMY_HASH = _hasher.hash("portguard-dummy-password")


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class Permission(StrEnum):
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    INCIDENTS_READ = "incidents:read"
    INCIDENTS_WRITE = "incidents:write"
    REPORTS_WRITE = "reports:write"
    PORTMODEL_READ = "portmodel:read"
    SECURITY_LEVEL_WRITE = "security_level:write"
    AUDIT_READ = "audit:read"
    USERS_ADMIN = "users:admin"
    METRICS_READ = "metrics:read"


_READ = {
    Permission.ALERTS_READ,
    Permission.INCIDENTS_READ,
    Permission.PORTMODEL_READ,
    Permission.METRICS_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset(
        _READ
        | {
            Permission.ALERTS_WRITE,
            Permission.INCIDENTS_WRITE,
            Permission.REPORTS_WRITE,
            Permission.SECURITY_LEVEL_WRITE,
        }
    ),
    # Operators watch the port and raise alerts; they do not run investigations or reports.
    Role.OPERATOR: frozenset(_READ | {Permission.ALERTS_WRITE}),
    # Auditors read everything, including the audit log, and change nothing.
    Role.AUDITOR: frozenset(_READ | {Permission.AUDIT_READ}),
}


def has_permission(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(role)]


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    #: The ISAC member organisation the user belongs to (TLP decisions depend on it).
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginThrottle:
    """Slows password guessing: after ``max_failures`` failed log-ins for one user from one
    address within ``window_s``, that pair is refused for ``window_s``; one address failing for
    many users is refused after ``max_failures_per_address``. Per process, in memory: argon2's
    cost bounds what several processes together can try."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        max_failures_per_address: int = 50,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._by_address: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, times: list[float], now: float) -> list[float]:
        return [t for t in times if now - t < self.window_s]

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts while this user/address pair (or address) is locked out."""
        now = self._clock()
        key = (username.strip().lower(), address)
        with self._lock:
            pair = self._recent(self._failures.get(key, []), now)
            addr = self._recent(self._by_address.get(address, []), now)
        if len(pair) >= self.max_failures or len(addr) >= self.max_failures_per_address:
            raise TooManyAttempts("too many failed log-ins; try again in 15 minutes")

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        key = (username.strip().lower(), address)
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory under a spray
                self._failures.clear()
                self._by_address.clear()
            self._failures[key] = [*self._recent(self._failures.get(key, []), now), now]
            self._by_address[address] = [
                *self._recent(self._by_address.get(address, []), now),
                now,
            ]

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.strip().lower(), address), None)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password_policy(password: str) -> None:
    if len(password) < 12:
        raise ValidationError("password must be at least 12 characters long")
    if len(password) > 1024:
        raise ValidationError("password must be at most 1024 characters long")


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    organisation: str | None = None,
    actor: str = "system",
) -> User:
    username = username.strip().lower()
    if not _USERNAME_RE.match(username):
        raise ValidationError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_', '@', '-'"
        )
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(
            f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}"
        ) from None
    _check_password_policy(password)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise ConflictError(f"user {username!r} already exists")
    user = User(
        username=username,
        role=role.value,
        organisation=organisation,
        password_hash=_hasher.hash(password),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{username}",
        details={"role": role.value, "organisation": organisation},
    )
    return user


def get_user(*, session: Session, username: str) -> User:
    user = session.execute(
        select(User).where(User.username == username.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.username)).scalars())


def set_password(*, session: Session, user: User, password: str, actor: str) -> None:
    _check_password_policy(password)
    user.password_hash = _hasher.hash(password)
    audit.record(session, actor=actor, action="user.password", target=f"user:{user.username}")


def authenticate_password(*, session: Session, username: str, password: str) -> User:
    """The active user with this password, else AuthError (same message either way)."""
    user = session.execute(
        select(User).where(User.username == username.strip().lower())
    ).scalar_one_or_none()
    try:
        if user is None:
            _hasher.verify(_DUMMY_HASH, password)
            raise AuthError("invalid username or password")
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise AuthError("invalid username or password") from None
    if not user.active:
        raise AuthError("invalid username or password")
    return user


def create_token(
    *,
    session: Session,
    user: User,
    name: str,
    ttl: timedelta | None = None,
    actor: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("token name must be 1-200 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_hash_token(secret),
        expires_at=(utcnow() + ttl) if ttl else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor or user.username,
        action="token.create",
        target=f"user:{user.username}",
        details={"token_id": token.id, "name": name, "expires_at": token.expires_at},
    )
    return token, secret


def authenticate_token(*, session: Session, secret: str, now: datetime | None = None) -> User:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise AuthError("invalid API token")
    digest = _hash_token(secret)
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == digest)
    ).scalar_one_or_none()
    # compare_digest: the lookup is by hash already, but keep the final check constant-time.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise AuthError("invalid API token")
    if token.revoked:
        raise AuthError("API token has been revoked")
    if token.expires_at is not None and token.expires_at <= (now or utcnow()):
        raise AuthError("API token has expired")
    if not token.user.active:
        raise AuthError("invalid API token")
    return token.user


def revoke_token(*, session: Session, token_id: str, actor: str) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"no API token {token_id!r}")
    token.revoked = True
    audit.record(session, actor=actor, action="token.revoke", target=f"token:{token_id}")
