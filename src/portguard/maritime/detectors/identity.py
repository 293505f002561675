"""Identity detectors: invalid MMSIs, and one MMSI in two places (conflict) or jumping (teleport).

``InvalidIdentity``: an MMSI outside the ITU-R M.585 classes, with an unallocated MID, a
non-vessel station number sending position reports, or a dummy value; one finding per MMSI.

``IdentityConflict``: a jump is a fix further from the previous one than the ship type could
sail in the time between (plus a slack for receive-time uncertainty) and longer than
``min_jump_m``. When the MMSI later reports from the old place again, two transmitters share it:
``identity_conflict``. A jump not followed by a return within ``confirm_s`` is a ``teleport``.
Dummy MMSIs are left to ``InvalidIdentity`` (many transmitters share them by definition).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portguard.maritime.decode import FixBatch
from portguard.maritime.detectors.base import Detector, Finding, haversine_m
from portguard.maritime.identity import check_mmsi, plain_ship_numbers
from portguard.maritime.tracks import group_starts
from portguard.maritime.world import World

__all__ = ["IdentityConflict", "InvalidIdentity"]

Fix = tuple[float, float, float]  # t, lat, lon


@dataclass
class InvalidIdentityState:
    #: MMSI -> None when valid, else the time it was reported.
    seen: dict[int, float | None] = field(default_factory=dict)


class InvalidIdentity(Detector):
    kind = "invalid_identity"

    def __init__(self) -> None:
        self.state = InvalidIdentityState()
        #: The MMSIs of ``state.seen`` as a sorted array (a cache for batch lookups).
        self._known = np.zeros(0, dtype=np.int64)

    def observe(self, fixes: FixBatch, world: World) -> list[Finding]:
        seen = self.state.seen
        if self._known.size != len(seen):  # state set from outside: rebuild the cache
            self._known = np.sort(np.fromiter(seen, dtype=np.int64, count=len(seen)))
        known = self._known
        starts = group_starts(fixes.mmsi)
        out: list[Finding] = []
        firsts = fixes.mmsi[starts]
        if known.size:
            pos = np.minimum(np.searchsorted(known, firsts), known.size - 1)
            new = starts[known[pos] != firsts]
        else:
            new = starts
        if new.size == 0:
            return out
        added = fixes.mmsi[new]  # sorted, unique
        self._known = np.insert(known, np.searchsorted(known, added), added)
        dummies = frozenset(int(x) for x in world.config.get(self.kind, "dummies"))
        plain = plain_ship_numbers(added, dummies)
        seen.update(dict.fromkeys(added[plain].tolist()))
        for s in new[~plain].tolist():
            m = int(fixes.mmsi[s])
            check = check_mmsi(m, dummies=dummies)
            if check.valid:
                seen[m] = None
                continue
            t = float(fixes.t[s])
            seen[m] = t
            rows = np.flatnonzero(fixes.mmsi == m)[:10]
            out.append(
                Finding(
                    kind=self.kind,
                    mmsi=(m,),
                    start=t,
                    end=float(fixes.t[rows[-1]]),
                    lat=float(fixes.lat[s]),
                    lon=float(fixes.lon[s]),
                    why=f"{check.problem}; a vessel transmitting it cannot be identified",
                    severity=str(world.config.get(self.kind, "severity")),
                    episode=f"{self.kind}:{m}",
                    positions=[
                        (
                            m,
                            float(fixes.t[r]),
                            float(fixes.lat[r]),
                            float(fixes.lon[r]),
                            float(fixes.sog[r]),
                        )
                        for r in rows.tolist()
                    ],
                    extra={"number_class": check.number_class.value, "mid": check.mid},
                )
            )
        return out


@dataclass
class Jump:
    before: Fix
    after: Fix
    conflict_at: float | None = None
    last_alternation: float = 0.0
    hops: int = 1


@dataclass
class IdentityConflictState:
    jumps: dict[int, Jump] = field(default_factory=dict)
    #: MMSIs already reported as in conflict, with the time.
    reported: dict[int, float] = field(default_factory=dict)


class IdentityConflict(Detector):
    kind = "identity_conflict"

    def __init__(self) -> None:
        self.state = IdentityConflictState()

    def _vmax(self, world: World, ship_type: int) -> float:
        by_type = world.config.get(self.kind, "max_speed_kn_by_type")
        default = float(world.config.get(self.kind, "max_speed_kn"))
        if ship_type < 0:
            return default
        return float(by_type.get(str(ship_type // 10), default))

    def observe(self, fixes: FixBatch, world: World) -> list[Finding]:
        n = len(fixes)
        if n == 0:
            return []
        cfg = world.config
        slack = float(cfg.get(self.kind, "time_slack_s"))
        min_jump = float(cfg.get(self.kind, "min_jump_m"))
        vmax_default = float(cfg.get(self.kind, "max_speed_kn"))
        pic = world.picture
        # Previous fix of each row: the row before in the same vessel, or the picture's.
        plat = np.empty(n)
        plon = np.empty(n)
        pt = np.empty(n)
        plat[1:], plon[1:], pt[1:] = fixes.lat[:-1], fixes.lon[:-1], fixes.t[:-1]
        starts = group_starts(fixes.mmsi)
        prow = pic.lookup(fixes.mmsi[starts])
        have = prow >= 0
        prow[~have] = 0
        plat[starts] = np.where(have, pic.cols["lat"][prow], np.nan)
        plon[starts] = np.where(have, pic.cols["lon"][prow], np.nan)
        pt[starts] = np.where(have, pic.cols["t"][prow], np.nan)
        d = haversine_m(plat, plon, fixes.lat, fixes.lon)
        dt = np.abs(fixes.t - pt) + slack
        jump = (d > min_jump) & (d > vmax_default * 0.5144 * dt)
        suspects = set(fixes.mmsi[jump].tolist()) | (
            set(self.state.jumps) & set(fixes.mmsi[starts].tolist())
        )
        suspects -= {int(x) for x in cfg.get("invalid_identity", "dummies")}
        out: list[Finding] = []
        if not suspects:
            return out
        ends = np.append(starts[1:], n)
        hit = np.isin(fixes.mmsi[starts], np.fromiter(suspects, dtype=np.int64))
        for s, e in zip(starts[hit].tolist(), ends[hit].tolist(), strict=True):
            m = int(fixes.mmsi[s])
            r = pic.row(m)
            vmax = self._vmax(world, int(pic.cols["ship_type"][r]) if r is not None else -1)
            prev: Fix | None = None
            if r is not None and not np.isnan(pic.cols["t"][r]):
                prev = (
                    float(pic.cols["t"][r]),
                    float(pic.cols["lat"][r]),
                    float(pic.cols["lon"][r]),
                )
            for k in range(s, e):
                fix = (float(fixes.t[k]), float(fixes.lat[k]), float(fixes.lon[k]))
                if prev is not None and not self._possible(prev, fix, vmax, slack, min_jump):
                    found = self._jump(m, prev, fix, vmax, slack, min_jump, world)
                    if found is not None:
                        out.append(found)
                prev = fix
        return out

    @staticmethod
    def _possible(a: Fix, b: Fix, vmax_kn: float, slack: float, min_jump: float) -> bool:
        d = float(haversine_m(a[1], a[2], b[1], b[2]))
        return d <= min_jump or d <= vmax_kn * 0.5144 * (abs(b[0] - a[0]) + slack)

    def _jump(
        self, m: int, prev: Fix, fix: Fix, vmax: float, slack: float, min_jump: float, w: World
    ) -> Finding | None:
        jumps = self.state.jumps
        j = jumps.get(m)
        if j is not None and self._possible(j.before, fix, vmax, slack, min_jump):
            # Back at the old place: two transmitters share this MMSI.
            # Back at the old place. Once is a single bad fix (a glitch); going back and forth
            # again means two transmitters share this MMSI.
            j.hops += 1
            j.last_alternation = fix[0]
            j.before, j.after = prev, fix
            if j.hops < 4 or j.conflict_at is not None:
                return None
            j.conflict_at = fix[0]
            return self._report(m, j, w, conflict=True)
        if j is not None and j.hops >= 2:
            j.hops += 1
            j.before, j.after, j.last_alternation = prev, fix, fix[0]
            if j.hops >= 4 and j.conflict_at is None:
                j.conflict_at = fix[0]
                return self._report(m, j, w, conflict=True)
            return None
        jumps[m] = Jump(before=prev, after=fix, last_alternation=fix[0])
        if j is not None:  # a second jump that does not go back: the first was a teleport
            jumps[m].hops = j.hops + 1
            return self._report(m, j, w, conflict=False)
        return None

    def _report(self, m: int, j: Jump, w: World, *, conflict: bool) -> Finding | None:
        """One finding per MMSI per ``confirm_s``: later jumps belong to the same episode."""
        confirm = float(w.config.get(self.kind, "confirm_s"))
        last = self.state.reported.get(m)
        self.state.reported[m] = j.after[0]
        if last is not None and j.after[0] - last < confirm:
            return None
        return self._finding(m, j, w, conflict=conflict)

    def _finding(self, m: int, j: Jump, w: World, *, conflict: bool) -> Finding:
        d = float(haversine_m(j.before[1], j.before[2], j.after[1], j.after[2]))
        dt = abs(j.after[0] - j.before[0])
        speed = d / max(dt, 1.0) / 0.5144
        kind = "identity_conflict" if conflict else "teleport"
        if not conflict and j.hops >= 2:
            why = (
                f"MMSI {m:09d} reported one fix {d / 1000:.1f} km away from its track and came "
                f"straight back ({speed:.0f} kn implied): a corrupted or spoofed position"
            )
        elif conflict:
            why = (
                f"MMSI {m:09d} reports from two places {d / 1000:.1f} km apart, alternating "
                f"({j.hops} jumps); {dt:.0f} s between fixes implies {speed:.0f} kn: two "
                "transmitters share this identity (spoofing or a cloned transponder)"
            )
        else:
            why = (
                f"MMSI {m:09d} jumped {d / 1000:.1f} km in {dt:.0f} s (implied {speed:.0f} kn, "
                "impossible for a vessel) and went on from the new place: a spoofed or faulty "
                "position"
            )
        return Finding(
            kind=kind,
            mmsi=(m,),
            start=min(j.before[0], j.after[0]),
            end=max(j.before[0], j.after[0]),
            lat=j.after[1],
            lon=j.after[2],
            why=why,
            severity=str(w.config.get(self.kind, "severity")),
            episode=f"{kind}:{m}:{j.before[0]:.0f}",
            positions=[
                (m, j.before[0], j.before[1], j.before[2], float("nan")),
                (m, j.after[0], j.after[1], j.after[2], float("nan")),
            ],
            extra={"distance_m": round(d), "interval_s": round(dt, 1)},
        )

    def sweep(self, world: World, now: float) -> list[Finding]:
        confirm = float(world.config.get(self.kind, "confirm_s"))
        return self._settle(world, lambda j: now - j.last_alternation > confirm)

    def finish(self, world: World, now: float) -> list[Finding]:
        return self._settle(world, lambda j: True)

    def _settle(self, world: World, due: object) -> list[Finding]:
        out: list[Finding] = []
        assert callable(due)
        for m, j in list(self.state.jumps.items()):
            if not due(j):
                continue
            del self.state.jumps[m]
            if j.conflict_at is None:
                found = self._report(m, j, world, conflict=False)
                if found is not None:
                    out.append(found)
        return out
