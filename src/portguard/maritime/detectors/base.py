"""The detector interface and the shape of a finding.

A detector is a small class with explicit state (a dataclass in ``state``, persistable with
``dataclasses.asdict``) and up to three hooks, all pure (no I/O; they read the ``World`` and their
own state, and return findings):

* ``observe(fixes, world)``: a batch of valid fixes, sorted by (MMSI, time), *before* the picture
  is updated (so ``world.picture`` still holds each vessel's previous fix);
* ``sweep(world, now)``: periodic, over the current picture (vectorised);
* ``finish(world, now)``: end of a replay: settle what is still open.

Each finding is one *episode* (``episode`` is its stable key), never one per message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from portguard.maritime.decode import FixBatch
from portguard.maritime.world import World

__all__ = ["Detector", "Finding", "evidence", "haversine_m"]


@dataclass(slots=True)
class Finding:
    kind: str
    mmsi: tuple[int, ...]
    start: float
    end: float
    lat: float
    lon: float
    why: str
    severity: str
    episode: str
    zone: str | None = None
    asset: str | None = None
    #: Evidence fixes: (mmsi, t, lat, lon, sog).
    positions: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Detector:
    kind: ClassVar[str] = ""
    state: Any

    def observe(self, fixes: FixBatch, world: World) -> list[Finding]:
        return []

    def sweep(self, world: World, now: float) -> list[Finding]:
        return []

    def finish(self, world: World, now: float) -> list[Finding]:
        return []


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in metres (numpy arrays or floats)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def evidence(
    world: World, mmsi: int, start: float, end: float, limit: int = 50
) -> list[tuple[int, float, float, float, float]]:
    """This vessel's fixes in [start, end] from recent history (thinned to ``limit``)."""
    tr = world.history.track(mmsi, start, end)
    n = len(tr)
    if n == 0:
        return []
    idx = np.unique(np.linspace(0, n - 1, min(n, limit)).astype(np.int64))
    return [
        (mmsi, float(tr.t[i]), float(tr.lat[i]), float(tr.lon[i]), float(tr.sog[i]))
        for i in idx.tolist()
    ]
