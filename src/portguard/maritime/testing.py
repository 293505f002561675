"""Test helpers: NMEA sentences made with pyais' encoder, and the scenario with injected anomalies.

``position_lines``/``static_lines`` build real AIVDM sentences (with an NMEA 4.0 tag block when
given a time); ``scenario()`` builds one hour off Antwerp with one anomaly of each kind and the
look-alike decoys that must stay silent (a pilot boat idling at a lock, a tug alongside a ship).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import reduce
from operator import xor
from typing import Any

from pyais.encode import encode_dict

__all__ = ["Scenario", "position_lines", "scenario", "static_lines", "tag"]

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()


def tag(line: str, t: float | None, source: str = "pg-test") -> str:
    """Prefix an NMEA 4.0 tag block with receive time ``c:`` and source ``s:``."""
    if t is None:
        return line
    body = f"s:{source},c:{int(t)}"
    return f"\\{body}*{reduce(xor, body.encode(), 0):02X}\\{line}"


def position_lines(
    mmsi: int,
    lat: float,
    lon: float,
    *,
    sog: float = 0.0,
    cog: float = 0.0,
    t: float | None = None,
    msg_type: int = 1,
    status: int = 0,
) -> list[str]:
    data: dict[str, Any] = {"type": msg_type, "mmsi": mmsi, "lat": lat, "lon": lon,
                            "speed": sog, "course": cog, "heading": int(cog) % 360}  # fmt: skip
    if msg_type in (1, 2, 3):
        data["status"] = status
    if t is not None:
        data["second"] = int(t) % 60
    return [
        tag(s, t) for s in encode_dict(data, radio_channel="A", talker_id="AI", sentence_type="VDM")
    ]


def static_lines(
    mmsi: int, *, name: str, ship_type: int, imo: int = 0, t: float | None = None, seq: int = 1
) -> list[str]:
    data: dict[str, Any] = {
        "type": 5,
        "mmsi": mmsi,
        "shipname": name,
        "ship_type": ship_type,
        "imo": imo,
        "callsign": "PG" + str(mmsi)[-4:],
        "to_bow": 50,
        "to_stern": 50,
        "to_port": 10,
        "to_starboard": 10,
        "destination": "ANTWERP",
    }
    sentences = encode_dict(
        data, radio_channel="A", talker_id="AI", sentence_type="VDM", seq_id=seq
    )
    return [tag(s, t) for s in sentences]


def move(lat: float, lon: float, sog: float, cog: float, seconds: float) -> tuple[float, float]:
    d = sog * 0.5144 * seconds
    dlat = d * math.cos(math.radians(cog)) / 111_132.0
    dlon = d * math.sin(math.radians(cog)) / (111_320.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


@dataclass
class Scenario:
    lines: list[str] = field(default_factory=list)
    #: (kind, mmsis) expected exactly once each.
    expected: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    decoys: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def scenario(minutes: int = 60, step_s: int = 10) -> Scenario:
    """One hour in the Scheldt with one anomaly of each kind, plus decoys (see module doc)."""
    sc = Scenario()
    ships: dict[int, tuple[str, int]] = {
        123456789: ("DUMMY", 70), 244000001: ("TWIN", 70), 244000002: ("JUMPER", 70),
        244000003: ("DARK", 70), 244000004: ("IDLER", 37), 244000005: ("FISHER", 30),
        244000006: ("BOXER", 70), 244000007: ("INTRUDER", 37), 244000008: ("RACER", 70),
        244000009: ("PILOT 9", 50), 244000010: ("TUG 10", 52), 244000011: ("CARGO 11", 70),
    }  # fmt: skip
    # (lat, lon, sog, cog) now, per vessel; advanced every step.
    state: dict[int, list[float]] = {
        123456789: [51.400, 3.800, 8.0, 90.0],
        244000001: [51.400, 3.950, 8.0, 90.0],
        244000002: [51.300, 4.310, 6.0, 0.0],
        244000003: [51.378, 3.905, 10.0, 45.0],  # Westerschelde fairway
        244000004: [51.3418, 4.2856, 0.1, 270.0],  # ~220 m south of Berendrecht lock
        244000005: [51.420, 3.750, 0.5, 45.0],
        244000006: [51.4212, 3.7512, 0.5, 45.0],  # ~150 m from 244000005
        244000007: [51.3010, 4.2700, 4.0, 90.0],  # heads east through the exclusion zone
        244000008: [51.4396, 4.0040, 22.0, 112.0],  # Westerschelde, limit 16 kn
        244000009: [51.3488, 4.2856, 0.1, 90.0],  # pilot idling north of Zandvliet lock
        244000010: [51.390, 4.050, 1.0, 90.0],
        244000011: [51.3903, 4.050, 1.0, 90.0],  # tug alongside: ~35 m
    }
    twin_b = [51.300, 4.330, 5.0, 180.0]
    steps = minutes * 60 // step_s
    seq = 0
    for k in range(steps + 1):
        t = T0 + k * step_s
        if k % 36 == 0:  # statics every 6 minutes
            for m, (name, st) in ships.items():
                seq = seq % 9 + 1
                sc.lines += static_lines(m, name=name, ship_type=st, imo=9_000_000 + m % 1000,
                                         t=t, seq=seq)  # fmt: skip
        for m, s in state.items():
            if m == 244000003 and k * step_s > 15 * 60:
                continue  # goes dark after 15 minutes
            if m == 244000008 and k * step_s == 6 * 60:
                s[2] = 12.0  # 6 minutes of speeding, then within the limit
            if m == 244000002 and k * step_s == 20 * 60:
                s[0], s[1] = 51.410, 3.700  # teleport ~45 km west, then sails on
            lat, lon, sog, cog = s
            if m == 244000001 and k % 2 == 1:
                lat, lon, sog, cog = twin_b  # a second transmitter with the same MMSI
            sc.lines += position_lines(m, round(lat, 6), round(lon, 6), sog=sog, cog=cog, t=t)
            s[0], s[1] = move(s[0], s[1], s[2], s[3], step_s)
        twin_b[0], twin_b[1] = move(twin_b[0], twin_b[1], twin_b[2], twin_b[3], 2 * step_s)
    sc.expected = [
        ("invalid_identity", (123456789,)),
        ("identity_conflict", (244000001,)),
        ("teleport", (244000002,)),
        ("going_dark", (244000003,)),
        ("loitering", (244000004,)),
        ("rendezvous", (244000005, 244000006)),
        ("zone_incursion", (244000007,)),
        ("speeding", (244000008,)),
    ]
    sc.decoys = {"pilot at a lock": (244000009,), "tug alongside": (244000010, 244000011)}
    return sc
