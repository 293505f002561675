"""Incident state changes. Keyword-only functions that receive their session (dispatch style).

``ingest_alert`` is the heart: de-duplicate, store, correlate into an open incident or open a new
one, keep the timeline. Everything an analyst does goes through here and into the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, selectinload

from portguard.core import audit
from portguard.core.clock import ensure_utc, utcnow
from portguard.core.db import take_write_lock
from portguard.core.errors import ConflictError, NotFoundError, ValidationError
from portguard.core.types import TLP, Alert, Severity
from portguard.incidents.correlation import CorrelationRules
from portguard.incidents.models import (
    OPEN_STATUSES,
    AlertRecord,
    Category,
    Incident,
    IncidentKey,
    Status,
    Task,
    TimelineEntry,
)

__all__ = [
    "IngestOutcome",
    "add_note",
    "add_task",
    "assign",
    "complete_task",
    "count_open_incidents",
    "get_incident",
    "ingest_alert",
    "list_alerts",
    "list_incidents",
    "transition",
    "update_incident",
]

ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.TRIAGE, Status.CONTAINED, Status.RESOLVED}),
    Status.TRIAGE: frozenset({Status.CONTAINED, Status.RESOLVED}),
    Status.CONTAINED: frozenset({Status.RESOLVED, Status.TRIAGE}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.TRIAGE}),
    Status.CLOSED: frozenset({Status.TRIAGE}),
}

SYSTEM_ACTOR = "system:correlation"


@dataclass(frozen=True)
class IngestOutcome:
    alert_id: str
    outcome: Literal["new", "deduplicated", "duplicate_id"]
    incident_id: str | None
    incident_created: bool = False


def _timeline(
    session: Session,
    incident: Incident,
    *,
    kind: str,
    actor: str,
    text: str,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        TimelineEntry(
            incident_id=incident.id,
            at=at or utcnow(),
            kind=kind,
            actor=actor,
            text=text,
            data=data or {},
        )
    )


def _next_ref(session: Session, at: datetime) -> str:
    prefix = f"INC-{at.year}-"
    last = session.execute(
        select(func.max(Incident.ref)).where(Incident.ref.like(f"{prefix}%"))
    ).scalar_one_or_none()
    n = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{n:04d}"


def _find_incident(
    session: Session, keys: dict[str, timedelta], observed_at: datetime, max_window: timedelta
) -> tuple[Incident | None, list[Incident]]:
    """The open incident sharing most keys with the alert inside each key's window."""
    if not keys:
        return None, []
    rows = session.execute(
        select(IncidentKey.incident_id, IncidentKey.key, IncidentKey.last_seen)
        .join(Incident, Incident.id == IncidentKey.incident_id)
        .where(
            IncidentKey.key.in_(list(keys)),
            Incident.status.in_([s.value for s in OPEN_STATUSES]),
            IncidentKey.last_seen >= observed_at - max_window,
        )
    ).all()
    score: dict[str, tuple[int, datetime]] = {}
    for incident_id, key, last_seen in rows:
        if abs(observed_at - ensure_utc(last_seen)) > keys[key]:
            continue
        n, latest = score.get(incident_id, (0, ensure_utc(last_seen)))
        score[incident_id] = (n + 1, max(latest, ensure_utc(last_seen)))
    if not score:
        return None, []
    ranked = sorted(score, key=lambda i: score[i], reverse=True)
    incidents = [session.get(Incident, i) for i in ranked]
    found = [i for i in incidents if i is not None]
    return (found[0] if found else None), found[1:]


def _attach(
    session: Session,
    incident: Incident,
    record: AlertRecord,
    alert: Alert,
    keys: dict[str, timedelta],
    rules: CorrelationRules,
) -> None:
    record.incident_id = incident.id
    observed = alert.observed_at
    incident.last_seen = max(ensure_utc(incident.last_seen), observed)
    incident.first_seen = min(ensure_utc(incident.first_seen), observed)
    incident.updated_at = utcnow()
    if int(alert.severity) > incident.severity:
        incident.severity = int(alert.severity)
    if TLP(alert.tlp).rank > TLP(incident.tlp).rank:
        incident.tlp = alert.tlp.value
    domains = set(incident.domains)
    domains.add(alert.domain.value)
    incident.domains = sorted(domains)
    for key in keys:
        row = session.get(IncidentKey, (incident.id, key))
        if row is None:
            session.add(IncidentKey(incident_id=incident.id, key=key, last_seen=observed))
        elif ensure_utc(row.last_seen) < observed:
            row.last_seen = observed
    _timeline(
        session,
        incident,
        kind="alert",
        actor=SYSTEM_ACTOR,
        at=observed,
        text=f"[{alert.domain.value}] {alert.title}",
        data={
            "alert_id": alert.id,
            "rule_id": alert.rule_id,
            "severity": str(alert.severity),
            "why": alert.why,
            "keys": sorted(keys),
        },
    )
    if not incident.hybrid and len(domains) >= rules.hybrid_min_domains:
        incident.hybrid = True
        incident.tags = sorted({*incident.tags, "hybrid"})
        before = Severity(incident.severity)
        incident.severity = min(
            int(Severity.CRITICAL), incident.severity + rules.hybrid_severity_raise
        )
        _timeline(
            session,
            incident,
            kind="correlation",
            actor=SYSTEM_ACTOR,
            at=observed,
            text=(
                f"Hybrid threat: alerts from {len(domains)} domains ({', '.join(sorted(domains))});"
                f" severity raised from {before} to {Severity(incident.severity)}"
            ),
        )


def ingest_alert(
    *,
    session: Session,
    alert: Alert,
    rules: CorrelationRules,
    dedup_window: timedelta = timedelta(hours=1),
) -> IngestOutcome:
    """Take in one alert. Idempotent by alert id: the same alert twice changes nothing.

    Ingestion is serialised across workers (correlation must see every incident the previous
    alert opened): an advisory lock on PostgreSQL, the write lock on SQLite.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7312002)"))
    else:
        take_write_lock(session, Incident.__tablename__)
    if session.get(AlertRecord, alert.id) is not None:
        existing = session.get(AlertRecord, alert.id)
        return IngestOutcome(alert.id, "duplicate_id", existing.incident_id if existing else None)
    dkey = alert.dedup_key()[:700]
    observed = alert.observed_at
    if dedup_window > timedelta(0):
        prior = session.execute(
            select(AlertRecord)
            .where(AlertRecord.dedup_key == dkey, AlertRecord.last_seen >= observed - dedup_window)
            .order_by(AlertRecord.last_seen.desc())
            .limit(1)
        ).scalar_one_or_none()
        if prior is not None:
            prior.count += 1
            if ensure_utc(prior.last_seen) < observed:
                prior.last_seen = observed
            if prior.incident_id:
                inc = session.get(Incident, prior.incident_id)
                if inc is not None and ensure_utc(inc.last_seen) < observed:
                    inc.last_seen = observed
            return IngestOutcome(alert.id, "deduplicated", prior.incident_id)

    record = AlertRecord(
        id=alert.id,
        rule_id=alert.rule_id,
        domain=alert.domain.value,
        severity=int(alert.severity),
        title=alert.title,
        tlp=alert.tlp.value,
        observed_at=observed,
        received_at=utcnow(),
        last_seen=observed,
        dedup_key=dkey,
        payload=alert.model_dump(mode="json"),
    )
    session.add(record)
    keys = rules.keys_for(alert)

    # An alert may name its incident (NIS2 overdue alerts, analyst additions).
    named = alert.attributes.get("incident_id")
    if isinstance(named, str):
        incident = session.get(Incident, named)
        if incident is not None:
            _attach(session, incident, record, alert, keys, rules)
            session.flush()
            return IngestOutcome(alert.id, "new", incident.id)

    incident, others = _find_incident(session, keys, observed, rules.max_window)
    created = False
    if incident is None and alert.severity >= rules.open_min_severity:
        now = utcnow()
        incident = Incident(
            ref=_next_ref(session, now),
            title=alert.title,
            summary=alert.why,
            status=Status.NEW.value,
            severity=int(alert.severity),
            category=rules.category_for(alert),
            tlp=alert.tlp.value,
            first_seen=observed,
            last_seen=observed,
            created_at=now,
            updated_at=now,
            domains=[],
            tags=[],
        )
        session.add(incident)
        session.flush()
        _timeline(
            session,
            incident,
            kind="created",
            actor=SYSTEM_ACTOR,
            at=now,
            text=f"Incident opened from alert {alert.rule_id}",
        )
        audit.record(
            session,
            actor=SYSTEM_ACTOR,
            action="incident.create",
            target=f"incident:{incident.ref}",
            details={"alert_id": alert.id},
        )
        created = True
    if incident is not None:
        _attach(session, incident, record, alert, keys, rules)
        for other in others:
            _timeline(
                session,
                incident,
                kind="related",
                actor=SYSTEM_ACTOR,
                at=observed,
                text=f"Alert {alert.id} also shares keys with {other.ref}",
                data={"incident_id": other.id},
            )
    session.flush()
    return IngestOutcome(alert.id, "new", incident.id if incident else None, created)


def get_incident(*, session: Session, incident_id: str) -> Incident:
    """By id or by reference (INC-2026-0001)."""
    q = select(Incident).options(
        selectinload(Incident.alerts),
        selectinload(Incident.timeline),
        selectinload(Incident.tasks),
        selectinload(Incident.submissions),
        selectinload(Incident.intermediate_requests),
    )
    if incident_id.upper().startswith("INC-"):
        q = q.where(Incident.ref == incident_id.upper())
    else:
        q = q.where(Incident.id == incident_id)
    incident = session.execute(q).scalar_one_or_none()
    if incident is None:
        raise NotFoundError(f"no incident {incident_id!r}")
    return incident


def list_incidents(
    *,
    session: Session,
    status: Sequence[str] | None = None,
    min_severity: Severity | None = None,
    category: str | None = None,
    hybrid: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Incident]:
    q = select(Incident)
    if status:
        q = q.where(Incident.status.in_(list(status)))
    if min_severity is not None:
        q = q.where(Incident.severity >= int(min_severity))
    if category:
        q = q.where(Incident.category == category)
    if hybrid is not None:
        q = q.where(Incident.hybrid == hybrid)
    q = q.order_by(Incident.last_seen.desc(), Incident.id.desc()).limit(limit).offset(offset)
    return list(session.execute(q).scalars())


def count_open_incidents(*, session: Session) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Incident)
            .where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        ).scalar_one()
    )


def list_alerts(
    *,
    session: Session,
    incident_id: str | None = None,
    domain: str | None = None,
    min_severity: Severity | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AlertRecord]:
    q = select(AlertRecord)
    if incident_id:
        q = q.where(AlertRecord.incident_id == incident_id)
    if domain:
        q = q.where(AlertRecord.domain == domain)
    if min_severity is not None:
        q = q.where(AlertRecord.severity >= int(min_severity))
    if since is not None:
        q = q.where(AlertRecord.observed_at >= since)
    q = (
        q.order_by(AlertRecord.observed_at.desc(), AlertRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.execute(q).scalars())


def transition(*, session: Session, incident: Incident, to: Status | str, actor: str) -> Incident:
    try:
        target = Status(to)
    except ValueError:
        raise ValidationError(
            f"unknown status {to!r}; use one of {', '.join(s.value for s in Status)}"
        ) from None
    current = Status(incident.status)
    if target == current:
        return incident
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
        raise ConflictError(
            f"{incident.ref} is {current.value}; it can move to {allowed}, not {target.value}"
        )
    now = utcnow()
    incident.status = target.value
    incident.updated_at = now
    if target == Status.RESOLVED:
        incident.resolved_at = now
    elif target == Status.CLOSED:
        incident.closed_at = now
    elif target == Status.TRIAGE and current in (Status.RESOLVED, Status.CLOSED):
        incident.resolved_at = None
        incident.closed_at = None
    _timeline(
        session,
        incident,
        kind="status",
        actor=actor,
        at=now,
        text=f"Status {current.value} → {target.value}",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.status",
        target=f"incident:{incident.ref}",
        details={"from": current.value, "to": target.value},
    )
    return incident


def assign(*, session: Session, incident: Incident, assignee: str | None, actor: str) -> Incident:
    before = incident.assignee
    incident.assignee = assignee
    incident.updated_at = utcnow()
    _timeline(
        session,
        incident,
        kind="assign",
        actor=actor,
        text=f"Assigned to {assignee}" if assignee else "Unassigned",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.assign",
        target=f"incident:{incident.ref}",
        details={"from": before, "to": assignee},
    )
    return incident


_EDITABLE = {
    "title",
    "summary",
    "severity",
    "category",
    "tlp",
    "impact",
    "affected_services",
    "financial_loss_eur",
    "threat_type",
    "root_cause",
    "mitigation_applied",
    "mitigation_ongoing",
    "cross_border_details",
}


def update_incident(
    *, session: Session, incident: Incident, changes: dict[str, Any], actor: str
) -> Incident:
    """Change descriptive fields (the ones NIS2 reports are written from)."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationError(f"cannot change {sorted(unknown)}; editable: {sorted(_EDITABLE)}")
    applied: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "severity":
            value = int(Severity.parse(value))
        elif field == "category":
            try:
                value = Category(value).value
            except ValueError:
                raise ValidationError(
                    f"unknown category {value!r}; use one of {', '.join(c.value for c in Category)}"
                ) from None
        elif field == "tlp":
            value = TLP.parse(value).value
        if getattr(incident, field) != value:
            setattr(incident, field, value)
            applied[field] = value
    if applied:
        incident.updated_at = utcnow()
        shown = {k: (str(Severity(v)) if k == "severity" else v) for k, v in applied.items()}
        _timeline(
            session,
            incident,
            kind="update",
            actor=actor,
            text="Updated " + ", ".join(sorted(applied)),
            data=shown,
        )
        audit.record(
            session,
            actor=actor,
            action="incident.update",
            target=f"incident:{incident.ref}",
            details=shown,
        )
    return incident


def add_note(*, session: Session, incident: Incident, text: str, actor: str) -> None:
    text = text.strip()
    if not text:
        raise ValidationError("a note cannot be empty")
    incident.updated_at = utcnow()
    _timeline(session, incident, kind="note", actor=actor, text=text)
    audit.record(session, actor=actor, action="incident.note", target=f"incident:{incident.ref}")


def add_task(
    *,
    session: Session,
    incident: Incident,
    title: str,
    actor: str,
    assignee: str | None = None,
    due_at: datetime | None = None,
) -> Task:
    title = title.strip()
    if not title:
        raise ValidationError("a task needs a title")
    task = Task(incident_id=incident.id, title=title, assignee=assignee, due_at=due_at)
    session.add(task)
    session.flush()
    _timeline(session, incident, kind="task", actor=actor, text=f"Task added: {title}")
    audit.record(
        session,
        actor=actor,
        action="incident.task.add",
        target=f"incident:{incident.ref}",
        details={"task_id": task.id},
    )
    return task


def complete_task(*, session: Session, incident: Incident, task_id: str, actor: str) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.incident_id != incident.id:
        raise NotFoundError(f"no task {task_id!r} on {incident.ref}")
    if not task.done:
        task.done = True
        task.done_at = utcnow()
        _timeline(session, incident, kind="task", actor=actor, text=f"Task done: {task.title}")
        audit.record(
            session,
            actor=actor,
            action="incident.task.done",
            target=f"incident:{incident.ref}",
            details={"task_id": task.id},
        )
    return task
