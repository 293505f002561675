"""Findings → core Alerts (for the bus) and → the one-line JSON of ``portguard ais replay --json``.

This module owns the outward shape of a maritime finding: rule id ``maritime.<kind>``, entities
``mmsi:``/``imo:``/``zone:``/``asset:``, a Location from the port model, a stable ``fingerprint``
per episode (so the incident engine de-duplicates re-deliveries), and the evidence positions in
``attributes.positions`` (evidence ids name the stored fixes as ``ais:<mmsi>@<unix time>``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

from portguard.core.types import Alert, Domain, EntityRef, Location, Severity
from portguard.maritime.detectors.base import Finding
from portguard.maritime.tracks import Registry

__all__ = ["KINDS", "finding_json", "to_alert"]

KINDS: Final = (
    "invalid_identity",
    "identity_conflict",
    "teleport",
    "going_dark",
    "loitering",
    "rendezvous",
    "zone_incursion",
    "speeding",
)
_TITLES: Final = {
    "invalid_identity": "Vessel with an invalid identity (MMSI)",
    "identity_conflict": "Two vessels share one MMSI (identity conflict)",
    "teleport": "Vessel position jump (spoofed or faulty position)",
    "going_dark": "Vessel went dark (AIS silent) inside the port's coverage",
    "loitering": "Vessel loitering at critical infrastructure",
    "rendezvous": "Ship-to-ship rendezvous",
    "zone_incursion": "Vessel entered a restricted zone",
    "speeding": "Vessel over the zone's speed limit",
}
RULE_VERSION: Final = "1"


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def _imos(f: Finding, registry: Registry) -> list[int]:
    out = []
    for m in f.mmsi:
        info = registry.get(m)
        if info is not None and info.imo is not None:
            out.append(info.imo)
    return out


def finding_json(f: Finding, registry: Registry) -> dict[str, Any]:
    """The replay's JSON object for one finding (one line on stdout)."""
    names = [registry.get(m) for m in f.mmsi]
    return {
        "kind": f.kind,
        "mmsi": [f"{m:09d}" for m in f.mmsi],
        "start": iso(f.start),
        "end": iso(f.end),
        "lat": round(f.lat, 6),
        "lon": round(f.lon, 6),
        "zone": f.zone,
        "asset": f.asset,
        "severity": f.severity,
        "why": f.why,
        "imo": _imos(f, registry),
        "names": [n.name if n is not None else None for n in names],
        "episode": f.episode,
        "positions": [
            {
                "mmsi": f"{m:09d}",
                "t": iso(t),
                "lat": la,
                "lon": lo,
                "sog": None if math.isnan(s) else s,
            }
            for m, t, la, lo, s in f.positions
        ],
        **{k: v for k, v in f.extra.items() if k not in ("kind", "mmsi")},
    }


def to_alert(f: Finding, registry: Registry, *, now: dt.datetime | None = None) -> Alert:
    """The core Alert for a finding, ready for ``publish_alerts``."""
    # An MMSI field holds 30 bits: values over 999999999 are no MMSI, and no entity either.
    ents = [EntityRef.of("mmsi", f"{m:09d}") for m in f.mmsi if 0 <= m < 10**9]
    ents += [EntityRef.of("imo", f"{i:07d}") for i in _imos(f, registry)]
    if f.zone:
        ents.append(EntityRef.of("zone", f.zone))
    if f.asset:
        ents.append(EntityRef.of("asset", f.asset))
    lat = f.lat if -90 <= f.lat <= 90 else None
    lon = f.lon if -180 <= f.lon <= 180 and lat is not None else None
    extra: dict[str, Any] = {}
    if now is not None:
        extra["created_at"] = now
    return Alert(
        rule_id=f"maritime.{f.kind}",
        rule_version=RULE_VERSION,
        domain=Domain.MARITIME,
        severity=Severity.parse(f.severity),
        confidence=0.9 if f.kind in ("invalid_identity", "zone_incursion", "speeding") else 0.7,
        title=_TITLES.get(f.kind, f.kind),
        why=f.why,
        observed_at=dt.datetime.fromtimestamp(f.start, tz=dt.UTC),
        evidence=tuple(f"ais:{m:09d}@{t:.0f}" for m, t, *_ in f.positions[:200]),
        entities=tuple(ents),
        location=Location(
            asset_id=f.asset, zone_id=f.zone, lat=lat, lon=lon if lat is not None else None
        ),
        category="maritime",
        fingerprint=f.episode,
        attributes={
            "kind": f.kind,
            "mmsi": [f"{m:09d}" for m in f.mmsi],
            "start": iso(f.start),
            "end": iso(f.end),
            "positions": [
                {
                    "mmsi": f"{m:09d}",
                    "t": iso(t),
                    "lat": la,
                    "lon": lo,
                    "sog": None if math.isnan(s) else s,
                }
                for m, t, la, lo, s in f.positions[:200]
            ],
            **f.extra,
        },
        **extra,
    )
