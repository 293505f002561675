"""Vectorised sweeps against brute force: the rendezvous pairs and state across sweeps, and the
grid prefilter of "near an asset"."""

from __future__ import annotations

import numpy as np
import shapely

from portguard.maritime import Pipeline
from portguard.maritime.decode import FixBatch
from portguard.maritime.detectors import Rendezvous
from portguard.portmodel import builtin_port_model

T0 = 1_767_225_600.0


def _fleet(n: int, seed: int, t: float) -> FixBatch:
    rng = np.random.default_rng(seed)
    ints = np.zeros(n, dtype=np.int64)
    return FixBatch(
        mmsi=np.arange(244_000_000, 244_000_000 + n, dtype=np.int64)[rng.permutation(n)],
        t=np.full(n, t), lat=rng.uniform(51.22, 51.46, n), lon=rng.uniform(3.5, 4.42, n),
        sog=rng.uniform(0, 4, n), cog=ints * 1.0, heading=ints, status=ints, msg_type=ints + 1,
        second=ints,
    )  # fmt: skip


def _brute_pairs(p: Pipeline, now: float) -> set[int]:
    pic, geo, cfg = p.picture, p.geo, p.config
    lat, lon, t, sog = pic.col("lat"), pic.col("lon"), pic.col("t"), pic.col("sog")
    ok = geo.in_region(lat, lon) & (now - t < 600) & (sog <= 2.0)
    ok &= ~np.isin(pic.col("ship_type"), cfg.get("rendezvous", "exempt_ship_types"))
    for z in geo.zones_of_kind("anchorage"):
        ok &= ~geo.inside(z, lat, lon)
    x, y = geo.xy(lat, lon)
    tree, _ = geo._tree(["berth"])
    d = shapely.distance(shapely.points(x, y)[:, None], tree.geometries[None, :]).min(axis=1)
    ok &= ~(d <= 300.0)
    idx = np.flatnonzero(ok)
    dx = x[idx, None] - x[None, idx]
    dy = y[idx, None] - y[None, idx]
    close = np.argwhere(np.triu(np.hypot(dx, dy) <= 500.0, k=1))
    m = pic.col("mmsi")
    a, b = m[idx[close[:, 0]]], m[idx[close[:, 1]]]
    return set(((np.minimum(a, b) << 30) | np.maximum(a, b)).tolist())


def test_rendezvous_state_matches_brute_force_over_sweeps() -> None:
    p = Pipeline(builtin_port_model(), start=T0)
    det = p.detectors["rendezvous"]
    assert isinstance(det, Rendezvous)
    p._track(_fleet(3000, 1, T0))
    det.sweep(p.world, T0 + 5)
    first = _brute_pairs(p, T0 + 5)
    assert len(first) > 100
    assert det.state.keys.tolist() == sorted(first)
    assert np.all(det.state.since == T0)
    # The vessels move (same MMSIs, new places): continuing pairs keep their start, pairs no
    # longer close stay within the gap, new ones start now.
    p._track(_fleet(3000, 2, T0 + 60))
    det.sweep(p.world, T0 + 65)
    second = _brute_pairs(p, T0 + 65)
    assert det.state.keys.tolist() == sorted(first | second)
    since = dict(zip(det.state.keys.tolist(), det.state.since.tolist(), strict=True))
    assert all(since[k] == T0 for k in first)
    assert all(since[k] == T0 + 60 for k in second - first)
    # Beyond the gap, pairs not seen again are dropped.
    det.sweep(p.world, T0 + 60 + 700)
    assert det.state.keys.size == 0  # every fix is stale by then


def test_near_with_grid_prefilter_matches_the_plain_query() -> None:
    p = Pipeline(builtin_port_model(), start=T0)
    geo = p.geo
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(51.2, 51.5, 20_000), rng.uniform(3.4, 4.5, 20_000)
    x, y = geo.xy(lat, lon)
    for kinds, r in ((["lock", "bridge", "jetty", "pipeline_crossing"], 300.0), (["berth"], 150.0)):
        pi, _, fi = geo.near(x, y, kinds, r)
        tree, _ = geo._tree(kinds)
        ref = tree.query(shapely.points(x, y), predicate="dwithin", distance=r)
        assert sorted(zip(pi.tolist(), fi.tolist(), strict=True)) == sorted(
            zip(ref[0].tolist(), ref[1].tolist(), strict=True)
        )
        assert pi.size > 0
