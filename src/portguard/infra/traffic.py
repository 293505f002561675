"""Traffic impact: when a lock, bridge or road is out, which waterway passages, roads and
vessels are affected, and the expected delay. The business-continuity view of an outage.

The model is deliberately simple and explicit (every number is configurable, see
``InfraConfig.alternatives`` and ``detour_min``):

* a **lock** out blocks its waterway passage; vessels planned through it (lock planning events)
  or waiting at it (maritime alerts at the lock) divert to an alternative lock that is not out
  (``detour_min["lock_alternative"]`` plus ``queue_min`` per three vessels ahead of them), or wait
  for the repair (``detour_min["lock_closed"]``);
* a **bridge** stuck open (or faulty) closes the roads over it (roads whose ``bridges``
  property names it) with ``detour_min["road"]`` each; stuck closed (or faulty) over a lock, it
  blocks the lock's passage too;
* a **road** (or tunnel) out is closed with its detour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from portguard.core.errors import NotFoundError
from portguard.portmodel import PortModel
from portguard.portmodel.kinds import FeatureKind

__all__ = ["BUILTIN_ALTERNATIVES", "DETOUR_MIN", "TrafficImpact", "VesselImpact", "traffic_impact"]

#: Locks side by side in the built-in Antwerp-Bruges model: one can take the other's traffic.
BUILTIN_ALTERNATIVES: Final[Mapping[str, tuple[str, ...]]] = {
    "berendrecht-lock": ("zandvliet-lock",),
    "zandvliet-lock": ("berendrecht-lock",),
    "kieldrecht-lock": ("kallo-lock",),
    "kallo-lock": ("kieldrecht-lock",),
    "boudewijn-lock": ("van-cauwelaert-lock",),
    "van-cauwelaert-lock": ("boudewijn-lock",),
}
DETOUR_MIN: Final[Mapping[str, float]] = {
    "lock_alternative": 60.0,
    "lock_closed": 480.0,
    "queue_min": 45.0,
    "road": 20.0,
}
_OUT: Final = frozenset({"fault", "maintenance", "out", "open", "closed", "moving"})


@dataclass(frozen=True)
class VesselImpact:
    mmsi: str
    reason: str
    eta: str | None
    delay_min: float
    via: str | None


@dataclass
class TrafficImpact:
    asset: str
    asset_name: str
    kind: str
    state: str
    since: str | None
    waterway_blocked: bool = False
    lock: str | None = None
    alternatives: list[str] = field(default_factory=list)
    roads: list[dict[str, Any]] = field(default_factory=list)
    vessels: list[VesselImpact] = field(default_factory=list)
    expected_delay_min: float = 0.0
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["vessels"] = [asdict(v) for v in self.vessels]
        return d


def traffic_impact(
    model: PortModel,
    asset_id: str,
    state: str,
    *,
    since: datetime | None = None,
    vessels: Iterable[tuple[str, str, datetime | None]] = (),
    out_of_service: Iterable[str] = (),
    alternatives: Mapping[str, Iterable[str]] | None = None,
    detour_min: Mapping[str, float] | None = None,
) -> TrafficImpact:
    """The impact of ``asset_id`` being in ``state`` (fault, maintenance, open, closed...).

    ``vessels`` are ``(mmsi, reason, eta)`` of vessels planned through or waiting at the asset;
    ``out_of_service`` the other assets out at the same time (an alternative lock that is out
    is no alternative)."""
    f = model.get(asset_id)
    if f is None:
        raise NotFoundError(f"the port model has no asset {asset_id!r}")
    alts_map = {**{k: tuple(v) for k, v in BUILTIN_ALTERNATIVES.items()}}
    alts_map.update({k: tuple(v) for k, v in (alternatives or {}).items()})
    minutes = {**DETOUR_MIN, **(detour_min or {})}
    out = set(out_of_service) - {asset_id}
    imp = TrafficImpact(
        asset=asset_id,
        asset_name=f.name,
        kind=f.kind.value,
        state=state,
        since=since.isoformat() if since else None,
    )
    bridges: list[str] = []
    if f.kind is FeatureKind.LOCK:
        imp.lock = asset_id
        imp.waterway_blocked = state in _OUT - {"open"}
    elif f.kind is FeatureKind.BRIDGE:
        bridges.append(asset_id)
        if f.parent and state in ("closed", "fault", "maintenance"):
            imp.lock = f.parent
            imp.waterway_blocked = True
    roads: list[tuple[str, str]] = []
    if f.kind is FeatureKind.BRIDGE and state in ("open", "fault", "maintenance", "moving"):
        for road in model.by_kind(FeatureKind.ROAD):
            if asset_id in (road.properties.get("bridges") or ()):
                roads.append((road.id, road.name))
    elif f.kind in (FeatureKind.ROAD, FeatureKind.CRITICAL_INFRASTRUCTURE):
        roads.append((f.id, f.name))
    imp.roads = [{"id": rid, "name": name, "detour_min": minutes["road"]} for rid, name in roads]
    delays = [minutes["road"]] if roads else []
    if imp.waterway_blocked and imp.lock:
        imp.alternatives = [a for a in alts_map.get(imp.lock, ()) if a not in out]
        via = imp.alternatives[0] if imp.alternatives else None
        base = minutes["lock_alternative"] if via else minutes["lock_closed"]
        ordered = sorted(vessels, key=lambda v: (v[2] is None, v[2] or datetime.max, v[0]))
        for i, (mmsi, reason, eta) in enumerate(ordered):
            delay = base + minutes["queue_min"] * (i // 3)
            imp.vessels.append(
                VesselImpact(mmsi, reason, eta.isoformat() if eta else None, delay, via)
            )
            delays.append(delay)
        if not ordered:
            delays.append(base)
    imp.expected_delay_min = max(delays, default=0.0)
    parts = []
    if imp.waterway_blocked:
        alt = f"divert via {', '.join(imp.alternatives)}" if imp.alternatives else "no alternative"
        parts.append(f"passage through {imp.lock} blocked ({alt}); {len(imp.vessels)} vessel(s)")
    if roads:
        parts.append(f"{len(roads)} road(s) closed: {', '.join(n for _, n in roads)}")
    imp.summary = (
        f"{f.name} {state}: "
        + "; ".join(parts)
        + f"; expected delay {imp.expected_delay_min:.0f} min"
        if parts
        else f"{f.name} {state}: no traffic affected"
    )
    return imp
