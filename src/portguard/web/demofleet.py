"""A moving fleet for the demo and the console benchmark: vessels that stay on the water of the
port model (fairways, docks, anchorages), reported as real AIS sentences into a
``MaritimeWatch``, so everything downstream (picture, tracks, detectors, the console's stream)
runs as with a live receiver.

Two sources: ``Fleet.generated(model, n)`` (no data needed) or ``Fleet.from_positions_csv(path,
model)``, real positions (e.g. the AISHub Scheldt extract in ``../shared/data/ais``), re-timed to
now with their positions kept, then moving on by dead reckoning. A small craft idles next to
Berendrecht lock (the demo's hybrid attack). ``FleetFeeder`` reports the fleet every few seconds
from a thread.
"""

from __future__ import annotations

import csv
import math
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.ops import unary_union

from portguard.maritime.service import MaritimeWatch
from portguard.maritime.testing import position_lines, static_lines
from portguard.portmodel import PortModel
from portguard.portmodel.kinds import FeatureKind

__all__ = ["LOITERER_MMSI", "Fleet", "FleetFeeder", "Ship", "demo_fleet", "static_sentences"]

#: The craft that idles next to Berendrecht lock in the demo's hybrid attack.
LOITERER_MMSI = 205123456
_WATER = (FeatureKind.FAIRWAY, FeatureKind.DOCK, FeatureKind.ANCHORAGE)
_KN = 1852.0 / 3600.0  # m/s per knot
_NAMES = (
    "SCHELDE TRADER", "ANTWERPEN EXPRESS", "NORDIC STAR", "MAERSK ELBA", "MSC LUCIA",
    "CMA CGM RHONE", "LILLO SPIRIT", "ZEEBRUGGE PILOT", "BRABO", "STELLA MARIS", "WAASLAND",
    "BATH", "DOEL",
    "FLANDRIA", "NORTH SEA TANKER", "EVER GIVEN", "KALLO", "TUG ANTWERP 7", "RHINE BARGE",
    "POLDER QUEEN", "SEAGULL", "ESCAUT", "HANSA", "BERENDRECHT", "BLUE HERON",
)  # fmt: skip
_BUSY = ("fairway-zeeschelde", "deurganckdok")
_TYPES = (70, 70, 70, 70, 79, 80, 80, 84, 60, 52, 52, 50, 31, 37, 30)
_FLAGS = (205, 244, 211, 636, 538, 351, 219, 232)


@dataclass
class Ship:
    mmsi: int
    name: str
    ship_type: int
    lat: float
    lon: float
    sog: float  # knots
    cog: float  # degrees
    moored: bool = False
    #: Where a replayed ship was really seen: it sails back and forth within ``leash_m`` of it
    #: (the port model does not draw every basin, so the shoreline cannot guide it there).
    origin: tuple[float, float] | None = None
    leash_m: float = 1500.0


class Fleet:
    """Ships and the water they may sail; ``step(dt)`` moves them (turning back at the shore)."""

    def __init__(self, ships: list[Ship], model: PortModel, *, seed: int = 7) -> None:
        self.ships = ships
        self.rng = random.Random(seed)  # noqa: S311 (a simulation, not secrets)
        water = [f for f in model if f.kind in _WATER]
        self.water = unary_union([f.geometry for f in water]) if water else None
        if self.water is not None:
            shapely.prepare(self.water)
        # Most of the traffic where the console looks first: the Antwerp side of the Scheldt.
        busy = [f.geometry for f in water if f.id in _BUSY]
        self.busy = unary_union(busy) if busy else None
        if self.busy is not None:
            shapely.prepare(self.busy)

    @classmethod
    def generated(cls, model: PortModel, n: int = 150, *, seed: int = 7) -> Fleet:
        """``n`` vessels on the port's water (a third moored), plus the loitering craft."""
        rng = random.Random(seed)  # noqa: S311 (a simulation, not secrets)
        fleet = cls([], model, seed=seed)
        if fleet.water is None:
            return fleet
        busy = int(n * 0.7) if fleet.busy is not None else 0
        points = fleet._sample(fleet.busy, busy, rng) + fleet._sample(fleet.water, n - busy, rng)
        used: set[int] = {LOITERER_MMSI}
        for i, (lon, lat) in enumerate(points):
            mmsi = LOITERER_MMSI
            while mmsi in used:
                mmsi = rng.choice(_FLAGS) * 1_000_000 + rng.randrange(100_000, 999_999)
            used.add(mmsi)
            moored = rng.random() < 0.33
            st = rng.choice(_TYPES)
            fleet.ships.append(
                Ship(
                    mmsi=mmsi,
                    name=f"{rng.choice(_NAMES)} {i % 97}".strip(),
                    ship_type=st,
                    lat=lat,
                    lon=lon,
                    sog=0.0 if moored else rng.uniform(3.0, 14.0 if st < 60 or st >= 70 else 9.0),
                    cog=rng.uniform(0, 360),
                    moored=moored,
                )
            )
        fleet.add_loiterer(model)
        return fleet

    def add_loiterer(self, model: PortModel) -> None:
        """The small craft idling next to Berendrecht lock (the demo's hybrid attack)."""
        lock = model.get("berendrecht-lock")
        if lock is None or any(sh.mmsi == LOITERER_MMSI for sh in self.ships):
            return
        self.ships.append(
            Ship(
                LOITERER_MMSI,
                "NIGHT HERON",
                37,
                lock.lat + 0.0012,
                lock.lon - 0.0025,
                0.3,
                90.0,
                moored=True,
            )
        )

    @classmethod
    def from_positions_csv(cls, path: Path, model: PortModel, *, seed: int = 7) -> Fleet:
        """Real positions (columns mmsi, type, lat, lon, sog, cog, ...), latest per MMSI, re-timed
        to now: positions kept, names unknown until the vessels' own static reports."""
        latest: dict[int, Ship] = {}
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    mmsi = int(row["mmsi"])
                    lat, lon = float(row["lat"]), float(row["lon"])
                    sog = float(row.get("sog") or 0)
                    cog = float(row.get("cog") or 0)
                except (KeyError, ValueError):
                    continue
                if not (100_000_000 <= mmsi <= 999_999_999) or abs(lat) > 90 or abs(lon) > 180:
                    continue
                if sog > 60 or cog >= 360:
                    sog, cog = 0.0, 0.0
                latest[mmsi] = Ship(
                    mmsi, "", 0, lat, lon, sog, cog, moored=sog < 0.5, origin=(lat, lon)
                )
        return cls(list(latest.values()), model, seed=seed)

    @staticmethod
    def _sample(area: Any, n: int, rng: random.Random) -> list[tuple[float, float]]:
        if area is None or n <= 0:
            return []
        w, s, e, nn = area.bounds
        out: list[tuple[float, float]] = []
        tries = 0
        while len(out) < n and tries < n * 400:
            k = max(64, (n - len(out)) * 8)
            xs = np.array([rng.uniform(w, e) for _ in range(k)])
            ys = np.array([rng.uniform(s, nn) for _ in range(k)])
            inside = shapely.contains_xy(area, xs, ys)
            out += list(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
            tries += k
        return out[:n]

    def step(self, dt: float) -> None:
        """Move every sailing ship ``dt`` seconds; a ship about to leave the water turns."""
        for sh in self.ships:
            if sh.moored or sh.sog <= 0:
                continue
            dist = sh.sog * _KN * dt
            for _ in range(6):
                a = math.radians(sh.cog)
                dlat = dist * math.cos(a) / 111_320.0
                dlon = dist * math.sin(a) / (111_320.0 * math.cos(math.radians(sh.lat)))
                lat, lon = sh.lat + dlat, sh.lon + dlon
                if sh.origin is not None:
                    away = math.hypot(
                        (lat - sh.origin[0]) * 111_320.0,
                        (lon - sh.origin[1]) * 111_320.0 * math.cos(math.radians(lat)),
                    )
                    ok = away <= sh.leash_m
                else:
                    ok = self.water is None or bool(shapely.contains_xy(self.water, lon, lat))
                if ok:
                    sh.lat, sh.lon = lat, lon
                    break
                sh.cog = (sh.cog + 180 + self.rng.uniform(-50, 50)) % 360
            if sh.origin is None:
                sh.cog = (sh.cog + self.rng.uniform(-2, 2)) % 360

    def position_lines(self, t: float) -> list[bytes]:
        out: list[bytes] = []
        for sh in self.ships:
            for line in position_lines(
                sh.mmsi,
                round(sh.lat, 6),
                round(sh.lon, 6),
                sog=round(sh.sog, 1),
                cog=round(sh.cog, 1),
                t=t,
                status=5 if sh.moored and sh.ship_type != 37 else 0,
            ):
                out.append(line.encode())
        return out

    def static_lines(self, t: float) -> list[bytes]:
        out: list[bytes] = []
        for sh in self.ships:
            if not sh.name:
                continue
            for line in static_lines(sh.mmsi, name=sh.name, ship_type=sh.ship_type, t=t):
                out.append(line.encode())
        return out


def static_sentences(path: Path) -> list[bytes]:
    """The static and voyage reports (types 5 and 24: names, types, destinations) of an NMEA
    file, both fragments of each, so a replayed fleet is known by its real names."""
    out: list[bytes] = []
    keep_next: str | None = None
    with path.open("rb") as fh:
        for raw in fh:
            line = raw.strip()
            body = line[line.rfind(b"\\") + 1 :] if line.startswith(b"\\") else line
            f = body.split(b",")
            if len(f) < 7 or not f[0].endswith((b"VDM", b"VDO")):
                continue
            total, num, seq, payload = f[1], f[2], f[3].decode(errors="replace"), f[5]
            if keep_next is not None and num == b"2" and seq == keep_next:
                out.append(body)
                keep_next = None
                continue
            keep_next = None
            if total == b"2" and num == b"1" and payload[:1] == b"5":
                out.append(body)
                keep_next = seq
            elif total == b"1" and payload[:1] == b"H":
                out.append(body)
    return out


def demo_fleet(
    model: PortModel, *, ais_dir: Path | None = None, n: int = 150
) -> tuple[Fleet, list[bytes]]:
    """The demo's fleet and the sentences to send first: real AIS from ``ais_dir`` when it has
    the AISHub extract (positions re-timed to now, real names from the static reports), else a
    generated fleet of ``n``. The loitering craft of the hybrid attack is in both."""
    if ais_dir is not None:
        positions = ais_dir / "aishub-2012-03-14-scheldt-positions.csv"
        nmea = ais_dir / "aishub-2012-03-14.nmea"
        if positions.is_file():
            fleet = Fleet.from_positions_csv(positions, model)
            fleet.add_loiterer(model)
            return fleet, static_sentences(nmea) if nmea.is_file() else []
    return Fleet.generated(model, n), []


class FleetFeeder:
    """Reports ``fleet`` into ``watch`` every ``interval_s`` (static data every ~minute) from a
    daemon thread, until ``stop()``."""

    def __init__(
        self,
        fleet: Fleet,
        watch: MaritimeWatch,
        *,
        interval_s: float = 3.0,
        preamble: list[bytes] | None = None,
    ) -> None:
        self.fleet = fleet
        self.watch = watch
        self.interval_s = interval_s
        self.preamble = preamble or []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self, now: float | None = None, *, statics: bool = False) -> int:
        t = time.time() if now is None else now
        lines = self.fleet.static_lines(t) if statics else []
        lines += self.fleet.position_lines(t)
        self.watch.submit(lines, [t] * len(lines))
        return len(lines)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-fleet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        if self.preamble:
            self.watch.submit(self.preamble, [time.time()] * len(self.preamble))
        n = 0
        last = time.monotonic()
        while True:
            now = time.monotonic()
            self.fleet.step(now - last)
            last = now
            self.tick(statics=n % 20 == 0)
            n += 1
            if self._stop.wait(self.interval_s):
                return
