"""Tables of the port model: the history of ISPS security-level changes, and the directory of
organisations, people and their identities.

This module owns the ``portmodel_security_level_change`` table and the directory tables
(``portmodel_organisation``, ``portmodel_person``, ``portmodel_identity``). The port model itself
(features, geometry) is file data, not tables; only what changes at run time is stored. The
migrations that create these tables are generated in ``portguard.app.migrations``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.db import Base, UTCDateTime

__all__ = ["Identity", "Organisation", "Person", "SecurityLevelChange"]


class SecurityLevelChange(Base):
    """One decision to set a facility's ISPS security level. Rows are only ever added."""

    __tablename__ = "portmodel_security_level_change"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 3", name="ck_portmodel_security_level_change_level"),
        CheckConstraint(
            "previous_level BETWEEN 1 AND 3",
            name="ck_portmodel_security_level_change_previous_level",
        ),
        Index("ix_portmodel_security_level_change_facility", "facility_id", "changed_at", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    #: Id of the facility feature in the port model.
    facility_id: Mapped[str] = mapped_column(String(200), nullable=False)
    level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    #: The level in force just before: the last change's, or the port model's default.
    previous_level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    def __repr__(self) -> str:
        return (
            f"SecurityLevelChange(facility_id={self.facility_id!r}, "
            f"{self.previous_level}->{self.level}, at={self.changed_at.isoformat()})"
        )


class Organisation(Base):
    """A member of the port community: the port authority, a terminal operator, a contractor."""

    __tablename__ = "portmodel_organisation"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    kind: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Person(Base):
    """A person of the directory, with the role they hold at their employer."""

    __tablename__ = "portmodel_person"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("portmodel_organisation.id"), nullable=True, index=True
    )
    role: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Identity(Base):
    """One identifier of a person: a badge id, an e-mail address, an (OT) account name.

    ``(kind, value)`` is unique: an identifier belongs to one person at a time."""

    __tablename__ = "portmodel_identity"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        ForeignKey("portmodel_person.id", ondelete="CASCADE"), nullable=False, index=True
    )
