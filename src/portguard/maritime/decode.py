"""AIS payloads → position fixes (numpy columns) and static vessel data.

This module owns decoding. Position reports of types 1, 2, 3 and 18 of the standard length
(168 bits, 28 characters, no fill bits), 90% of a real feed, go through a vectorised path that
decodes a whole batch with numpy; it is proven identical to pyais on every message of the AISHub
file (``bench/ais.py --verify``) and on generated messages (``tests/maritime/test_decode.py``).
Every other message goes through pyais' own decoder. Statics come from types 5, 19 and 24; base
station reports (type 4) give the feed's UTC clock when nothing else does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from pyais.bit_vector import bit_vector
from pyais.messages import MSG_CLASS

from portguard.maritime.nmea import IntakeStats, Payloads

__all__ = ["FIX_COLUMNS", "Decoded", "FixBatch", "StaticReport", "decode_payloads"]

log = logging.getLogger(__name__)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Status/heading/second "not available" values, as in ITU-R M.1371.
STATUS_UNDEFINED: Final = 15
POSITION_TYPES: Final = frozenset({1, 2, 3, 18, 19, 27})
FIX_COLUMNS: Final = ("mmsi", "t", "lat", "lon", "sog", "cog", "heading", "status", "msg_type")

_ARMOR = np.array(
    [(c - 48 - 8 if c - 48 > 40 else c - 48) if 48 <= c <= 119 else 0 for c in range(256)],
    dtype=np.uint8,
)
_VALID_ARMOR = np.array([48 <= c <= 87 or 96 <= c <= 119 for c in range(256)], dtype=bool)
_ARMOR_CHARS: Final = bytes(c for c in range(256) if _VALID_ARMOR[c])
#: Type 4 (base station report): (start bit, width) of year, month, day, hour, minute, second.
_TYPE4_TIME: Final = ((38, 14), (52, 4), (56, 5), (61, 5), (66, 6), (72, 6))
#: First payload character of the types decoded: positions, statics, base stations (clock).
_WANTED: Final = frozenset(b"12345BCHK")  # types 1-5, 18, 19, 24, 27


@dataclass(slots=True)
class FixBatch:
    """Position fixes as columns. ``t`` is NaN where the receive time is not known yet."""

    mmsi: I64
    t: F64
    lat: F64
    lon: F64
    sog: F64
    cog: F64
    heading: I64
    status: I64
    msg_type: I64
    #: Second of the UTC minute the vessel stamped on the report (60-63: not available).
    second: I64

    def __len__(self) -> int:
        return int(self.mmsi.shape[0])

    @classmethod
    def empty(cls) -> FixBatch:
        f = np.zeros(0, dtype=np.float64)
        i = np.zeros(0, dtype=np.int64)
        return cls(i, f, f, f, f, f, i, i, i, i)

    @classmethod
    def concat(cls, parts: Sequence[FixBatch]) -> FixBatch:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        names = ("mmsi", "t", "lat", "lon", "sog", "cog", "heading", "status", "msg_type")
        cols = {n: np.concatenate([getattr(p, n) for p in parts]) for n in names}
        cols["second"] = np.concatenate([p.second for p in parts])
        return cls(**cols)

    def take(self, index: Any) -> FixBatch:
        return FixBatch(
            self.mmsi[index],
            self.t[index],
            self.lat[index],
            self.lon[index],
            self.sog[index],
            self.cog[index],
            self.heading[index],
            self.status[index],
            self.msg_type[index],
            self.second[index],
        )


@dataclass(slots=True)
class StaticReport:
    """Static and voyage data (types 5, 19, 24); None where the message does not say."""

    mmsi: int
    t: float | None
    msg_type: int
    name: str | None = None
    imo: int | None = None
    callsign: str | None = None
    ship_type: int | None = None
    to_bow: int | None = None
    to_stern: int | None = None
    to_port: int | None = None
    to_starboard: int | None = None
    destination: str | None = None
    eta: str | None = None
    draught: float | None = None


@dataclass(slots=True)
class Decoded:
    fixes: FixBatch
    statics: list[StaticReport] = field(default_factory=list)
    #: UTC times (unix seconds) announced by base stations (type 4) in this batch.
    base_station_times: list[float] = field(default_factory=list)


def _bits(values: npt.NDArray[np.uint8], start: int, width: int, signed: bool = False) -> I64:
    """Bits [start, start+width) of each row of 6-bit values, as integers."""
    out = np.zeros(values.shape[0], dtype=np.int64)
    for bit in range(start, start + width):
        out = (out << 1) | ((values[:, bit // 6] >> (5 - bit % 6)) & 1)
    if signed:
        sign = np.int64(1) << (width - 1)
        out = (out ^ sign) - sign
    return out


def _latlon(raw: I64) -> F64:
    # pyais: ((10 * v + 3) // 6) / 1e6, integer floor division then one IEEE division.
    result: F64 = ((10 * raw + 3) // 6) / 1e6
    return result


def _fast(payloads: list[bytes], times: list[float | None]) -> FixBatch:
    n = len(payloads)
    raw = np.frombuffer(b"".join(payloads), dtype=np.uint8).reshape(n, 28)
    v = _ARMOR[raw]
    good = _VALID_ARMOR[raw].all(axis=1)
    msg_type = _bits(v, 0, 6)
    mmsi = _bits(v, 8, 30)
    b = msg_type == 18
    # Class A (1-3) and class B (18) share the layout from the speed on, shifted by 4 bits.
    status = np.where(b, STATUS_UNDEFINED, _bits(v, 38, 4))
    off = np.where(b, -4, 0)
    cols = []
    for start, width, signed in (
        (50, 10, False),
        (61, 28, True),
        (89, 27, True),
        (116, 12, False),
        (128, 9, False),
        (137, 6, False),
    ):
        a = _bits(v, start, width, signed)
        c = _bits(v, start - 4, width, signed)
        cols.append(np.where(off < 0, c, a))
    speed, lon, lat, course, heading, second = cols
    t = np.array([np.nan if x is None else x for x in times], dtype=np.float64)
    fixes = FixBatch(
        mmsi=mmsi,
        t=t,
        lat=_latlon(lat),
        lon=_latlon(lon),
        sog=speed / 10.0,
        cog=course / 10.0,
        heading=heading,
        status=status,
        msg_type=msg_type,
        second=second,
    )
    return fixes if bool(good.all()) else fixes.take(good)


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().rstrip("@").strip()
    return value or None


def _static(msg: Any, t: float | None) -> StaticReport:
    d = msg.asdict()
    typ = int(d["msg_type"])
    rep = StaticReport(mmsi=int(d["mmsi"]), t=t, msg_type=typ)
    rep.name = _text(d.get("shipname"))
    rep.callsign = _text(d.get("callsign"))
    st = d.get("ship_type")
    rep.ship_type = int(st) if st is not None else None
    imo = d.get("imo")
    rep.imo = int(imo) if isinstance(imo, int) and 1_000_000 <= imo <= 9_999_999 else None
    for k in ("to_bow", "to_stern", "to_port", "to_starboard"):
        val = d.get(k)
        setattr(rep, k, int(val) if isinstance(val, int) else None)
    rep.destination = _text(d.get("destination"))
    if typ == 5:
        mo, day, hr, mi = (d.get("month"), d.get("day"), d.get("hour"), d.get("minute"))
        if all(isinstance(x, int) for x in (mo, day, hr, mi)) and mo and day:
            rep.eta = f"{mo:02d}-{day:02d}T{hr:02d}:{mi:02d}Z"
        dr = d.get("draught")
        rep.draught = float(dr) if isinstance(dr, int | float) else None
    if typ == 24 and d.get("partno") == 0:
        rep.ship_type = None
    return rep


def _base_time(msg: Any) -> float | None:
    try:
        when = dt.datetime(
            msg.year, msg.month, msg.day, msg.hour, msg.minute, msg.second, tzinfo=dt.UTC
        )
    except (TypeError, ValueError):
        return None
    if not 2000 <= when.year <= 2100:
        return None
    return when.timestamp()


def _base_times(payloads: list[bytes], stats: IntakeStats) -> list[float]:
    """UTC times of standard-length base station reports (type 4), decoded as a batch: the
    same fields and checks as pyais + ``_base_time`` (``bench/ais.py --verify`` compares)."""
    n = len(payloads)
    raw = np.frombuffer(b"".join(payloads), dtype=np.uint8).reshape(n, 28)
    good = _VALID_ARMOR[raw].all(axis=1)
    stats.decode_errors += int(n - good.sum())
    v = _ARMOR[raw[good]]
    year = _bits(v, 38, 14)
    plausible = (year >= 2000) & (year <= 2100)
    fields = [_bits(v, start, width)[plausible].tolist() for start, width in _TYPE4_TIME]
    out: list[float] = []
    for y, mo, d, h, mi, sec in zip(*fields, strict=True):
        try:
            out.append(dt.datetime(y, mo, d, h, mi, sec, tzinfo=dt.UTC).timestamp())
        except ValueError:
            continue
    return out


def decode_payloads(batch: Payloads, stats: IntakeStats, *, need_clock: bool = True) -> Decoded:
    """Decode the payloads PortGuard uses (positions, statics; base stations when
    ``need_clock``); the other types are counted in ``stats.skipped_types``, undecodable
    ones in ``stats.decode_errors``, never raised."""
    fast_p: list[bytes] = []
    fast_t: list[float | None] = []
    clock_p: list[bytes] = []
    slow: list[Any] = []
    slow_t: list[float | None] = []
    statics: list[StaticReport] = []
    base_times: list[float] = []
    stats.messages += len(batch)
    for payload, fill, when in zip(batch.payloads, batch.fill_bits, batch.times, strict=True):
        first = payload[0]
        if len(payload) == 28 and fill == 0:
            if first in b"123B":
                fast_p.append(payload)
                fast_t.append(when)
                continue
            if first == 52 and need_clock:  # '4': base station, standard length
                clock_p.append(payload)
                continue
        if first not in _WANTED or (first == 52 and not need_clock):  # 52: '4'
            stats.skipped_types += 1
            continue
        try:
            if payload.translate(None, _ARMOR_CHARS):
                raise ValueError("character outside the AIS six-bit alphabet")
            vec = bit_vector(payload, fill)
            typ = vec.get(0, 6)
            cls = MSG_CLASS.get(typ)
            if cls is None or typ == 0:
                stats.unsupported_types += 1
                continue
            msg = cls.from_vector(vec)
        except Exception:  # pyais raises many kinds on bad payloads: count, never crash
            stats.decode_errors += 1
            continue
        if typ in POSITION_TYPES:
            slow.append(msg)
            slow_t.append(when)
            if typ == 19:
                statics.append(_static(msg, when))
        elif typ in (5, 24):
            try:
                statics.append(_static(msg, when))
            except (TypeError, ValueError):
                stats.decode_errors += 1
        elif typ == 4:
            bt = _base_time(msg)
            if bt is not None:
                base_times.append(bt)
    parts: list[FixBatch] = []
    if fast_p:
        fast = _fast(fast_p, fast_t)
        stats.decode_errors += len(fast_p) - len(fast)  # characters outside the alphabet
        parts.append(fast)
    if slow:
        parts.append(_from_messages(slow, slow_t))
    if clock_p:
        base_times += _base_times(clock_p, stats)
    fixes = FixBatch.concat(parts)
    stats.statics += len(statics)
    return Decoded(fixes, statics, base_times)


def _num(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def _from_messages(msgs: list[Any], times: list[float | None]) -> FixBatch:
    n = len(msgs)
    cols: dict[str, list[float]] = {k: [] for k in FIX_COLUMNS if k != "t"}
    cols["second"] = []
    for m in msgs:
        cols["mmsi"].append(_num(m.mmsi, 0))
        cols["lat"].append(_num(getattr(m, "lat", None), 91.0))
        cols["lon"].append(_num(getattr(m, "lon", None), 181.0))
        cols["sog"].append(_num(getattr(m, "speed", None), 102.3))
        cols["cog"].append(_num(getattr(m, "course", None), 360.0))
        cols["heading"].append(_num(getattr(m, "heading", None), 511))
        cols["status"].append(_num(getattr(m, "status", None), STATUS_UNDEFINED))
        cols["msg_type"].append(_num(m.msg_type, 0))
        cols["second"].append(_num(getattr(m, "second", None), 60))
    ints = ("mmsi", "heading", "status", "msg_type", "second")
    arr: dict[str, Any] = {
        k: np.array(v, dtype=np.int64 if k in ints else np.float64) for k, v in cols.items()
    }
    t = np.array([np.nan if x is None else x for x in times], dtype=np.float64)
    assert t.shape[0] == n
    return FixBatch(
        mmsi=arr["mmsi"],
        t=t,
        lat=arr["lat"],
        lon=arr["lon"],
        sog=arr["sog"],
        cog=arr["cog"],
        heading=arr["heading"],
        status=arr["status"],
        msg_type=arr["msg_type"],
        second=arr["second"],
    )
