"""Incident tables: stored alerts, incidents, their correlation keys, timeline, tasks, and NIS2
submissions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portguard.core.clock import utcnow
from portguard.core.db import Base, UTCDateTime
from portguard.core.ids import new_id

__all__ = [
    "AlertRecord",
    "Category",
    "Incident",
    "IncidentKey",
    "IntermediateRequest",
    "Nis2Submission",
    "Status",
    "Task",
    "TimelineEntry",
]

_BigInt = BigInteger().with_variant(Integer, "sqlite")


class Status(StrEnum):
    NEW = "new"
    TRIAGE = "triage"
    CONTAINED = "contained"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.NEW, Status.TRIAGE, Status.CONTAINED)


class Category(StrEnum):
    CYBER_ATTACK = "cyber_attack"
    PHISHING = "phishing"
    SABOTAGE = "sabotage"
    UNAUTHORISED_ACCESS = "unauthorised_access"
    ESPIONAGE = "espionage"
    DISINFORMATION = "disinformation"
    ORGANISED_CRIME = "organised_crime"


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    #: Short human reference, e.g. INC-2026-0042.
    ref: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=Status.NEW, index=True)
    severity: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    tlp: Mapped[str] = mapped_column(String(20), nullable=False, default="amber")
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hybrid: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    domains: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    #: Time of the first alert; correlation windows are measured from the last one.
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # NIS2 (Article 23)
    significant: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    significance_criteria: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    aware_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    malicious_suspected: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    cross_border: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    cross_border_details: Mapped[str] = mapped_column(Text, nullable=False, default="")
    impact: Mapped[str] = mapped_column(Text, nullable=False, default="")
    affected_services: Mapped[str] = mapped_column(Text, nullable=False, default="")
    financial_loss_eur: Mapped[float | None] = mapped_column(Float, nullable=True)
    threat_type: Mapped[str] = mapped_column(Text, nullable=False, default="")
    root_cause: Mapped[str] = mapped_column(Text, nullable=False, default="")
    mitigation_applied: Mapped[str] = mapped_column(Text, nullable=False, default="")
    mitigation_ongoing: Mapped[str] = mapped_column(Text, nullable=False, default="")

    alerts: Mapped[list[AlertRecord]] = relationship(
        back_populates="incident", order_by="AlertRecord.observed_at"
    )
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="incident", order_by="TimelineEntry.seq", cascade="all, delete-orphan"
    )
    tasks: Mapped[list[Task]] = relationship(
        back_populates="incident", order_by="Task.created_at", cascade="all, delete-orphan"
    )
    submissions: Mapped[list[Nis2Submission]] = relationship(
        back_populates="incident", order_by="Nis2Submission.submitted_at"
    )
    intermediate_requests: Mapped[list[IntermediateRequest]] = relationship(
        back_populates="incident", order_by="IntermediateRequest.requested_at"
    )


class AlertRecord(Base):
    """An alert as received, with how often its dedup key was seen again."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    domain: Mapped[str] = mapped_column(String(20), nullable=False)
    severity: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    tlp: Mapped[str] = mapped_column(String(20), nullable=False)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    dedup_key: Mapped[str] = mapped_column(String(700), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: The whole alert as JSON (core.Alert), the source of truth for evidence and entities.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )

    incident: Mapped[Incident | None] = relationship(back_populates="alerts")

    __table_args__ = (Index("ix_alerts_dedup", "dedup_key", "last_seen"),)


class IncidentKey(Base):
    """A correlation key (``email:x``, ``asset:y``...) an open incident carries, for lookup."""

    __tablename__ = "incident_keys"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(700), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_incident_keys_key", "key", "last_seen"),)


class TimelineEntry(Base):
    __tablename__ = "incident_timeline"

    seq: Mapped[int] = mapped_column(_BigInt, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="timeline")


class Task(Base):
    __tablename__ = "incident_tasks"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    incident: Mapped[Incident] = relationship(back_populates="tasks")


class Nis2Submission(Base):
    """A report sent to the authority: which stage, to whom, when, under which reference."""

    __tablename__ = "nis2_submissions"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    stage: Mapped[str] = mapped_column(String(30), nullable=False)
    authority: Mapped[str] = mapped_column(String(200), nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reference: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The report as generated and sent (JSON form), kept as evidence.
    report: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="submissions")


class IntermediateRequest(Base):
    """The authority asked for an intermediate report by ``due_at``."""

    __tablename__ = "nis2_intermediate_requests"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: The authority's reference for the request; the report's submission quotes it.
    reference: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    incident: Mapped[Incident] = relationship(back_populates="intermediate_requests")
