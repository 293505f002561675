"""NIS2 routes of an incident: significance, clock, reports per stage, submissions, requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from portguard.core.auth import Permission
from portguard.core.http import Ctx, DbSession, Principal, require
from portguard.incidents import nis2, reporting
from portguard.incidents.api import Reader, load_incident

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/incidents/{incident_id}/nis2", tags=["nis2"])

Reporter = Annotated[Principal, Depends(require(Permission.REPORTS_WRITE))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignificanceSet(_In):
    criteria: list[nis2.CriterionCode] = Field(min_length=1)
    aware_at: datetime | None = None
    malicious_suspected: bool | None = None
    cross_border: bool | None = None


class SubmissionCreate(_In):
    stage: nis2.Stage
    authority: str = Field(min_length=1, max_length=200)
    submitted_at: datetime | None = None
    reference: str = Field(default="", max_length=200)


class IntermediateRequestCreate(_In):
    due_at: datetime
    requested_at: datetime | None = None
    reference: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=5000)


@router.get("")
def get_nis2(incident_id: str, ctx: Ctx, session: DbSession, principal: Reader) -> dict[str, Any]:
    """Significance, the reporting clock (due times, statuses, time left) and submissions."""
    incident = load_incident(ctx, session, principal, incident_id)
    return reporting.clock_json(incident, now=ctx.clock.now())


@router.get("/checklist")
def checklist(incident_id: str, principal: Reader) -> list[dict[str, str]]:
    """The significance criteria (NIS2 Art. 23(3) and the CCB's thresholds)."""
    return [
        {"code": c.code.value, "label": c.label, "explanation": c.explanation, "source": c.source}
        for c in nis2.SIGNIFICANCE_CHECKLIST
    ]


@router.post("/significance")
def set_significance(
    incident_id: str, body: SignificanceSet, ctx: Ctx, session: DbSession, principal: Reporter
) -> dict[str, Any]:
    incident = load_incident(ctx, session, principal, incident_id)
    reporting.mark_significant(
        session=session,
        incident=incident,
        criteria=[c.value for c in body.criteria],
        aware_at=body.aware_at,
        malicious_suspected=body.malicious_suspected,
        cross_border=body.cross_border,
        actor=principal.actor,
    )
    return reporting.clock_json(incident, now=ctx.clock.now())


@router.get("/reports/{stage}", response_model=None)
def get_report(
    incident_id: str,
    stage: nis2.Stage,
    ctx: Ctx,
    session: DbSession,
    principal: Reader,
    format: Annotated[Literal["md", "html", "json"], Query()] = "md",
    download: bool = False,
) -> Response:
    """The report for one stage, generated now from the incident's data."""
    incident = load_incident(ctx, session, principal, incident_id)
    report = reporting.build_incident_report(incident, stage, now=ctx.clock.now())
    name = f"{incident.ref}-nis2-{stage.value}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if download else None
    if format == "html":
        return HTMLResponse(report.to_html(), headers=headers)
    if format == "json":
        return JSONResponse(report.to_json(), headers=headers)
    return PlainTextResponse(
        report.to_markdown(), media_type="text/markdown; charset=utf-8", headers=headers
    )


@router.post("/submissions", status_code=201)
def submit(
    incident_id: str, body: SubmissionCreate, ctx: Ctx, session: DbSession, principal: Reporter
) -> dict[str, Any]:
    """Record that a report was sent to the authority (time notified, reference)."""
    incident = load_incident(ctx, session, principal, incident_id)
    reporting.record_submission(
        session=session,
        incident=incident,
        stage=body.stage,
        authority=body.authority,
        submitted_at=body.submitted_at,
        reference=body.reference,
        actor=principal.actor,
    )
    return reporting.clock_json(incident, now=ctx.clock.now())


@router.post("/intermediate-requests", status_code=201)
def intermediate_request(
    incident_id: str,
    body: IntermediateRequestCreate,
    ctx: Ctx,
    session: DbSession,
    principal: Reporter,
) -> dict[str, Any]:
    """The authority asked for an intermediate report by ``due_at``."""
    incident = load_incident(ctx, session, principal, incident_id)
    reporting.request_intermediate(
        session=session,
        incident=incident,
        due_at=body.due_at,
        requested_at=body.requested_at,
        reference=body.reference,
        note=body.note,
        actor=principal.actor,
    )
    return reporting.clock_json(incident, now=ctx.clock.now())
