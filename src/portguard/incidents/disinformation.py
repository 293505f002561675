"""Disinformation reports: an analyst records a claim seen on a channel about a target.

A report becomes an ``Alert`` of domain ``analyst`` and category ``disinformation`` (rule
``analyst.disinformation``) and goes through the bus and the incident engine like any alert: it
correlates on its target's entities and place, and the ``disinformation-and-attack`` hybrid rule
ties it to an attack on the same target. Linked to an incident, it names it in
``attributes.incident_id`` and lands on that incident's timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portguard.core.clock import ensure_utc, utcnow
from portguard.core.types import TLP, Alert, Domain, EntityRef, Location, Severity

__all__ = ["RULE_ID", "DisinformationReport", "to_alert"]

RULE_ID: Final = "analyst.disinformation"


class DisinformationReport(BaseModel):
    """What the analyst records (the API body of ``POST /api/v1/disinformation``)."""

    model_config = ConfigDict(extra="forbid")

    claim: str = Field(min_length=1, max_length=5_000, description="What is being claimed.")
    channel: str = Field(
        min_length=1, max_length=500, description="Where: a social network, site, outlet..."
    )
    target: str = Field(
        min_length=1, max_length=500, description="Who or what the claim is about, in words."
    )
    #: The target as entities (``organisation:poab``, ``asset:berendrecht-lock``...).
    entities: list[str] = Field(default_factory=list, max_length=100)
    url: str | None = Field(default=None, max_length=2048)
    asset_id: str | None = Field(default=None, max_length=200)
    zone_id: str | None = Field(default=None, max_length=200)
    observed_at: datetime | None = None
    severity: str = "medium"
    tlp: str = "amber"
    #: An incident (id or INC-... reference) to link the report to.
    incident: str | None = Field(default=None, max_length=64)

    @field_validator("observed_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return ensure_utc(v) if v is not None else None


def to_alert(report: DisinformationReport, *, actor: str, incident_id: str | None) -> Alert:
    """The report as an Alert (raises ``ValueError`` naming the bad field)."""
    entities = [EntityRef.parse(e) for e in report.entities]
    if report.url:
        entities.append(EntityRef.of("url", report.url))
    location = None
    if report.asset_id or report.zone_id:
        location = Location(asset_id=report.asset_id, zone_id=report.zone_id)
    attributes: dict[str, object] = {
        "claim": report.claim,
        "channel": report.channel,
        "target": report.target,
        "reported_by": actor,
    }
    if incident_id is not None:
        attributes["incident_id"] = incident_id
    return Alert(
        rule_id=RULE_ID,
        domain=Domain.ANALYST,
        severity=Severity.parse(report.severity),
        confidence=1.0,
        title=f"Disinformation on {report.channel} about {report.target}"[:500],
        why=f"Reported by {actor}: {report.claim}"[:10_000],
        observed_at=report.observed_at or utcnow(),
        entities=tuple(dict.fromkeys(entities)),
        location=location,
        tlp=TLP.parse(report.tlp),
        category="disinformation",
        attributes=attributes,
        fingerprint=None,
    )
