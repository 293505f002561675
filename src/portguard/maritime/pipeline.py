"""The maritime pipeline: lines in, findings out. Read, validate, decode, track, detect.

This module owns the order of work on a batch of lines and the feed clock:

1. ``Assembler`` parses and checks the batch (tag blocks, checksums, fragments);
2. ``decode_payloads`` turns payloads into fixes (numpy columns) and static reports;
3. receive times: the tag block's ``c:`` or the source's clock; when a replayed file has neither,
   the feed clock follows the UTC time base stations (type 4) announce (median per batch,
   never backwards) and each fix is placed within ±30 s of it by the UTC second the vessel
   stamped on its report. With no base station either, the clock advances ``fallback_rate``
   lines per second from ``start``;
4. fixes with "not available" (91/181), null-island (0, 0) or out-of-range positions are counted
   and dropped: PortGuard never tracks on them;
5. detectors ``observe`` the batch, the picture, recent history and store take it, and every
   ``sweep_interval_s`` of feed time the detectors ``sweep``. A detector that raises is logged
   and counted; the others and intake carry on.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from portguard.maritime.config import MaritimeConfig
from portguard.maritime.decode import FixBatch, decode_payloads
from portguard.maritime.detectors import ALL_DETECTORS, Detector, Finding
from portguard.maritime.nmea import Assembler, IntakeStats
from portguard.maritime.tracks import Picture, RecentHistory, Registry, group_starts
from portguard.maritime.world import PortGeo, World
from portguard.portmodel import PortModel

__all__ = ["Pipeline"]

log = logging.getLogger(__name__)

#: Base-station clocks further than this from the feed clock are ignored (badly set stations).
_MAX_CLOCK_JUMP_S = 86_400.0


class Pipeline:
    """One feed's processing state. Not thread-safe: one intake thread feeds it."""

    def __init__(
        self,
        port_model: PortModel,
        config: MaritimeConfig | None = None,
        *,
        start: float | None = None,
        fallback_rate: float = 500.0,
        sink: Callable[[FixBatch], None] | None = None,
        history_window_s: float = 3 * 3600.0,
    ) -> None:
        self.config = config or MaritimeConfig()
        self.stats = IntakeStats()
        self.assembler = Assembler(self.stats)
        self.picture = Picture()
        self.registry = Registry()
        self.history = RecentHistory(history_window_s)
        self.geo = PortGeo(port_model, margin_deg=self.config.region_margin_deg)
        self.world = World(
            self.geo,
            self.config,
            self.picture,
            self.registry,
            self.history,
            {f.id: f.security_level or 1 for f in port_model.facilities()},
        )
        self.detectors: dict[str, Detector] = {
            name: ALL_DETECTORS[name]() for name in self.config.enabled
        }
        self.detector_errors: Counter[str] = Counter()
        self.findings: Counter[str] = Counter()
        self.sink = sink
        self.fallback_rate = fallback_rate
        self.clock = float(start) if start is not None else time.time()
        self._anchored = False
        self._last_sweep: float | None = None

    # -- feeding ---------------------------------------------------------------------------

    def feed(
        self, lines: Sequence[bytes], times: Sequence[float | None] | None = None
    ) -> list[Finding]:
        """Process a batch of raw lines (receive times optional); returns new findings."""
        payloads = self.assembler.feed(lines, times)
        need_clock = any(t is None for t in payloads.times)
        decoded = decode_payloads(payloads, self.stats, need_clock=need_clock)
        fixes = decoded.fixes
        self._advance_clock(fixes, decoded.base_station_times, len(lines))
        for rep in decoded.statics:
            info = self.registry.update(rep)
            if info.ship_type is not None:
                self.picture.set_ship_type(rep.mmsi, info.ship_type)
        out: list[Finding] = []
        if len(fixes):
            fixes = self._valid(fixes)
        step = self.config.sweep_interval_s
        if len(fixes) and (
            self._last_sweep is None or float(np.max(fixes.t)) - self._last_sweep > 1000 * step
        ):
            # First fixes, or a jump of the clock: start sweeping from here.
            self._last_sweep = float(np.min(fixes.t))
        if self._last_sweep is None:
            return out
        if len(fixes) and float(np.max(fixes.t)) - self._last_sweep >= step:
            # A batch spanning several sweep intervals (a big replay batch): process it in
            # time slices with a sweep between them, as if it had come in smaller batches.
            order = np.argsort(fixes.t, kind="stable")
            fixes = fixes.take(order)
            bounds = np.arange(self._last_sweep + step, float(fixes.t[-1]) + step, step)
            cuts = np.searchsorted(fixes.t, bounds, side="left")
            begin = 0
            for cut, when in zip(cuts.tolist(), bounds.tolist(), strict=True):
                if cut > begin:
                    out += self._track(fixes.take(slice(begin, cut)))
                    begin = cut
                if when <= self.clock:
                    out += self.sweep(when)
            out += self._track(fixes.take(slice(begin, len(fixes))))
        else:
            out += self._track(fixes)
        if self.clock - self._last_sweep >= step:
            out += self.sweep()
        return out

    def _track(self, fixes: FixBatch) -> list[Finding]:
        out: list[Finding] = []
        if len(fixes):
            order = np.lexsort((fixes.t, fixes.mmsi))
            fixes = fixes.take(order)
            for name, det in self.detectors.items():
                out += self._run(name, det.observe, fixes, self.world)
            self.picture.update(fixes, group_starts(fixes.mmsi))
            self.history.add(fixes)
            if self.sink is not None:
                self.sink(fixes)
        return out

    def sweep(self, at: float | None = None) -> list[Finding]:
        """Run every detector's sweep at feed time ``at`` (default: the feed clock)."""
        now = self.clock if at is None else at
        self._last_sweep = now
        out: list[Finding] = []
        for name, det in self.detectors.items():
            out += self._run(name, det.sweep, self.world, now)
        self.history.trim(now)
        self.picture.forget(now - self.config.forget_after_s)
        return out

    def finish(self) -> list[Finding]:
        """End of a replay: a last sweep, then let detectors settle open episodes."""
        self.assembler.flush()
        out = self.sweep()
        for name, det in self.detectors.items():
            out += self._run(name, det.finish, self.world, self.clock)
        return out

    def set_levels(self, levels: dict[str, int]) -> None:
        """ISPS security levels in force (facility id -> 1..3)."""
        self.world.levels.update(levels)

    # -- internals ---------------------------------------------------------------------------

    def _run(self, name: str, hook: Callable[..., list[Finding]], *args: Any) -> list[Finding]:
        try:
            found = hook(*args)
        except Exception as exc:  # isolation: one broken detector stops nothing else
            self.detector_errors[name] += 1
            self.stats.detector_errors += 1
            log.error("maritime detector %s failed: %s", name, type(exc).__name__)
            log.debug("maritime detector %s failed", name, exc_info=True)
            return []
        for f in found:
            self.findings[f.kind] += 1
        return found

    def _advance_clock(self, fixes: FixBatch, base_times: list[float], n_lines: int) -> None:
        known = fixes.t[~np.isnan(fixes.t)] if len(fixes) else fixes.t
        if known.size:
            latest = float(known.max())
            self.clock = max(self.clock, latest) if self._anchored else latest
            self._anchored = True
        elif base_times:
            med = float(np.median(base_times))
            if not self._anchored or abs(med - self.clock) < _MAX_CLOCK_JUMP_S:
                self.clock = med if not self._anchored else max(self.clock, med)
                self._anchored = True
        elif n_lines and self.fallback_rate > 0:
            self.clock += n_lines / self.fallback_rate
        missing = np.isnan(fixes.t)
        if missing.any():
            now = self.clock
            sec = fixes.second[missing]
            base = math.floor(now)
            offset = ((sec - (base % 60) + 30) % 60) - 30
            fixes.t[missing] = np.where(sec < 60, base + offset, now)

    def _valid(self, fixes: FixBatch) -> FixBatch:
        lat, lon = fixes.lat, fixes.lon
        na = (lat == 91.0) | (lon == 181.0)
        null = (lat == 0.0) & (lon == 0.0)
        out = ~na & ((np.abs(lat) > 90.0) | (np.abs(lon) > 180.0))
        bad = na | null | out
        st = self.stats
        st.positions += len(fixes)
        st.positions_not_available += int(na.sum())
        st.positions_null_island += int(null.sum())
        st.positions_out_of_range += int(out.sum())
        return fixes if not bad.any() else fixes.take(~bad)

    # -- reading -----------------------------------------------------------------------------

    def memory_bytes(self) -> int:
        return self.picture.nbytes() + self.history.nbytes()
