"""ISAC membership: organisations, sharing communities, ISAC roles, and the ``Viewer`` TLP
decisions are made for.

ISAC roles, lowest first: reader (read), contributor (also share objects and sightings),
analyst (also export blocklists, publish from incidents, push and pull), admin (also manage
members). A user's ISAC role is the explicit one (``intel_user_roles``) or follows the core
role (admin -> admin, analyst -> analyst, operator -> contributor, auditor -> reader), capped by
the organisation's ``max_role``. Users without an organisation belong to the organisation that
runs PortGuard (``Settings.organisation``); users of an organisation that is not a member read
TLP:CLEAR only.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from portguard.intel.models import Community, CommunityMember, IsacUserRole, Organisation
from portguard.intel.tlp import Viewer

__all__ = [
    "DEFAULT_COMMUNITY",
    "IsacRole",
    "Member",
    "add_community",
    "add_organisation",
    "collection_id_for",
    "ensure_defaults",
    "join_community",
    "member_for",
    "set_user_role",
]

DEFAULT_COMMUNITY = "port-community"
_NS = uuid.UUID("5c0b7f6e-3f0e-4a8e-9d55-2f9f4f3e6a01")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


class IsacRole(StrEnum):
    READER = "reader"
    CONTRIBUTOR = "contributor"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(IsacRole).index(self)

    @classmethod
    def parse(cls, value: str) -> IsacRole:
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise ValidationError(f"unknown ISAC role {value!r}; use one of {names}") from None


CORE_ROLE_MAP = {
    "admin": IsacRole.ADMIN,
    "analyst": IsacRole.ANALYST,
    "operator": IsacRole.CONTRIBUTOR,
    "auditor": IsacRole.READER,
}


@dataclass(frozen=True)
class Member:
    """An authenticated user as the hub sees them."""

    viewer: Viewer
    role: IsacRole
    identity_id: str | None

    @property
    def organisation(self) -> str:
        return self.viewer.organisation

    @property
    def username(self) -> str:
        return self.viewer.username

    def can(self, role: IsacRole) -> bool:
        return self.viewer.member and self.role.rank >= role.rank

    def require(self, role: IsacRole, what: str) -> None:
        if not self.can(role):
            raise PermissionDenied(
                f"ISAC role {self.role.value!r} of {self.organisation!r} may not {what} "
                f"(needs {role.value})"
            )


def identity_id_for(org_id: str) -> str:
    return f"identity--{uuid.uuid5(_NS, 'org:' + org_id)}"


def collection_id_for(community_id: str) -> str:
    return str(uuid.uuid5(_NS, "community:" + community_id))


def _slug(value: str, what: str) -> str:
    v = value.strip().lower()
    if not _SLUG.match(v):
        raise ValidationError(f"{what} id must be 1-100 characters: a-z, 0-9, '.', '_', '-'")
    return v


def add_organisation(
    *,
    session: Session,
    org_id: str,
    name: str,
    max_role: str = "analyst",
    client_of: list[str] | None = None,
    communities: list[str] | None = None,
    actor: str,
) -> Organisation:
    oid = org_id.strip()
    if not oid or len(oid) > 200:
        raise ValidationError("organisation id must be 1-200 characters")
    if session.get(Organisation, oid) is not None:
        raise ConflictError(f"organisation {oid!r} is already a member")
    org = Organisation(
        id=oid,
        name=name.strip() or oid,
        identity_id=identity_id_for(oid),
        max_role=IsacRole.parse(max_role).value,
        client_of=sorted(set(client_of or [])),
        active=True,
    )
    session.add(org)
    session.flush()
    for community in communities if communities is not None else [DEFAULT_COMMUNITY]:
        join_community(session=session, community_id=community, org_id=oid, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="intel.org.add",
        target=f"organisation:{oid}",
        details={"max_role": org.max_role, "client_of": org.client_of},
    )
    return org


def add_community(
    *, session: Session, community_id: str, name: str, description: str = "", actor: str
) -> Community:
    cid = _slug(community_id, "community")
    if session.get(Community, cid) is not None:
        raise ConflictError(f"community {cid!r} exists")
    com = Community(
        id=cid,
        name=name.strip() or cid,
        description=description,
        collection_id=collection_id_for(cid),
    )
    session.add(com)
    session.flush()
    audit.record(session, actor=actor, action="intel.community.add", target=f"community:{cid}")
    return com


def join_community(*, session: Session, community_id: str, org_id: str, actor: str) -> None:
    if session.get(Community, community_id) is None:
        raise NotFoundError(f"no community {community_id!r}")
    if session.get(Organisation, org_id) is None:
        raise NotFoundError(f"no member organisation {org_id!r}")
    if session.get(CommunityMember, (community_id, org_id)) is None:
        session.add(CommunityMember(community_id=community_id, organisation_id=org_id))
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="intel.community.join",
            target=f"community:{community_id}",
            details={"organisation": org_id},
        )


def leave_community(*, session: Session, community_id: str, org_id: str, actor: str) -> None:
    session.execute(
        delete(CommunityMember).where(
            CommunityMember.community_id == community_id,
            CommunityMember.organisation_id == org_id,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="intel.community.leave",
        target=f"community:{community_id}",
        details={"organisation": org_id},
    )


def set_user_role(*, session: Session, username: str, role: str | None, actor: str) -> None:
    """Give a user an explicit ISAC role (None: back to the one the core role implies)."""
    row = session.get(IsacUserRole, username)
    if role is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(IsacUserRole(username=username, role=IsacRole.parse(role).value))
    else:
        row.role = IsacRole.parse(role).value
    audit.record(
        session,
        actor=actor,
        action="intel.role.set",
        target=f"user:{username}",
        details={"role": role},
    )


def ensure_defaults(*, session: Session, home: str, home_name: str | None = None) -> None:
    """The community every member joins, and the organisation that runs PortGuard."""
    if session.get(Community, DEFAULT_COMMUNITY) is None:
        add_community(
            session=session,
            community_id=DEFAULT_COMMUNITY,
            name="Port community",
            description="Every member organisation of the port community ISAC",
            actor="system",
        )
    if session.get(Organisation, home) is None:
        add_organisation(
            session=session,
            org_id=home,
            name=home_name or home,
            max_role="admin",
            actor="system",
        )


def member_for(
    *, session: Session, username: str, organisation: str | None, core_role: str, home: str
) -> Member:
    """The ``Member`` (viewer and ISAC role) for an authenticated core user."""
    org_id = organisation or home
    org = session.get(Organisation, org_id)
    explicit = session.get(IsacUserRole, username)
    role = IsacRole(explicit.role) if explicit else CORE_ROLE_MAP.get(core_role, IsacRole.READER)
    if org is None or not org.active:
        return Member(Viewer(username, org_id, member=False), IsacRole.READER, None)
    cap = IsacRole(org.max_role)
    if role.rank > cap.rank:
        role = cap
    comms = frozenset(
        session.execute(
            select(CommunityMember.community_id).where(CommunityMember.organisation_id == org_id)
        ).scalars()
    )
    viewer = Viewer(
        username=username,
        organisation=org_id,
        member=True,
        communities=comms,
        client_of=frozenset(org.client_of or ()),
    )
    return Member(viewer, role, org.identity_id)


def org_identity(org: Organisation) -> dict[str, object]:
    """The STIX identity object that stands for a member organisation."""
    stamp = org.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": org.identity_id,
        "created": stamp,
        "modified": stamp,
        "name": org.name,
        "identity_class": "organization",
    }
