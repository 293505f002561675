"""Going dark: a vessel that reported at its normal rate inside the port's coverage falls silent.

A vessel is *covered* when its last fix lies in a port area, fairway, dock or anchorage of the
port model. It goes dark when it had sent at least ``min_reports`` fixes at a typical interval
of at most ``max_normal_interval_s``, and then nothing for longer than both ``threshold_s``
(minutes, for a port: the 12 h of satellite-based studies would miss a night-time landing) and
``min_missed_reports`` typical intervals. Moored and anchored vessels (navigational status 5, 1)
report every 3 minutes and may legitimately switch off: ignored. The episode ends when the vessel
reports again; where it reappears is kept in the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portguard.maritime.detectors.base import Detector, Finding, evidence, haversine_m
from portguard.maritime.world import World

__all__ = ["GoingDark"]

COVERAGE_KINDS = ("port_area", "fairway", "dock", "anchorage")


@dataclass
class Dark:
    last_t: float
    lat: float
    lon: float
    reappeared_at: float | None = None
    reappeared_km: float | None = None


@dataclass
class GoingDarkState:
    dark: dict[int, Dark] = field(default_factory=dict)


class GoingDark(Detector):
    kind = "going_dark"

    def __init__(self) -> None:
        self.state = GoingDarkState()

    def sweep(self, world: World, now: float) -> list[Finding]:
        pic, cfg, geo = world.picture, world.config, world.geo
        t = pic.col("t")
        mmsi = pic.col("mmsi")
        # Episodes end when the vessel is heard again.
        for m, d in list(self.state.dark.items()):
            r = pic.row(m)
            if r is not None and pic.cols["t"][r] > d.last_t:
                d.reappeared_at = float(pic.cols["t"][r])
                d.reappeared_km = float(
                    haversine_m(d.lat, d.lon, pic.cols["lat"][r], pic.cols["lon"][r]) / 1000
                )
                del self.state.dark[m]
        lat, lon = pic.col("lat"), pic.col("lon")
        base_thr = float(cfg.get(self.kind, "threshold_s"))
        min_thr = min(
            [base_thr] + [float(cfg.get(self.kind, "threshold_s", level=lv)) for lv in (2, 3)]
        )
        cand = (
            geo.in_region(lat, lon)
            & (now - t > min_thr)
            & (pic.col("n") >= int(cfg.get(self.kind, "min_reports")))
            & (pic.col("interval") <= float(cfg.get(self.kind, "max_normal_interval_s")))
            & ~np.isin(pic.col("status"), list(cfg.get(self.kind, "ignore_status")))
        )
        idx = np.flatnonzero(cand)
        if idx.size == 0:
            return []
        covered = np.zeros(idx.size, dtype=bool)
        for zone in geo.zones_of_kind(*COVERAGE_KINDS):
            covered |= geo.inside(zone, lat[idx], lon[idx])
        out: list[Finding] = []
        for r in idx[covered].tolist():
            m = int(mmsi[r])
            if m in self.state.dark:
                continue
            places = geo.places(float(lat[r]), float(lon[r]))
            ids = [p.id for p in places]
            level = world.level_at(places)
            thr = float(cfg.get(self.kind, "threshold_s", places=ids, level=level))
            interval = float(pic.cols["interval"][r])
            missed = int(cfg.get(self.kind, "min_missed_reports", places=ids, level=level))
            silence = now - float(t[r])
            if silence <= max(thr, missed * interval):
                continue
            self.state.dark[m] = Dark(float(t[r]), float(lat[r]), float(lon[r]))
            zone_id = places[0].id if places else None
            out.append(
                Finding(
                    kind=self.kind,
                    mmsi=(m,),
                    start=float(t[r]),
                    end=now,
                    lat=float(lat[r]),
                    lon=float(lon[r]),
                    zone=zone_id,
                    why=(
                        f"MMSI {m:09d} reported every {interval:.0f} s on average inside the "
                        f"port's coverage ({zone_id}), then fell silent for {silence / 60:.0f} min "
                        f"(threshold {thr / 60:.0f} min at ISPS level {level}): AIS switched off "
                        "or the vessel left coverage where it should not"
                    ),
                    severity=str(cfg.get(self.kind, "severity")),
                    episode=f"{self.kind}:{m}:{float(t[r]):.0f}",
                    positions=evidence(world, m, float(t[r]) - 1800, float(t[r])),
                    extra={"silence_s": round(silence), "typical_interval_s": round(interval, 1)},
                )
            )
        return out
