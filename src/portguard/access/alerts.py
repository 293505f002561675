"""Findings → core Alerts: rule ``access.<rule>``, entities (badge, person, asset, zone), the
reader's place as Location (``asset_id`` = what the reader protects, so alerts correlate with
other domains' alerts at that asset), and a stable fingerprint per episode."""

from __future__ import annotations

from portguard.access.detectors import Finding
from portguard.core.types import Alert, Domain, EntityKind, EntityRef, Location, Severity

__all__ = ["to_alert"]


def to_alert(f: Finding) -> Alert:
    r = f.reader
    ents: list[EntityRef] = []
    for b in f.badges or ((f.badge,) if f.badge else ()):
        ents.append(EntityRef(kind=EntityKind.BADGE, value=b))
    if f.credential is not None:
        if f.credential.person_id:
            ents.append(EntityRef(kind=EntityKind.PERSON, value=f.credential.person_id))
        if f.credential.organisation:
            ents.append(EntityRef(kind=EntityKind.ORGANISATION, value=f.credential.organisation))
    ents.append(EntityRef(kind=EntityKind.ASSET, value=r.location_asset))
    if r.facility:
        ents.append(EntityRef(kind=EntityKind.ZONE, value=r.facility))
    attrs: dict[str, object] = {"reader": r.id, "security_level": f.level, **f.attributes}
    if f.credential is not None:
        attrs["holder"] = f.credential.holder
    return Alert(
        rule_id=f.rule_id,
        domain=Domain.ACCESS,
        severity=Severity.parse(f.severity),
        confidence=0.8,
        title=f.title[:500],
        why=f.why[:10_000],
        observed_at=f.at,
        evidence=f.evidence,
        entities=tuple(dict.fromkeys(ents)),
        location=Location(asset_id=r.location_asset, zone_id=r.facility, lat=r.lat, lon=r.lon),
        category="unauthorised_access",
        attributes=attrs,
        fingerprint=f"{r.id}|{f.episode}"[:480],
    )
