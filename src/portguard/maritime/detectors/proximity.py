"""Proximity detectors: loitering at critical infrastructure, and ship-to-ship rendezvous.

``Loitering``: slower than ``max_sog_kn`` within ``radius_m`` of a lock, bridge, jetty or pipeline
crossing for longer than ``threshold_s``; not inside the lock chamber itself (a lockage), not
within ``berth_radius_m`` of a berth, not a service craft (pilot, tug, authority, SAR) or an
allow-listed MMSI. The nearest asset names the episode.

``Rendezvous``: two vessels within ``radius_m`` of each other, both slower than ``max_sog_kn``,
for longer than ``threshold_s``, outside anchorages and away from berths, neither of them a
service craft (tugs and pilots come alongside all day). Pairs come from a KD-tree on the local
metric plane (scipy ``cKDTree.query_pairs``). GFW uses 500 m / 2 h / < 2 kn on the high seas;
the port defaults are shorter and every value is configurable per zone and ISPS level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from portguard.maritime.detectors.base import Detector, Finding, evidence, haversine_m
from portguard.maritime.world import World

__all__ = ["Loitering", "Rendezvous"]

#: A fix older than this is not "now" for proximity questions.
STALE_S = 600.0


def _exempt(world: World, mmsi: int, types: list[int], mmsis: list[int]) -> bool:
    if mmsi in mmsis:
        return True
    st = world.ship_type(mmsi)
    return st is not None and st in types


@dataclass
class LoiterState:
    #: (mmsi, asset id) -> first fix time of the episode.
    since: dict[tuple[int, str], float] = field(default_factory=dict)
    alerted: set[tuple[int, str]] = field(default_factory=set)


class Loitering(Detector):
    kind = "loitering"

    def __init__(self) -> None:
        self.state = LoiterState()

    def sweep(self, world: World, now: float) -> list[Finding]:
        pic, cfg, geo = world.picture, world.config, world.geo
        lat, lon, t, sog = pic.col("lat"), pic.col("lon"), pic.col("t"), pic.col("sog")
        max_sog = float(cfg.get(self.kind, "max_sog_kn"))
        cand = np.flatnonzero(geo.in_region(lat, lon) & (now - t < STALE_S) & (sog <= max_sog))
        seen: set[tuple[int, str]] = set()
        out: list[Finding] = []
        if cand.size:
            x, y = geo.xy(lat[cand], lon[cand])
            radius = max(
                [float(cfg.get(self.kind, "radius_m", level=lv)) for lv in (1, 2, 3)]
                + [
                    float(o[self.kind]["radius_m"])
                    for o in cfg.zones.values()
                    if "radius_m" in o.get(self.kind, {})
                ]
            )
            pi, feats, fi, dists = geo.near_dist(x, y, cfg.get(self.kind, "asset_kinds"), radius)
            berth_r = float(cfg.get(self.kind, "berth_radius_m"))
            at_berth = np.zeros(cand.size, dtype=bool)
            at_berth[geo.near(x, y, ["berth"], berth_r)[0]] = True
            in_lock = np.zeros(cand.size, dtype=bool)
            for z in geo.zones_of_kind("lock"):
                in_lock |= geo.inside(z, lat[cand], lon[cand])
            types = list(cfg.get(self.kind, "exempt_ship_types"))
            mmsis = list(cfg.get(self.kind, "exempt_mmsi"))
            # Nearest asset per vessel; skip vessels at a berth or in a lock chamber (a lockage,
            # which the lock operators see).
            keep = ~(at_berth[pi] | in_lock[pi])
            pi, fi, dists = pi[keep], fi[keep], dists[keep]
            order = np.lexsort((dists, pi))
            pi, fi, dists = pi[order], fi[order], dists[order]
            first = np.ones(pi.size, dtype=bool)
            first[1:] = pi[1:] != pi[:-1]
            best = {
                int(p): (float(d), int(f))
                for p, f, d in zip(
                    pi[first].tolist(), fi[first].tolist(), dists[first].tolist(), strict=True
                )
            }
            for p, (dist, f) in best.items():
                r = int(cand[p])
                m = int(pic.cols["mmsi"][r])
                la, lo = float(lat[r]), float(lon[r])
                if _exempt(world, m, types, mmsis):
                    continue
                asset = feats[f]
                around = geo.places_of(asset)
                places = [asset.id] + [z.id for z in around]
                level = world.level_at(around)
                if dist > float(cfg.get(self.kind, "radius_m", places=places, level=level)):
                    continue
                if float(sog[r]) > float(
                    cfg.get(self.kind, "max_sog_kn", places=places, level=level)
                ):
                    continue
                key = (m, asset.id)
                seen.add(key)
                since = self.state.since.setdefault(key, float(t[r]))
                thr = float(cfg.get(self.kind, "threshold_s", places=places, level=level))
                if key in self.state.alerted or float(t[r]) - since < thr:
                    continue
                self.state.alerted.add(key)
                dur = float(t[r]) - since
                out.append(
                    Finding(
                        kind=self.kind,
                        mmsi=(m,),
                        start=since,
                        end=float(t[r]),
                        lat=la,
                        lon=lo,
                        asset=asset.id,
                        zone=next((z.id for z in geo.places(la, lo) if z.is_zone), None),
                        why=(
                            f"MMSI {m:09d} stayed below {max_sog:g} kn for {dur / 60:.0f} min "
                            f"within {dist:.0f} m of {asset.kind.value} {asset.name} "
                            f"(threshold {thr / 60:.0f} min at ISPS level {level}), not at a "
                            "berth and not a pilot, tug or authority vessel"
                        ),
                        severity=str(cfg.get(self.kind, "severity")),
                        episode=f"{self.kind}:{m}:{asset.id}:{since:.0f}",
                        positions=evidence(world, m, since, float(t[r])),
                        extra={"distance_m": round(dist), "duration_s": round(dur)},
                    )
                )
        for key in list(self.state.since):
            if key not in seen:
                del self.state.since[key]
                self.state.alerted.discard(key)
        return out


@dataclass
class RendezvousState:
    """Open meetings as sorted arrays (pair key = low MMSI << 30 | high MMSI), so a sweep over
    hundreds of thousands of close pairs stays vectorised."""

    keys: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    since: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    last: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    alerted: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


class Rendezvous(Detector):
    kind = "rendezvous"

    def __init__(self) -> None:
        self.state = RendezvousState()

    def sweep(self, world: World, now: float) -> list[Finding]:
        pic, cfg, geo = world.picture, world.config, world.geo
        lat, lon, t, sog = pic.col("lat"), pic.col("lon"), pic.col("t"), pic.col("sog")
        mmsi = pic.col("mmsi")
        types = list(cfg.get(self.kind, "exempt_ship_types"))
        cand = np.flatnonzero(
            geo.in_region(lat, lon)
            & (now - t < STALE_S)
            & (sog <= float(cfg.get(self.kind, "max_sog_kn")))
            & ~np.isin(pic.col("ship_type"), types)  # tugs and pilots come alongside all day
        )
        out: list[Finding] = []
        st = self.state
        keys = np.zeros(0, dtype=np.int64)
        when = np.zeros(0)
        pa = pb = np.zeros(0, dtype=np.int64)
        if cand.size >= 2:
            for zone in geo.zones_of_kind("anchorage"):
                cand = cand[~geo.inside(zone, lat[cand], lon[cand])]
        if cand.size >= 2:
            x, y = geo.xy(lat[cand], lon[cand])
            at_berth = geo.near(x, y, ["berth"], float(cfg.get(self.kind, "berth_radius_m")))[0]
            keep = np.ones(cand.size, dtype=bool)
            keep[at_berth] = False
            cand, x, y = cand[keep], x[keep], y[keep]
        if cand.size >= 2:
            # Candidates in MMSI order: query_pairs gives i < j, so the low MMSI comes first
            # and a pair's key is mmsi[i] << 30 | mmsi[j] (MMSIs are unique in the picture).
            order = np.argsort(mmsi[cand])
            cand, x, y = cand[order], x[order], y[order]
            radius = float(cfg.get(self.kind, "radius_m"))
            tree = cKDTree(np.column_stack((x, y)), balanced_tree=False, compact_nodes=False)
            pairs = tree.query_pairs(r=radius, output_type="ndarray")
            cm = mmsi[cand]
            keys = (cm[pairs[:, 0]] << 30) | cm[pairs[:, 1]]
            order = np.argsort(keys)
            keys = keys[order]
            pa, pb = cand[pairs[order, 0]], cand[pairs[order, 1]]
            when = np.maximum(t[pa], t[pb])
        # Join with the open meetings (both key arrays sorted).
        n_old = st.keys.size
        if n_old:
            idx = np.searchsorted(st.keys, keys)
            idx_c = np.minimum(idx, n_old - 1)
            known = st.keys[idx_c] == keys
            since = np.where(known, st.since[idx_c], when)
            alerted = np.where(known, st.alerted[idx_c], False)
            matched = np.zeros(n_old, dtype=bool)
            matched[idx_c[known]] = True
        else:
            since, alerted = when.copy(), np.zeros(keys.size, dtype=bool)
            matched = np.zeros(0, dtype=bool)
        min_thr = min(
            [float(cfg.get(self.kind, "threshold_s", level=lv)) for lv in (1, 2, 3)]
            + [
                float(o[self.kind]["threshold_s"])
                for o in cfg.zones.values()
                if "threshold_s" in o.get(self.kind, {})
            ]
        )
        due = np.flatnonzero(~alerted & (when - since >= min_thr))
        for k in due.tolist():
            found = self._check(world, int(pa[k]), int(pb[k]), float(since[k]), float(when[k]))
            if found is not None:
                alerted[k] = True
                out.append(found)
        # New state: this sweep's pairs, plus unseen ones still within the gap, merged in order.
        gap = float(cfg.get(self.kind, "gap_s"))
        gone = np.flatnonzero(~matched & (now - st.last <= gap))
        if gone.size:
            at = np.searchsorted(keys, st.keys[gone])
            st.keys = np.insert(keys, at, st.keys[gone])
            st.since = np.insert(since, at, st.since[gone])
            st.last = np.insert(when, at, st.last[gone])
            st.alerted = np.insert(alerted, at, st.alerted[gone])
        else:
            st.keys, st.since, st.last, st.alerted = keys, since, when, alerted
        return out

    def _check(self, world: World, ra: int, rb: int, since: float, last: float) -> Finding | None:
        pic, cfg, geo = world.picture, world.config, world.geo
        c = pic.cols
        ma, mb = int(c["mmsi"][ra]), int(c["mmsi"][rb])
        key = (min(ma, mb), max(ma, mb))
        la = (float(c["lat"][ra]) + float(c["lat"][rb])) / 2
        lo = (float(c["lon"][ra]) + float(c["lon"][rb])) / 2
        places = geo.places(la, lo)
        level = world.level_at(places)
        ids = [p.id for p in places]
        thr = float(cfg.get(self.kind, "threshold_s", places=ids, level=level))
        if last - since < thr:
            return None
        radius = float(cfg.get(self.kind, "radius_m"))
        d = float(haversine_m(c["lat"][ra], c["lon"][ra], c["lat"][rb], c["lon"][rb]))
        dur = last - since
        return Finding(
            kind=self.kind,
            mmsi=key,
            start=since,
            end=last,
            lat=la,
            lon=lo,
            zone=next((p.id for p in places if p.is_zone), None),
            why=(
                f"MMSI {key[0]:09d} and {key[1]:09d} stayed within {radius:.0f} m of each other "
                f"(now {d:.0f} m), both below {float(cfg.get(self.kind, 'max_sog_kn')):g} kn, "
                f"for {dur / 60:.0f} min (threshold {thr / 60:.0f} min at ISPS level {level}), "
                "outside anchorages and berths: a ship-to-ship transfer"
            ),
            severity=str(cfg.get(self.kind, "severity")),
            episode=f"{self.kind}:{key[0]}:{key[1]}:{since:.0f}",
            positions=evidence(world, key[0], since, last, 25)
            + evidence(world, key[1], since, last, 25),
            extra={"distance_m": round(d), "duration_s": round(dur)},
        )
