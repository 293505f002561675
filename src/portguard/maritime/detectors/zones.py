"""Zone detectors on every fix: restricted-zone incursion and speeding against a zone's limit.

``ZoneIncursion``: a fix inside a zone of the configured kinds (exclusion zones by default) by a
vessel that is not allow-listed: by MMSI or ship type, in the config (``allow`` per zone, and the
detector's ``allow_*`` lists) or in the zone's own port-model properties ``allowed_mmsi`` /
``allowed_ship_types``. One finding per entry; ``gap_s`` outside ends the episode.

``Speeding``: speed over ground above a zone's ``speed_limit_kn`` times (1 + ``tolerance``) on
consecutive fixes for at least ``min_duration_s``. SOG 102.3 ("not available") never counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from portguard.maritime.decode import FixBatch
from portguard.maritime.detectors.base import Detector, Finding, evidence
from portguard.maritime.world import World

__all__ = ["Speeding", "ZoneIncursion"]


def _ints(value: Any) -> set[int]:
    if isinstance(value, list | tuple | set | frozenset):
        return {int(v) for v in value if isinstance(v, int | str) and str(v).isdigit()}
    return set()


@dataclass
class Visit:
    since: float
    last: float


@dataclass
class IncursionState:
    inside: dict[tuple[int, str], Visit] = field(default_factory=dict)


class ZoneIncursion(Detector):
    kind = "zone_incursion"

    def __init__(self) -> None:
        self.state = IncursionState()

    def observe(self, fixes: FixBatch, world: World) -> list[Finding]:
        cfg, geo = world.config, world.geo
        out: list[Finding] = []
        zones = geo.zones_of_kind(*cfg.get(self.kind, "kinds"))
        if not zones or not len(fixes):
            return out
        region = np.flatnonzero(geo.in_region(fixes.lat, fixes.lon))
        if region.size == 0:
            return out
        for zone in zones:
            hit = region[geo.inside(zone, fixes.lat[region], fixes.lon[region])]
            if hit.size == 0:
                continue
            allow = cfg.allow.get(zone.id, {})
            ok_mmsi = _ints(cfg.get(self.kind, "allow_mmsi", places=[zone.id]))
            ok_mmsi |= _ints(allow.get("mmsi")) | _ints(zone.properties.get("allowed_mmsi"))
            ok_types = _ints(cfg.get(self.kind, "allow_ship_types", places=[zone.id]))
            ok_types |= _ints(allow.get("ship_types"))
            ok_types |= _ints(zone.properties.get("allowed_ship_types"))
            for k in hit.tolist():
                m = int(fixes.mmsi[k])
                st = world.ship_type(m)
                if m in ok_mmsi or (st is not None and st in ok_types):
                    continue
                tk = float(fixes.t[k])
                key = (m, zone.id)
                visit = self.state.inside.get(key)
                if visit is not None:
                    visit.last = max(visit.last, tk)
                    continue
                self.state.inside[key] = Visit(tk, tk)
                what = f"ship type {st}" if st is not None else "unknown ship type"
                out.append(
                    Finding(
                        kind=self.kind,
                        mmsi=(m,),
                        start=tk,
                        end=tk,
                        lat=float(fixes.lat[k]),
                        lon=float(fixes.lon[k]),
                        zone=zone.id,
                        why=(
                            f"MMSI {m:09d} ({what}) entered {zone.kind.value.replace('_', ' ')} "
                            f"{zone.name} at {float(fixes.sog[k]):.1f} kn; it is not on the "
                            "zone's allow-list"
                        ),
                        severity=str(cfg.get(self.kind, "severity")),
                        episode=f"{self.kind}:{m}:{zone.id}:{tk:.0f}",
                        positions=[
                            *evidence(world, m, tk - 600, tk - 0.001, 10),
                            (m, tk, float(fixes.lat[k]), float(fixes.lon[k]), float(fixes.sog[k])),
                        ],
                    )
                )
        return out

    def sweep(self, world: World, now: float) -> list[Finding]:
        gap = float(world.config.get(self.kind, "gap_s"))
        for key, v in list(self.state.inside.items()):
            if now - v.last > gap:
                del self.state.inside[key]
        return []


@dataclass
class Over:
    since: float
    last: float
    max_sog: float
    fixes: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    alerted: bool = False


@dataclass
class SpeedingState:
    over: dict[tuple[int, str], Over] = field(default_factory=dict)


class Speeding(Detector):
    kind = "speeding"

    def __init__(self) -> None:
        self.state = SpeedingState()

    def observe(self, fixes: FixBatch, world: World) -> list[Finding]:
        cfg, geo = world.config, world.geo
        out: list[Finding] = []
        zones = [z for z in geo.zones if z.speed_limit_kn is not None]
        if not zones or not len(fixes):
            return out
        region = np.flatnonzero(geo.in_region(fixes.lat, fixes.lon) & (fixes.sog < 102.2))
        exempt = set(cfg.get(self.kind, "exempt_ship_types"))
        for zone in zones:
            idx = region[geo.inside(zone, fixes.lat[region], fixes.lon[region])]
            if idx.size == 0:
                continue
            assert zone.speed_limit_kn is not None
            tol = float(cfg.get(self.kind, "tolerance", places=[zone.id]))
            limit = zone.speed_limit_kn * (1 + tol)
            min_dur = float(cfg.get(self.kind, "min_duration_s", places=[zone.id]))
            for k in idx.tolist():
                m = int(fixes.mmsi[k])
                key = (m, zone.id)
                s = float(fixes.sog[k])
                tk = float(fixes.t[k])
                if s <= limit or world.ship_type(m) in exempt:
                    ep = self.state.over.get(key)
                    if ep is not None and not ep.alerted:
                        del self.state.over[key]
                    continue
                fix = (m, tk, float(fixes.lat[k]), float(fixes.lon[k]), s)
                ep = self.state.over.get(key)
                if ep is None:
                    self.state.over[key] = Over(tk, tk, s, [fix])
                    continue
                ep.last, ep.max_sog = max(ep.last, tk), max(ep.max_sog, s)
                if len(ep.fixes) < 50:
                    ep.fixes.append(fix)
                if ep.alerted or ep.last - ep.since < min_dur:
                    continue
                ep.alerted = True
                out.append(
                    Finding(
                        kind=self.kind,
                        mmsi=(m,),
                        start=ep.since,
                        end=ep.last,
                        lat=fix[2],
                        lon=fix[3],
                        zone=zone.id,
                        why=(
                            f"MMSI {m:09d} sailed at up to {ep.max_sog:.1f} kn for "
                            f"{ep.last - ep.since:.0f} s in {zone.name}, where the limit is "
                            f"{zone.speed_limit_kn:g} kn"
                        ),
                        severity=str(cfg.get(self.kind, "severity")),
                        episode=f"{self.kind}:{m}:{zone.id}:{ep.since:.0f}",
                        positions=list(ep.fixes),
                        extra={"limit_kn": zone.speed_limit_kn, "max_sog_kn": ep.max_sog},
                    )
                )
        return out

    def sweep(self, world: World, now: float) -> list[Finding]:
        gap = float(world.config.get(self.kind, "gap_s"))
        for key, ep in list(self.state.over.items()):
            if now - ep.last > gap:
                del self.state.over[key]
        return []
