"""Vessels and tracks in memory: the registry (static data), the current picture, recent history.

This module owns the in-memory state the detectors read. ``Picture`` holds one row per vessel
(the latest fix) as numpy columns, so that sweeps over 50,000 vessels are array operations.
``Registry`` holds static and voyage data per MMSI. ``RecentHistory`` keeps the fixes of the last
``window_s`` seconds as the batches they came in, for evidence and recent tracks; the long history
is the store's (``portguard.maritime.store``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from portguard.maritime.decode import FixBatch, StaticReport

__all__ = ["Picture", "RecentHistory", "Registry", "VesselInfo", "group_starts"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Ship types (ITU-R M.1371 table 53) that serve the port: pilots, tugs, authorities, SAR.
SERVICE_SHIP_TYPES: Final = frozenset({31, 32, 50, 51, 52, 53, 54, 55, 58})

_FLOAT_COLS: Final = ("t", "lat", "lon", "sog", "cog", "t_first")
_INT_COLS: Final = ("mmsi", "heading", "status", "n", "ship_type", "msg_type")


def group_starts(sorted_keys: I64) -> I64:
    """Start index of each run of equal values in a sorted array."""
    if sorted_keys.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return np.concatenate((np.zeros(1, dtype=np.int64), change))


@dataclass(slots=True)
class VesselInfo:
    mmsi: int
    name: str | None = None
    imo: int | None = None
    callsign: str | None = None
    ship_type: int | None = None
    length_m: int | None = None
    beam_m: int | None = None
    destination: str | None = None
    eta: str | None = None
    draught: float | None = None
    static_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Registry:
    """Static and voyage data per MMSI (types 5, 19, 24), latest value per field wins."""

    def __init__(self) -> None:
        self.vessels: dict[int, VesselInfo] = {}
        self.changed: set[int] = set()

    def get(self, mmsi: int) -> VesselInfo | None:
        return self.vessels.get(mmsi)

    def update(self, rep: StaticReport) -> VesselInfo:
        info = self.vessels.get(rep.mmsi)
        if info is None:
            info = self.vessels[rep.mmsi] = VesselInfo(rep.mmsi)
        for key in ("name", "imo", "callsign", "ship_type", "destination", "eta", "draught"):
            value = getattr(rep, key)
            if value is not None:
                setattr(info, key, value)
        if rep.to_bow is not None and rep.to_stern is not None and rep.to_bow + rep.to_stern:
            info.length_m = rep.to_bow + rep.to_stern
        if rep.to_port is not None and rep.to_starboard is not None:
            info.beam_m = (rep.to_port + rep.to_starboard) or info.beam_m
        if rep.t is not None:
            info.static_at = rep.t
        self.changed.add(rep.mmsi)
        return info


class Picture:
    """The latest fix of every vessel, one row each, as numpy columns (grown by doubling)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.index: dict[int, int] = {}
        #: The index as sorted arrays (MMSI, row), for lookups of a whole batch at once.
        self._keys = np.zeros(0, dtype=np.int64)
        self._rows = np.zeros(0, dtype=np.int64)
        self._types: dict[int, int] = {}
        self.size = 0
        self._cap = capacity
        self.cols: dict[str, Any] = {}
        for c in _FLOAT_COLS:
            self.cols[c] = np.full(capacity, np.nan, dtype=np.float64)
        for c in _INT_COLS:
            self.cols[c] = np.zeros(capacity, dtype=np.int64)
        self.cols["ship_type"][:] = -1
        #: Typical interval between reports (s): exponentially weighted.
        self.cols["interval"] = np.full(capacity, np.nan, dtype=np.float64)

    def __len__(self) -> int:
        return self.size

    def col(self, name: str) -> Any:
        return self.cols[name][: self.size]

    def row(self, mmsi: int) -> int | None:
        return self.index.get(mmsi)

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = self._cap
        while cap < need:
            cap *= 2
        for name, arr in self.cols.items():
            fill = -1 if name == "ship_type" else (0 if arr.dtype == np.int64 else np.nan)
            new = np.full(cap, fill, dtype=arr.dtype)
            new[: self._cap] = arr
            self.cols[name] = new
        self._cap = cap

    def lookup(self, mmsis: I64) -> I64:
        """Row of each MMSI, -1 for vessels not in the picture (vectorised)."""
        keys = self._keys
        if keys.size == 0:
            return np.full(mmsis.shape[0], -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(keys, mmsis), keys.size - 1)
        found: I64 = np.where(keys[pos] == mmsis, self._rows[pos], -1)
        return found

    def rows_for(self, mmsis: I64) -> I64:
        """Row of each MMSI, creating rows for new vessels."""
        index = self.index
        out = self.lookup(mmsis)
        new = np.flatnonzero(out < 0)
        if new.size == 0:
            return out
        ms = mmsis.tolist()
        first_new = self.size
        for k in new.tolist():
            m = ms[k]
            r = index.get(m)  # the same new MMSI twice in one call
            if r is None:
                r = self.size
                if r >= self._cap:
                    self._grow(r + 1)
                index[m] = r
                self.cols["mmsi"][r] = m
                self.cols["ship_type"][r] = self._types.pop(m, -1)
                self.size += 1
            out[k] = r
        added = np.arange(first_new, self.size, dtype=np.int64)
        add_keys = self.cols["mmsi"][added]
        order = np.argsort(add_keys)
        at = np.searchsorted(self._keys, add_keys[order])
        self._keys = np.insert(self._keys, at, add_keys[order])
        self._rows = np.insert(self._rows, at, added[order])
        return out

    def update(self, fixes: FixBatch, starts: I64) -> I64:
        """Apply fixes sorted by (mmsi, t) with group ``starts``; returns the vessels' rows."""
        ends = np.append(starts[1:], len(fixes)) - 1
        last = fixes.take(ends)
        rows = self.rows_for(last.mmsi)
        c = self.cols
        counts = ends - starts + 1
        prev_t = c["t"][rows]
        fresh = np.isnan(prev_t)
        c["t_first"][rows[fresh]] = fixes.t[starts[fresh]]
        span = last.t - np.where(fresh, fixes.t[starts], prev_t)
        n_int = np.where(fresh, counts - 1, counts)
        ok = n_int > 0
        mean = np.divide(span, n_int, out=np.full(span.shape, np.nan), where=ok)
        old = c["interval"][rows]
        c["interval"][rows] = np.where(
            ok, np.where(np.isnan(old), mean, 0.7 * old + 0.3 * mean), old
        )
        for name in ("t", "lat", "lon", "sog", "cog", "heading", "status", "msg_type"):
            c[name][rows] = getattr(last, name)
        c["n"][rows] += counts
        return rows

    def set_ship_type(self, mmsi: int, ship_type: int) -> None:
        r = self.index.get(mmsi)
        if r is not None:
            self.cols["ship_type"][r] = ship_type
        else:  # statics before the first fix: applied when the row is made
            self._types[mmsi] = ship_type

    def forget(self, older_than: float) -> int:
        """Drop vessels not heard since ``older_than``; returns how many."""
        keep = ~(self.col("t") < older_than)
        dropped = int(self.size - keep.sum())
        if not dropped:
            return 0
        for arr in self.cols.values():
            kept = arr[: self.size][keep]
            arr[: kept.shape[0]] = kept
        self.size = int(keep.sum())
        self.index = {int(m): i for i, m in enumerate(self.col("mmsi").tolist())}
        order = np.argsort(self.col("mmsi"))
        self._keys = self.col("mmsi")[order].copy()
        self._rows = order.astype(np.int64)
        return dropped

    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self.cols.values())


class RecentHistory:
    """Fixes of the last ``window_s`` seconds, kept as the batches they came in."""

    def __init__(self, window_s: float = 3 * 3600.0) -> None:
        self.window_s = window_s
        self._chunks: deque[FixBatch] = deque()

    def add(self, fixes: FixBatch) -> None:
        if len(fixes):
            self._chunks.append(fixes)

    def trim(self, now: float) -> None:
        cutoff = now - self.window_s
        while self._chunks and float(np.nanmax(self._chunks[0].t)) < cutoff:
            self._chunks.popleft()

    def track(self, mmsi: int, start: float | None = None, end: float | None = None) -> FixBatch:
        """This vessel's fixes in [start, end], in time order."""
        parts = []
        for chunk in self._chunks:
            mask = chunk.mmsi == mmsi
            if start is not None:
                mask &= chunk.t >= start
            if end is not None:
                mask &= chunk.t <= end
            if mask.any():
                parts.append(chunk.take(mask))
        out = FixBatch.concat(parts)
        order = np.argsort(out.t, kind="stable")
        return out.take(order)

    def __len__(self) -> int:
        return sum(len(c) for c in self._chunks)

    def nbytes(self) -> int:
        return sum(sum(int(getattr(c, n).nbytes) for n in c.__slots__) for c in self._chunks)
