"""Routes of the maritime domain: vessels in an area, a vessel with its track, alerts, stats.

Reads need ``alerts:read`` (vessel positions are operational data of the same sensitivity as the
alerts built on them). The runtime state is ``ctx.extras["maritime"]`` (a ``MaritimeWatch``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query

from portguard.core.auth import Permission
from portguard.core.errors import NotFoundError, ValidationError
from portguard.core.http import Ctx, Principal, newest_alerts, require
from portguard.core.types import Alert
from portguard.maritime.schemas import VesselRead, track_geojson
from portguard.maritime.service import MaritimeWatch

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/maritime", tags=["maritime"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]


def _watch(ctx: Ctx) -> MaritimeWatch:
    watch = ctx.extras.get("maritime")
    if not isinstance(watch, MaritimeWatch):
        raise NotFoundError("the maritime watch is not running in this instance")
    return watch


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        w, s, e, n = (float(x) for x in text.split(","))
    except ValueError:
        raise ValidationError("bbox must be west,south,east,north", location="bbox") from None
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise ValidationError("bbox out of range or inverted", location="bbox")
    return w, s, e, n


def _mmsi(text: str) -> int:
    if not (text.isdigit() and len(text) <= 10):
        raise ValidationError("MMSI must be a number of up to 9 digits", location="mmsi")
    return int(text)


def _fix(watch: MaritimeWatch, row: int) -> dict[str, Any]:
    c = watch.pipeline.picture.cols
    return {
        k: (c[k][row].item()) for k in ("t", "lat", "lon", "sog", "cog", "heading", "status", "n")
    }


@router.get("/vessels", response_model=list[VesselRead])
def vessels(
    ctx: Ctx,
    principal: Reader,
    bbox: Annotated[str | None, Query(description="west,south,east,north")] = None,
    since_minutes: Annotated[float, Query(gt=0, le=10_080)] = 60,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 5_000,
) -> list[VesselRead]:
    """The current picture: vessels heard in the last ``since_minutes``, in ``bbox``."""
    watch = _watch(ctx)
    box = _bbox(bbox)
    with watch.lock:
        pic = watch.pipeline.picture
        lat, lon, t = pic.col("lat"), pic.col("lon"), pic.col("t")
        mask = t >= watch.pipeline.clock - since_minutes * 60
        if box is not None:
            w, s, e, n = box
            mask &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        rows = np.flatnonzero(mask)[:limit].tolist()
        reg = watch.pipeline.registry
        out = []
        for r in rows:
            m = int(pic.cols["mmsi"][r])
            info = reg.get(m)
            out.append(VesselRead.of(m, info.as_dict() if info else None, _fix(watch, r)))
    return out


@router.get("/vessels/{mmsi}")
def vessel(
    mmsi: str,
    ctx: Ctx,
    principal: Reader,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> dict[str, Any]:
    """A vessel's registry data, latest fix and track (GeoJSON Feature) in [start, end]."""
    watch = _watch(ctx)
    m = _mmsi(mmsi)
    t0 = start.timestamp() if start else None
    t1 = end.timestamp() if end else None
    with watch.lock:
        pic = watch.pipeline.picture
        r = pic.row(m)
        info = watch.pipeline.registry.get(m)
        fix = _fix(watch, r) if r is not None else None
        recent = watch.pipeline.history.track(m, t0, t1)
    if watch.store is not None:  # the store sees its own unwritten fixes
        rows = watch.store.query(mmsi=m, start=t0, end=t1, limit=limit)
        points = [(p.t, p.lat, p.lon, p.sog, p.cog) for p in rows]
    else:
        points = list(
            zip(
                recent.t.tolist(),
                recent.lat.tolist(),
                recent.lon.tolist(),
                recent.sog.tolist(),
                recent.cog.tolist(),
                strict=True,
            )
        )[-limit:]
    if fix is None and info is None and not points:
        raise NotFoundError(f"no vessel with MMSI {m:09d} has been seen")
    read = VesselRead.of(m, info.as_dict() if info else None, fix)
    points = [p for p in points if not any(isinstance(v, float) and math.isinf(v) for v in p)]
    return {
        "vessel": read.model_dump(mode="json"),
        "track": track_geojson(m, points, {"name": read.name}),
    }


@router.get("/alerts")
def alerts(
    ctx: Ctx,
    principal: Reader,
    kind: str | None = None,
    mmsi: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> list[dict[str, Any]]:
    """Recent maritime alerts raised by this instance, newest first."""
    watch = _watch(ctx)
    want = f"mmsi:{_mmsi(mmsi):09d}" if mmsi else None

    def keep(a: Alert) -> bool:
        if kind and a.rule_id != f"maritime.{kind}":
            return False
        return not want or want in {e.key for e in a.entities}

    return newest_alerts(watch.alerts, keep=keep, limit=limit)


@router.get("/stats")
def stats(ctx: Ctx, principal: Reader) -> dict[str, Any]:
    """Intake counters: lines, bad checksums, fragments, drops, detector errors..."""
    return _watch(ctx).stats()
