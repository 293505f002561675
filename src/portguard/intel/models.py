"""The ISAC hub's tables: member organisations, communities, per-user ISAC roles, the STIX object
store (every version of every object, with its sharing envelope), TAXII status resources and
remote TAXII servers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime

__all__ = [
    "Community",
    "CommunityMember",
    "IsacUserRole",
    "Organisation",
    "RemoteServer",
    "StatusRecord",
    "StixObject",
]


class Organisation(Base):
    """A member organisation of the ISAC, keyed by the string ``core.auth.User.organisation``
    holds."""

    __tablename__ = "intel_organisations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    #: The STIX identity that stands for the organisation (``created_by_ref``, sightings).
    identity_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    #: The highest ISAC role any user of the organisation may hold.
    max_role: Mapped[str] = mapped_column(String(20), nullable=False, default="analyst")
    #: Organisations this one is a client of (TLP:AMBER reaches the clients of a recipient).
    client_of: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class Community(Base):
    """A sharing community; each has one TAXII collection."""

    __tablename__ = "intel_communities"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    collection_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class CommunityMember(Base):
    __tablename__ = "intel_community_members"

    community_id: Mapped[str] = mapped_column(
        ForeignKey("intel_communities.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("intel_organisations.id", ondelete="CASCADE"), primary_key=True
    )


class IsacUserRole(Base):
    """An explicit ISAC role for one user (else it follows from the core role)."""

    __tablename__ = "intel_user_roles"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)


class StixObject(Base):
    """One version of one STIX object in one collection, with its sharing envelope.

    ``seq`` orders the store (TAXII ``date_added`` order and the paging cursor); ``version`` is
    ``modified`` (or ``created``) normalised to microseconds so that strings sort as times.
    """

    __tablename__ = "intel_objects"
    __table_args__ = (
        UniqueConstraint("collection_id", "stix_id", "version", name="uq_intel_objects_version"),
        Index("ix_intel_objects_coll_seq", "collection_id", "seq"),
        Index("ix_intel_objects_coll_id", "collection_id", "stix_id", "latest"),
        Index("ix_intel_objects_stix_id", "stix_id"),
        Index("ix_intel_objects_type", "type"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    collection_id: Mapped[str] = mapped_column(String(36), nullable=False)
    stix_id: Mapped[str] = mapped_column(String(300), nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    spec_version: Mapped[str] = mapped_column(String(10), nullable=False, default="2.1")
    date_added: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    tlp: Mapped[str] = mapped_column(String(20), nullable=False)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    community: Mapped[str | None] = mapped_column(String(100), nullable=True)
    recipient_orgs: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    recipient_users: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: True on the newest version of the object in its collection (TAXII ``match[version]=last``).
    latest: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: The object exactly as received (JSON text), so that reads need no re-serialisation.
    body: Mapped[str] = mapped_column(Text, nullable=False)


class StatusRecord(Base):
    """A TAXII status resource (every POST gets one; the hub answers it complete)."""

    __tablename__ = "intel_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(36), nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="complete")
    request_timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    total_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    success_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    pending_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    successes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)


class RemoteServer(Base):
    """Another TAXII server (a national ISAC, a CERT) the hub pulls from and/or pushes to."""

    __tablename__ = "intel_remotes"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: The remote collection's URL (``.../collections/<id>/``).
    url: Mapped[str] = mapped_column(String(1000), nullable=False)
    #: The local community whose collection objects are pulled into / pushed from.
    community: Mapped[str] = mapped_column(String(100), nullable=False)
    #: Name of an environment variable holding ``user:password`` or a bearer token.
    auth_env: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pull: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    push: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Highest TLP pushed out (the remote is outside the community: GREEN at most by default).
    push_max_tlp: Mapped[str] = mapped_column(String(20), nullable=False, default="green")
    #: TLP given to pulled objects that carry no TLP marking.
    pull_tlp: Mapped[str] = mapped_column(String(20), nullable=False, default="green")
    interval_s: Mapped[int] = mapped_column(Integer, nullable=False, default=3600)
    last_added: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_pushed_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
