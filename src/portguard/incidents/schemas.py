"""API shapes for incidents and alerts: separate Create / Update / Read models, unknown fields
refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portguard.core.clock import ensure_utc
from portguard.core.types import Severity
from portguard.incidents.models import AlertRecord, Category, Incident, Status, TimelineEntry

__all__ = [
    "AlertRead",
    "AssignRequest",
    "EntitySummary",
    "IncidentDetail",
    "IncidentRead",
    "IncidentUpdate",
    "NoteCreate",
    "StatusChange",
    "TaskCreate",
    "TaskRead",
    "TimelineRead",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentRead(BaseModel):
    id: str
    ref: str
    title: str
    status: Status
    severity: str
    category: str
    tlp: str
    assignee: str | None
    hybrid: bool
    tags: list[str]
    domains: list[str]
    created_at: datetime
    updated_at: datetime
    first_seen: datetime
    last_seen: datetime
    significant: bool
    alert_count: int

    @classmethod
    def of(cls, inc: Incident, *, alert_count: int | None = None) -> IncidentRead:
        return cls(
            id=inc.id,
            ref=inc.ref,
            title=inc.title,
            status=Status(inc.status),
            severity=str(Severity(inc.severity)),
            category=inc.category,
            tlp=inc.tlp,
            assignee=inc.assignee,
            hybrid=inc.hybrid,
            tags=list(inc.tags),
            domains=list(inc.domains),
            created_at=inc.created_at,
            updated_at=inc.updated_at,
            first_seen=inc.first_seen,
            last_seen=inc.last_seen,
            significant=inc.significant,
            alert_count=alert_count if alert_count is not None else len(inc.alerts),
        )


class AlertRead(BaseModel):
    id: str
    rule_id: str
    domain: str
    severity: str
    title: str
    tlp: str
    observed_at: datetime
    last_seen: datetime
    count: int
    incident_id: str | None
    alert: dict[str, Any]

    @classmethod
    def of(cls, rec: AlertRecord) -> AlertRead:
        return cls(
            id=rec.id,
            rule_id=rec.rule_id,
            domain=rec.domain,
            severity=str(Severity(rec.severity)),
            title=rec.title,
            tlp=rec.tlp,
            observed_at=rec.observed_at,
            last_seen=rec.last_seen,
            count=rec.count,
            incident_id=rec.incident_id,
            alert=rec.payload,
        )


class TimelineRead(BaseModel):
    at: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineRead:
        return cls.model_validate(entry, from_attributes=True)


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    assignee: str | None
    due_at: datetime | None
    done: bool
    created_at: datetime
    done_at: datetime | None


class EntitySummary(BaseModel):
    """An entity the incident's alerts name, and the domains whose alerts name it."""

    kind: str
    value: str
    domains: list[str]


class IncidentDetail(IncidentRead):
    """One incident. ``alerts`` holds the first alerts (by time) and ``timeline`` the latest
    entries, as many as the request asked for; ``alert_count`` and ``timeline_count`` say how
    many there are in all (the alerts the reader may see), and the rest is paged from
    ``/incidents/{id}/alerts`` and ``/incidents/{id}/timeline``. ``entities`` covers every
    alert the reader may see."""

    summary: str
    resolved_at: datetime | None
    closed_at: datetime | None
    impact: str
    affected_services: str
    financial_loss_eur: float | None
    threat_type: str
    root_cause: str
    mitigation_applied: str
    mitigation_ongoing: str
    cross_border_details: str
    alerts: list[AlertRead]
    timeline: list[TimelineRead]
    timeline_count: int
    entities: list[EntitySummary]
    tasks: list[TaskRead]
    nis2: dict[str, Any]


class IncidentUpdate(_In):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    summary: str | None = Field(default=None, max_length=20_000)
    severity: str | None = None
    category: Category | None = None
    tlp: str | None = None
    impact: str | None = Field(default=None, max_length=20_000)
    affected_services: str | None = Field(default=None, max_length=5_000)
    financial_loss_eur: float | None = Field(default=None, ge=0)
    threat_type: str | None = Field(default=None, max_length=5_000)
    root_cause: str | None = Field(default=None, max_length=20_000)
    mitigation_applied: str | None = Field(default=None, max_length=20_000)
    mitigation_ongoing: str | None = Field(default=None, max_length=20_000)
    cross_border_details: str | None = Field(default=None, max_length=5_000)


class StatusChange(_In):
    status: Status


class AssignRequest(_In):
    assignee: str | None = Field(default=None, max_length=64)


class NoteCreate(_In):
    text: str = Field(min_length=1, max_length=20_000)


class TaskCreate(_In):
    title: str = Field(min_length=1, max_length=500)
    assignee: str | None = Field(default=None, max_length=64)
    due_at: datetime | None = None

    @field_validator("due_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return ensure_utc(v) if v else None
