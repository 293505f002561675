"""Tables of the mail domain: every verdict (searchable; quarantined ones keep their message in
the spool's quarantine folder), users' feedback, daily counters, and known correspondents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.db import Base, UTCDateTime

__all__ = ["MailCorrespondent", "MailDailyStat", "MailFeedback", "MailMessage"]


class MailMessage(Base):
    __tablename__ = "mail_messages"

    #: The spool id (a ULID): one row per accepted message, whatever became of it.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    sender: Mapped[str] = mapped_column(String(320), nullable=False, default="", index=True)
    recipients: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: Recipients joined with spaces, for searching.
    recipients_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    subject: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    category: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    score: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: ``portguard.mail.service.Status``: queued, quarantined, delivered, released, ...
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    client: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, default="")


class MailFeedback(Base):
    """A user's report on a message ("phishing", "spam", "ham"): audited, and training data."""

    __tablename__ = "mail_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    label: Mapped[str] = mapped_column(String(20), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class MailDailyStat(Base):
    __tablename__ = "mail_daily_stats"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    scanned: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    clean: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bulk: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    spam: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    phishing: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    malware: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class MailCorrespondent(Base):
    """A From address whose authenticated mail was delivered (``portguard.mail.correspondents``)."""

    __tablename__ = "mail_correspondents"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: Authenticated messages from it delivered clean (or released from quarantine).
    delivered: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Its messages users reported as phishing or spam; any ends the credit.
    reported: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
