"""Routes for alerts and incidents under /api/v1. Every route authenticates and checks a
permission; every read is filtered by TLP."""

from __future__ import annotations

from typing import Annotated, Any

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
from portguard.incidents.models import AlertRecord, Incident, Status, TimelineEntry
from portguard.incidents.schemas import (
    AlertRead,
    AssignRequest,
    EntitySummary,
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


#: Alerts and timeline entries an incident carries by default; the rest is paged, so an
#: incident of thousands of alerts opens as fast as a small one.
DETAIL_ITEMS = 500
PAGE_MAX = 5000
#: Distinct entities listed for an incident (a scan's thousand source addresses are not read).
MAX_ENTITIES = 500

Items = Annotated[int, Query(ge=0, le=PAGE_MAX)]


def _page(
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = DETAIL_ITEMS,
) -> tuple[int, int]:
    return offset, limit


Page = Annotated[tuple[int, int], Depends(_page)]


def _scope(ctx: Ctx, session: DbSession, principal: Principal, incident_id: str) -> tuple[Any, Any]:
    """WHERE clauses for what of the incident the reader may see: its alerts by TLP, and its
    timeline less the entries of the alerts hidden (they carry the alert's title, why and
    entities), which matters once an analyst lowered the incident below one of its alerts."""
    labels = list(
        session.execute(
            select(AlertRecord.tlp).where(AlertRecord.incident_id == incident_id).distinct()
        ).scalars()
    )
    readable = [t for t in labels if _readable(ctx, principal, t)]
    alerts = (AlertRecord.incident_id == incident_id) & AlertRecord.tlp.in_(readable)
    entries = TimelineEntry.incident_id == incident_id
    if len(readable) < len(labels):
        hidden = select(AlertRecord.id).where(
            AlertRecord.incident_id == incident_id, AlertRecord.tlp.not_in(readable)
        )
        ref = TimelineEntry.data["alert_id"].as_string()
        entries = entries & (ref.is_(None) | ref.not_in(hidden))
    return alerts, entries


def _loaded_scope(
    ctx: Ctx, session: DbSession, principal: Principal, incident_id: str
) -> tuple[Any, Any]:
    """``_scope`` of an incident the reader may open (404 or 403 as for its detail)."""
    incident = load_incident(ctx, session, principal, incident_id)
    return _scope(ctx, session, principal, incident.id)


def _of(incident: Incident) -> Any:
    return AlertRecord.incident_id == incident.id


def _count(session: DbSession, *where: Any) -> int:
    return int(session.execute(select(func.count()).where(*where)).scalar_one())


def _alerts(session: DbSession, visible: Any, offset: int, limit: int) -> list[AlertRead]:
    rows = session.execute(
        select(AlertRecord)
        .where(visible)
        .order_by(AlertRecord.observed_at, AlertRecord.id)
        .offset(offset)
        .limit(limit)
    ).scalars()
    return [AlertRead.of(a) for a in rows]


def _timeline(session: DbSession, entries: Any, offset: int, limit: int) -> list[TimelineRead]:
    rows = session.execute(
        select(TimelineEntry).where(entries).order_by(TimelineEntry.seq).offset(offset).limit(limit)
    ).scalars()
    return [TimelineRead.of(t) for t in rows]


def _entities(session: DbSession, visible: Any) -> list[EntitySummary]:
    """Entities (and assets) the visible alerts name, with the domains that name them."""
    seen: dict[tuple[str, str], set[str]] = {}
    for domain, payload in session.execute(
        select(AlertRecord.domain, AlertRecord.payload)
        .where(visible)
        .order_by(AlertRecord.observed_at, AlertRecord.id)
    ):
        refs = [(str(e.get("kind")), str(e.get("value"))) for e in payload.get("entities") or []]
        asset = (payload.get("location") or {}).get("asset_id")
        if asset:
            refs.append(("asset", str(asset)))
        for ref in refs:
            if ref in seen:
                seen[ref].add(domain)
            elif len(seen) < MAX_ENTITIES:
                seen[ref] = {domain}
    return [EntitySummary(kind=k, value=v, domains=sorted(d)) for (k, v), d in seen.items()]


def detail(
    ctx: Ctx,
    session: DbSession,
    principal: Principal,
    incident: Incident,
    *,
    alerts: int = DETAIL_ITEMS,
    timeline: int = DETAIL_ITEMS,
) -> IncidentDetail:
    from portguard.incidents import reporting

    visible, entries = _scope(ctx, session, principal, incident.id)
    n_entries = _count(session, entries)
    base = IncidentRead.of(incident, alert_count=_count(session, visible))
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
        alerts=_alerts(session, visible, 0, alerts),
        timeline=_timeline(session, entries, max(n_entries - timeline, 0), timeline),
        timeline_count=n_entries,
        entities=_entities(session, visible),
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
    incident_id: str,
    ctx: Ctx,
    session: DbSession,
    principal: Reader,
    alerts: Items = DETAIL_ITEMS,
    timeline: Items = DETAIL_ITEMS,
) -> IncidentDetail:
    """The incident with its first ``alerts`` alerts and latest ``timeline`` entries."""
    incident = load_incident(ctx, session, principal, incident_id)
    return detail(ctx, session, principal, incident, alerts=alerts, timeline=timeline)


@router.get("/incidents/{incident_id}/alerts", response_model=list[AlertRead])
def incident_alerts(
    incident_id: str, ctx: Ctx, session: DbSession, principal: Reader, page: Page
) -> list[AlertRead]:
    """The incident's alerts the reader may see, oldest first, a page at a time."""
    visible, _entries = _loaded_scope(ctx, session, principal, incident_id)
    return _alerts(session, visible, *page)


@router.get("/incidents/{incident_id}/timeline", response_model=list[TimelineRead])
def incident_timeline(
    incident_id: str, ctx: Ctx, session: DbSession, principal: Reader, page: Page
) -> list[TimelineRead]:
    """The incident's timeline, oldest entry first, a page at a time."""
    _visible, entries = _loaded_scope(ctx, session, principal, incident_id)
    return _timeline(session, entries, *page)


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
    return detail(ctx, session, principal, incident)


@router.post("/incidents/{incident_id}/status", response_model=IncidentRead)
def change_status(
    incident_id: str, body: StatusChange, ctx: Ctx, session: DbSession, principal: Writer
) -> IncidentRead:
    incident = load_incident(ctx, session, principal, incident_id)
    service.transition(session=session, incident=incident, to=body.status, actor=principal.actor)
    return IncidentRead.of(incident, alert_count=_count(session, _of(incident)))


@router.post("/incidents/{incident_id}/assign", response_model=IncidentRead)
def assign(
    incident_id: str, body: AssignRequest, ctx: Ctx, session: DbSession, principal: Writer
) -> IncidentRead:
    incident = load_incident(ctx, session, principal, incident_id)
    service.assign(
        session=session, incident=incident, assignee=body.assignee, actor=principal.actor
    )
    return IncidentRead.of(incident, alert_count=_count(session, _of(incident)))


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
