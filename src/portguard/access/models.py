"""Tables of the access domain: credentials (badges).

Readers and gates are port-model data; access events travel on the bus and live in its log;
detector state is in memory (explicit and snapshottable, see ``detectors.AccessState``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.db import Base, UTCDateTime

__all__ = ["CredentialRecord"]


class CredentialRecord(Base):
    """A badge: its holder, where it may open (clearances), when it is valid, whether revoked."""

    __tablename__ = "access_credential"

    badge: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: The directory person (``portmodel_person.id``), when known.
    person_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Facility, asset or reader ids the badge may open; ``*`` for everywhere.
    clearances: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    revoked_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The holder's allowed hours (``portmodel.schedule.Hours`` text); empty = any time.
    hours: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    visitor: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    responder: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
