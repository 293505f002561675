"""Who am I, users and tokens, and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from portguard.core import audit, auth
from portguard.core.auth import Permission, Role
from portguard.core.http import CurrentPrincipal, DbSession, Principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["admin"])

Admin = Annotated[Principal, Depends(require(Permission.USERS_ADMIN))]
Auditor = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Me(BaseModel):
    username: str
    role: Role
    organisation: str | None
    permissions: list[str]


class UserCreate(_In):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=12, max_length=1024)
    role: Role
    organisation: str | None = Field(default=None, max_length=200)


class UserRead(BaseModel):
    id: str
    username: str
    role: Role
    organisation: str | None
    active: bool
    created_at: datetime


class TokenCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    ttl_hours: float | None = Field(default=None, gt=0, le=24 * 366)


class TokenCreated(BaseModel):
    id: str
    name: str
    token: str
    expires_at: datetime | None


class AuditRead(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    hash: str


class AuditVerify(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    return Me(
        username=principal.username,
        role=principal.role,
        organisation=principal.organisation,
        permissions=sorted(p.value for p in auth.ROLE_PERMISSIONS[principal.role]),
    )


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(
    body: TokenCreate, session: DbSession, principal: CurrentPrincipal
) -> TokenCreated:
    """A new API token for the caller. The secret is in this answer only."""
    user = auth.get_user(session=session, username=principal.username)
    ttl = timedelta(hours=body.ttl_hours) if body.ttl_hours else None
    token, secret = auth.create_token(session=session, user=user, name=body.name, ttl=ttl)
    return TokenCreated(id=token.id, name=token.name, token=secret, expires_at=token.expires_at)


@router.get("/users", response_model=list[UserRead])
def list_users(session: DbSession, principal: Admin) -> list[UserRead]:
    return [
        UserRead(
            id=u.id,
            username=u.username,
            role=Role(u.role),
            organisation=u.organisation,
            active=u.active,
            created_at=u.created_at,
        )
        for u in auth.list_users(session=session)
    ]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, session: DbSession, principal: Admin) -> UserRead:
    u = auth.create_user(
        session=session,
        username=body.username,
        password=body.password,
        role=body.role,
        organisation=body.organisation,
        actor=principal.actor,
    )
    return UserRead(
        id=u.id,
        username=u.username,
        role=Role(u.role),
        organisation=u.organisation,
        active=u.active,
        created_at=u.created_at,
    )


@router.get("/audit", response_model=list[AuditRead])
def list_audit(
    session: DbSession,
    principal: Auditor,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_seq: int | None = None,
) -> list[AuditRead]:
    q = select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(limit)
    if action:
        q = q.where(audit.AuditEntry.action == action)
    if before_seq is not None:
        q = q.where(audit.AuditEntry.seq < before_seq)
    return [
        AuditRead(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            details=e.details,
            hash=e.hash,
        )
        for e in session.execute(q).scalars()
    ]


@router.get("/audit/verify", response_model=AuditVerify)
def verify_audit(session: DbSession, principal: Auditor) -> AuditVerify:
    r = audit.verify(session)
    return AuditVerify(ok=r.ok, entries=r.entries, first_bad_seq=r.first_bad_seq, reason=r.reason)
