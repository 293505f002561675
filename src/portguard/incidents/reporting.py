"""NIS2 state changes and reports for stored incidents: mark significant, record submissions and
the authority's requests, compute the clock, build each report from the incident's own data, and
find overdue reports. The pure rules live in ``nis2`` and ``reports``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.clock import ensure_utc, utcnow
from portguard.core.errors import ConflictError, ValidationError
from portguard.core.types import Alert, Domain, EntityKind, Severity
from portguard.incidents import nis2, reports
from portguard.incidents.models import (
    Incident,
    IntermediateRequest,
    Nis2Submission,
    Status,
    TimelineEntry,
)

__all__ = [
    "INDICATOR_KINDS",
    "build_incident_report",
    "clock_for",
    "clock_json",
    "mark_significant",
    "overdue_alerts",
    "record_submission",
    "request_intermediate",
    "snapshot",
]

#: Entity kinds that are indicators of compromise, shared in the notification.
INDICATOR_KINDS = frozenset(
    {EntityKind.DOMAIN, EntityKind.URL, EntityKind.IP, EntityKind.FILE_HASH, EntityKind.EMAIL}
)
OVERDUE_RULE = "nis2.report_overdue"


def _state(incident: Incident) -> nis2.Nis2State | None:
    if not incident.significant or incident.aware_at is None:
        return None
    return nis2.Nis2State(
        aware_at=incident.aware_at,
        significant=True,
        resolved_at=incident.resolved_at,
        submissions=[
            nis2.Submission(
                stage=nis2.Stage(s.stage),
                submitted_at=s.submitted_at,
                authority=s.authority,
                reference=s.reference,
            )
            for s in incident.submissions
        ],
        intermediate_requests=[
            nis2.IntermediateRequest(
                requested_at=r.requested_at, due_at=r.due_at, reference=r.reference
            )
            for r in incident.intermediate_requests
        ],
    )


def clock_for(incident: Incident, *, now: datetime) -> nis2.Nis2Clock | None:
    """The reporting clock, or None while the incident is not marked significant."""
    state = _state(incident)
    return nis2.compute_clock(state, now) if state else None


def clock_json(incident: Incident, *, now: datetime) -> dict[str, Any]:
    clock = clock_for(incident, now=now)
    base: dict[str, Any] = {
        "significant": incident.significant,
        "criteria": list(incident.significance_criteria),
        "aware_at": incident.aware_at.isoformat() if incident.aware_at else None,
        "malicious_suspected": incident.malicious_suspected,
        "cross_border": incident.cross_border,
        "submissions": [
            {
                "stage": s.stage,
                "authority": s.authority,
                "submitted_at": s.submitted_at.isoformat(),
                "reference": s.reference,
                "actor": s.actor,
            }
            for s in incident.submissions
        ],
    }
    base["clock"] = clock.to_dict() if clock else None
    return base


def _timeline(session: Session, incident: Incident, *, actor: str, text: str, at: datetime) -> None:
    session.add(
        TimelineEntry(incident_id=incident.id, at=at, kind="nis2", actor=actor, text=text, data={})
    )


def mark_significant(
    *,
    session: Session,
    incident: Incident,
    criteria: Sequence[str],
    actor: str,
    aware_at: datetime | None = None,
    malicious_suspected: bool | None = None,
    cross_border: bool | None = None,
) -> Incident:
    """Mark the incident significant under NIS2 Art. 23(3): this starts the reporting clock from
    the moment of awareness (default: now)."""
    codes = [nis2.criterion(c).code.value for c in criteria]
    if not codes:
        raise ValidationError(
            "name at least one significance criterion from the checklist", location="criteria"
        )
    now = utcnow()
    aware = ensure_utc(aware_at) if aware_at else now
    if aware > now:
        raise ValidationError(
            "the moment of awareness cannot be in the future", location="aware_at"
        )
    incident.significant = True
    incident.significance_criteria = codes
    incident.aware_at = aware
    if malicious_suspected is not None:
        incident.malicious_suspected = malicious_suspected
    if cross_border is not None:
        incident.cross_border = cross_border
    incident.updated_at = now
    _timeline(
        session,
        incident,
        actor=actor,
        at=now,
        text=f"Marked significant under NIS2 ({', '.join(codes)}); aware since {aware.isoformat()}",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.nis2.significant",
        target=f"incident:{incident.ref}",
        details={"criteria": codes, "aware_at": aware.isoformat()},
    )
    return incident


def snapshot(incident: Incident, *, organisation: str | None = None) -> reports.IncidentSnapshot:
    """Everything a report is written from, taken from the incident's own data."""
    entities: dict[str, None] = {}
    indicators: dict[str, None] = {}
    assets: dict[str, None] = {}
    for rec in incident.alerts:
        alert = rec.payload
        for ent in alert.get("entities", []):
            key = f"{ent['kind']}:{ent['value']}"
            entities[key] = None
            if ent["kind"] in INDICATOR_KINDS:
                indicators[key] = None
        loc = alert.get("location") or {}
        if loc.get("asset_id"):
            assets[loc["asset_id"]] = None
    extra: dict[str, Any] = {}
    if organisation:
        extra["organisation"] = organisation
    return reports.IncidentSnapshot(
        id=incident.ref,
        title=incident.title,
        created_at=incident.created_at,
        aware_at=incident.aware_at or incident.created_at,
        significant=incident.significant,
        summary=incident.summary,
        category=incident.category,
        severity=str(Severity(incident.severity)),
        status=incident.status,
        significance_criteria=list(incident.significance_criteria),
        malicious_suspected=incident.malicious_suspected,
        cross_border=incident.cross_border,
        cross_border_details=incident.cross_border_details,
        affected_assets=list(assets),
        affected_services=incident.affected_services,
        entities=list(entities),
        indicators=list(indicators),
        alerts=[
            reports.AlertSummary(
                id=a.id,
                rule_id=a.rule_id,
                title=a.title,
                severity=str(Severity(a.severity)),
                domain=a.domain,
                observed_at=a.observed_at,
            )
            for a in incident.alerts
        ],
        timeline=[
            reports.TimelineEntry(at=t.at, kind=t.kind, actor=t.actor, text=t.text)
            for t in incident.timeline
        ],
        impact=incident.impact,
        financial_loss_eur=incident.financial_loss_eur,
        root_cause=incident.root_cause,
        threat_type=incident.threat_type,
        mitigation_applied=incident.mitigation_applied,
        mitigation_ongoing=incident.mitigation_ongoing,
        resolved_at=incident.resolved_at,
        **extra,
    )


def _require_clock(incident: Incident, now: datetime) -> nis2.Nis2Clock:
    clock = clock_for(incident, now=now)
    if clock is None:
        raise ConflictError(
            f"{incident.ref} is not marked significant under NIS2; mark it first "
            "(POST .../nis2/significance or `portguard incidents significant`)"
        )
    return clock


def build_incident_report(
    incident: Incident, stage: nis2.Stage | str, *, now: datetime
) -> reports.Report:
    try:
        stage = nis2.Stage(stage)
    except ValueError:
        stages = ", ".join(s.value for s in nis2.Stage)
        raise ValidationError(f"unknown stage {stage!r}; use one of {stages}") from None
    clock = _require_clock(incident, now)
    return reports.build_report(snapshot(incident), stage, clock=clock, generated_at=now)


def record_submission(
    *,
    session: Session,
    incident: Incident,
    stage: nis2.Stage | str,
    authority: str,
    actor: str,
    submitted_at: datetime | None = None,
    reference: str = "",
) -> Nis2Submission:
    """Record that a report went to the authority; the report as generated is kept with it."""
    now = utcnow()
    at = ensure_utc(submitted_at) if submitted_at else now
    if at > now:
        raise ValidationError("submission time cannot be in the future", location="submitted_at")
    authority = authority.strip()
    if not authority:
        raise ValidationError("name the authority the report went to", location="authority")
    report = build_incident_report(incident, stage, now=at)
    if incident.aware_at and at < incident.aware_at:
        raise ValidationError("submission cannot precede awareness", location="submitted_at")
    sub = Nis2Submission(
        incident_id=incident.id,
        stage=report.stage.value,
        authority=authority,
        submitted_at=at,
        reference=reference.strip(),
        actor=actor,
        report=report.to_json(),
    )
    session.add(sub)
    incident.submissions.append(sub)
    incident.updated_at = now
    _timeline(
        session,
        incident,
        actor=actor,
        at=now,
        text=f"NIS2 {report.stage.value.replace('_', ' ')} submitted to {authority}"
        + (f" (ref. {reference})" if reference else ""),
    )
    audit.record(
        session,
        actor=actor,
        action="incident.nis2.submission",
        target=f"incident:{incident.ref}",
        details={"stage": report.stage.value, "authority": authority, "reference": reference},
    )
    session.flush()
    return sub


def request_intermediate(
    *,
    session: Session,
    incident: Incident,
    due_at: datetime,
    actor: str,
    reference: str = "",
    note: str = "",
    requested_at: datetime | None = None,
) -> IntermediateRequest:
    _require_clock(incident, utcnow())
    req_at = ensure_utc(requested_at) if requested_at else utcnow()
    due = ensure_utc(due_at)
    if due < req_at:
        raise ValidationError("due time is before the request", location="due_at")
    req = IntermediateRequest(
        incident_id=incident.id, requested_at=req_at, due_at=due, reference=reference, note=note
    )
    session.add(req)
    incident.intermediate_requests.append(req)
    _timeline(
        session,
        incident,
        actor=actor,
        at=utcnow(),
        text=f"Authority requested an intermediate report by {due.isoformat()}",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.nis2.intermediate_request",
        target=f"incident:{incident.ref}",
        details={"due_at": due.isoformat(), "reference": reference},
    )
    session.flush()
    return req


def overdue_alerts(*, session: Session, now: datetime) -> list[Alert]:
    """One alert per overdue report per incident. The fingerprint makes repeats deduplicate, and
    the alert names its incident so it lands on that incident's timeline."""
    rows = session.execute(
        select(Incident).where(Incident.significant.is_(True), Incident.status != Status.CLOSED)
    ).scalars()
    out: list[Alert] = []
    for incident in rows:
        clock = clock_for(incident, now=now)
        if clock is None:
            continue
        for d in clock.overdue:
            late = -(d.time_left.total_seconds()) / 3600 if d.time_left is not None else 0.0
            out.append(
                Alert(
                    rule_id=OVERDUE_RULE,
                    domain=Domain.SYSTEM,
                    severity=Severity.HIGH,
                    confidence=1.0,
                    title=f"NIS2 {d.stage.value.replace('_', ' ')} overdue for {incident.ref}",
                    why=(
                        f"The {d.stage.value.replace('_', ' ')} for {incident.ref} was due at "
                        f"{d.due_at.isoformat() if d.due_at else '?'} and has not been "
                        f"submitted ({late:.1f} h late)."
                    ),
                    observed_at=now,
                    fingerprint=f"{incident.id}:{d.stage.value}:{d.reference or ''}",
                    attributes={"incident_id": incident.id, "stage": d.stage.value},
                    tlp=incident.tlp,
                )
            )
    return out
