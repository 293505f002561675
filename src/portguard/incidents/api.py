"""Routes for alerts and incidents under /api/v1. Every route authenticates and checks a
permission; every read is filtered by TLP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from portguard.core.auth import Permission
from portguard.core.bus import publish_alert
from portguard.core.errors import NotFoundError, ValidationError
from portguard.core.http import Ctx, DbSession, Principal, require
from portguard.core.types import Severity
from portguard.incidents import service
from portguard.incidents.disinformation import DisinformationReport
from portguard.incidents.disinformation import to_alert as disinformation_alert
from portguard.incidents.models import AlertRecord, Incident, Status
from portguard.incidents.schemas import (
    AlertRead,
    AssignRequest,
    IncidentDetail,
    IncidentRead,
    IncidentUpdate,
    NoteCreate,
    StatusChange,
    TaskCreate,
    TaskRead,
    TimelineRead,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["incidents"])

Reader = Annotated[Principal, Depends(require(Permission.INCIDENTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INCIDENTS_WRITE))]
AlertReader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]


def _severity(value: str | None) -> Severity | None:
    if not value:
        return None
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise ValidationError(str(exc), location="query.min_severity") from None


def _readable(ctx: Ctx, principal: Principal, tlp: str) -> bool:
    return principal.may_read(tlp, owner=None, home=ctx.settings.organisation)


def load_incident(ctx: Ctx, session: DbSession, principal: Principal, incident_id: str) -> Incident:
    incident = service.get_incident(session=session, incident_id=incident_id)
    if not _readable(ctx, principal, incident.tlp):
        # Same answer as a missing incident: do not reveal that it exists.
        raise NotFoundError(f"no incident {incident_id!r}")
    return incident


def detail(ctx: Ctx, principal: Principal, incident: Incident) -> IncidentDetail:
    from portguard.incidents import reporting

    base = IncidentRead.of(incident)
    return IncidentDetail(
        **base.model_dump(),
        summary=incident.summary,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        impact=incident.impact,
        affected_services=incident.affected_services,
        financial_loss_eur=incident.financial_loss_eur,
        threat_type=incident.threat_type,
        root_cause=incident.root_cause,
        mitigation_applied=incident.mitigation_applied,
        mitigation_ongoing=incident.mitigation_ongoing,
        cross_border_details=incident.cross_border_details,
        alerts=[AlertRead.of(a) for a in incident.alerts if _readable(ctx, principal, a.tlp)],
        timeline=[
            TimelineRead(at=t.at, kind=t.kind, actor=t.actor, text=t.text, data=t.data)
            for t in incident.timeline
        ],
        tasks=[TaskRead.model_validate(t) for t in incident.tasks],
        nis2=reporting.clock_json(incident, now=ctx.clock.now()),
    )


@router.get("/incidents", response_model=list[IncidentRead])
def list_incidents(
    ctx: Ctx,
    session: DbSession,
    principal: Reader,
    status: Annotated[list[Status] | None, Query()] = None,
    min_severity: str | None = None,
    category: str | None = None,
    hybrid: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[IncidentRead]:
    sev = _severity(min_severity)
    rows = service.list_incidents(
        session=session,
        status=[s.value for s in status] if status else None,
        min_severity=sev,
        category=category,
        hybrid=hybrid,
        limit=limit,
        offset=offset,
    )
    rows = [r for r in rows if _readable(ctx, principal, r.tlp)]
    counts = dict(
        session.execute(
            select(AlertRecord.incident_id, func.count())
            .where(AlertRecord.incident_id.in_([r.id for r in rows]))
            .group_by(AlertRecord.incident_id)
        ).all()
    )
    return [IncidentRead.of(r, alert_count=counts.get(r.id, 0)) for r in rows]


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
def get_incident(
    incident_id: str, ctx: Ctx, session: DbSession, principal: Reader
) -> IncidentDetail:
    return detail(ctx, principal, load_incident(ctx, session, principal, incident_id))


@router.patch("/incidents/{incident_id}", response_model=IncidentDetail)
def update_incident(
    incident_id: str, body: IncidentUpdate, ctx: Ctx, session: DbSession, principal: Writer
) -> IncidentDetail:
    incident = load_incident(ctx, session, principal, incident_id)
    changes = body.model_dump(exclude_unset=True)
    service.update_incident(
        session=session, incident=incident, changes=changes, actor=principal.actor
    )
    session.flush()
    session.refresh(incident)
    return detail(ctx, principal, incident)


@router.post("/incidents/{incident_id}/status", response_model=IncidentRead)
def change_status(
    incident_id: str, body: StatusChange, ctx: Ctx, session: DbSession, principal: Writer
) -> IncidentRead:
    incident = load_incident(ctx, session, principal, incident_id)
    service.transition(session=session, incident=incident, to=body.status, actor=principal.actor)
    return IncidentRead.of(incident)


@router.post("/incidents/{incident_id}/assign", response_model=IncidentRead)
def assign(
    incident_id: str, body: AssignRequest, ctx: Ctx, session: DbSession, principal: Writer
) -> IncidentRead:
    incident = load_incident(ctx, session, principal, incident_id)
    service.assign(
        session=session, incident=incident, assignee=body.assignee, actor=principal.actor
    )
    return IncidentRead.of(incident)


@router.post("/incidents/{incident_id}/notes", status_code=201)
def add_note(
    incident_id: str, body: NoteCreate, ctx: Ctx, session: DbSession, principal: Writer
) -> dict[str, str]:
    incident = load_incident(ctx, session, principal, incident_id)
    service.add_note(session=session, incident=incident, text=body.text, actor=principal.actor)
    return {"status": "added"}


@router.post("/incidents/{incident_id}/tasks", response_model=TaskRead, status_code=201)
def add_task(
    incident_id: str, body: TaskCreate, ctx: Ctx, session: DbSession, principal: Writer
) -> TaskRead:
    incident = load_incident(ctx, session, principal, incident_id)
    t = service.add_task(
        session=session,
        incident=incident,
        title=body.title,
        assignee=body.assignee,
        due_at=body.due_at,
        actor=principal.actor,
    )
    return TaskRead.model_validate(t)


@router.post("/incidents/{incident_id}/tasks/{task_id}/done", response_model=TaskRead)
def complete_task(
    incident_id: str, task_id: str, ctx: Ctx, session: DbSession, principal: Writer
) -> TaskRead:
    incident = load_incident(ctx, session, principal, incident_id)
    t = service.complete_task(
        session=session, incident=incident, task_id=task_id, actor=principal.actor
    )
    return TaskRead.model_validate(t)


@router.get("/alerts", response_model=list[AlertRead])
def list_alerts(
    ctx: Ctx,
    session: DbSession,
    principal: AlertReader,
    incident_id: str | None = None,
    domain: str | None = None,
    min_severity: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AlertRead]:
    sev = _severity(min_severity)
    rows = service.list_alerts(
        session=session,
        incident_id=incident_id,
        domain=domain,
        min_severity=sev,
        limit=limit,
        offset=offset,
    )
    return [AlertRead.of(r) for r in rows if _readable(ctx, principal, r.tlp)]


@router.get("/alerts/{alert_id}", response_model=AlertRead)
def get_alert(alert_id: str, ctx: Ctx, session: DbSession, principal: AlertReader) -> AlertRead:
    rec = session.get(AlertRecord, alert_id)
    if rec is None or not _readable(ctx, principal, rec.tlp):
        raise NotFoundError(f"no alert {alert_id!r}")
    return AlertRead.of(rec)


@router.post("/disinformation", status_code=202)
def report_disinformation(
    body: DisinformationReport, ctx: Ctx, session: DbSession, principal: Writer
) -> dict[str, str | None]:
    """Record a disinformation report (claim, channel, target), optionally linked to an
    incident. It is published on the bus as an ``analyst`` alert and correlates like any alert;
    202 means it is on the durable bus."""
    incident_id = None
    if body.incident:
        incident_id = load_incident(ctx, session, principal, body.incident).id
    try:
        alert = disinformation_alert(body, actor=principal.actor, incident_id=incident_id)
    except ValueError as exc:
        raise ValidationError(str(exc), location="body") from None
    publish_alert(ctx.bus, alert)
    return {"alert_id": alert.id, "incident_id": incident_id}
