"""Infra findings → core Alerts: rule ``infra.<rule>``, entities (asset, account, person, host,
ip), ``Location(asset_id=...)`` so they correlate with the other domains at that asset, and a
stable fingerprint per episode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portguard.core.types import Alert, Domain, EntityKind, EntityRef, Location, Severity
from portguard.infra.detectors import InfraFinding
from portguard.portmodel import PortModel

__all__ = ["to_alert"]

_CATEGORY = {"unplanned_outage": "sabotage", "uncommanded_change": "sabotage"}


def to_alert(f: InfraFinding, model: PortModel, extra: Mapping[str, Any] | None = None) -> Alert:
    ents = [EntityRef(kind=EntityKind.ASSET, value=f.asset)]
    if f.account:
        ents.append(EntityRef(kind=EntityKind.ACCOUNT, value=f.account))
    for p in f.persons:
        ents.append(EntityRef(kind=EntityKind.PERSON, value=p))
    for key, kind in (("host", EntityKind.HOST), ("ip", EntityKind.IP)):
        v = f.attributes.get(key)
        if v:
            ents.append(EntityRef(kind=kind, value=str(v)))
    feat = model.get(f.asset)
    loc = Location(
        asset_id=f.asset,
        lat=feat.lat if feat is not None else None,
        lon=feat.lon if feat is not None else None,
    )
    attrs: dict[str, Any] = {"security_level": f.level, **f.attributes, **(extra or {})}
    return Alert(
        rule_id=f.rule_id,
        domain=Domain.INFRA,
        severity=Severity.parse(f.severity),
        confidence=0.85,
        title=f.title[:500],
        why=f.why[:10_000],
        observed_at=f.at,
        evidence=f.evidence,
        entities=tuple(dict.fromkeys(ents)),
        location=loc,
        category=_CATEGORY.get(f.detector, "sabotage"),
        attributes=attrs,
        fingerprint=f"{f.asset}|{f.episode}"[:480],
    )
