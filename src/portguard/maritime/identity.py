"""MMSI number classes (ITU-R M.585) and the checks that make an identity invalid.

This module owns what a valid MMSI is. A number is *invalid* when it matches no ITU class, when
its Maritime Identification Digits (MID) are not allocated to any administration, or when it is a
known dummy (0, 123456789, 111111111, 1193046 = 0x123456, the factory default of some
transponders). The MID table is pyais's (``pyais.constants.COUNTRY_MAPPING``), which follows the
ITU list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
from pyais.constants import COUNTRY_MAPPING

__all__ = [
    "DUMMY_MMSIS",
    "MOBILE_CLASSES",
    "MmsiCheck",
    "MmsiClass",
    "check_mmsi",
    "country_of",
    "plain_ship_numbers",
]

#: Values transponders send when nobody programmed them (or someone wants to hide).
DUMMY_MMSIS: Final = frozenset({0, 123456789, 111111111, 1193046, 999999999, 987654321})

_ALLOCATED_MIDS: Final = frozenset(COUNTRY_MAPPING)
_MID_ALLOCATED: Final = np.array([m in _ALLOCATED_MIDS for m in range(1000)], dtype=bool)


class MmsiClass(StrEnum):
    SHIP = "ship"  # MIDXXXXXX
    GROUP = "group"  # 0MIDXXXXX
    COAST = "coast"  # 00MIDXXXX
    SAR_AIRCRAFT = "sar_aircraft"  # 111MIDXXX
    AUXILIARY = "auxiliary"  # 98MIDXXXX: craft associated with a parent ship
    ATON = "aton"  # 99MIDXXXX: aid to navigation
    DIVER = "diver"  # 8MIDXXXXX: handheld VHF with DSC/GNSS
    SART = "sart"  # 970XXYYYY
    MOB = "mob"  # 972XXYYYY
    EPIRB = "epirb"  # 974XXYYYY
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class MmsiCheck:
    mmsi: int
    number_class: MmsiClass
    mid: int | None
    #: None when valid; otherwise why not, in plain language.
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.problem is None


def _classify(mmsi: int) -> tuple[MmsiClass, int | None]:
    s = f"{mmsi:09d}"
    if len(s) != 9:
        return MmsiClass.UNKNOWN, None
    if s[:3] in ("970", "972", "974"):
        return {"970": MmsiClass.SART, "972": MmsiClass.MOB, "974": MmsiClass.EPIRB}[s[:3]], None
    if s.startswith("111"):
        return MmsiClass.SAR_AIRCRAFT, int(s[3:6])
    if s.startswith("98"):
        return MmsiClass.AUXILIARY, int(s[2:5])
    if s.startswith("99"):
        return MmsiClass.ATON, int(s[2:5])
    if s.startswith("00"):
        return MmsiClass.COAST, int(s[2:5])
    if s.startswith("0"):
        return MmsiClass.GROUP, int(s[1:4])
    if s.startswith("8"):
        return MmsiClass.DIVER, int(s[1:4])
    if s[0] in "234567":
        return MmsiClass.SHIP, int(s[:3])
    return MmsiClass.UNKNOWN, None


#: Number classes that may send vessel position reports (types 1-3, 18, 19, 27).
MOBILE_CLASSES: Final = frozenset(
    {
        MmsiClass.SHIP,
        MmsiClass.AUXILIARY,
        MmsiClass.SAR_AIRCRAFT,
        MmsiClass.DIVER,
        MmsiClass.SART,
        MmsiClass.MOB,
        MmsiClass.EPIRB,
    }
)


def check_mmsi(mmsi: int, *, dummies: frozenset[int] = DUMMY_MMSIS) -> MmsiCheck:
    """Classify ``mmsi`` and say what, if anything, is wrong with it as a vessel's identity."""
    if mmsi in dummies:
        cls, mid = _classify(mmsi) if 0 < mmsi < 10**9 else (MmsiClass.UNKNOWN, None)
        return MmsiCheck(mmsi, cls, mid, f"MMSI {mmsi:09d} is a known dummy/default value")
    if not 0 < mmsi < 10**9:
        return MmsiCheck(mmsi, MmsiClass.UNKNOWN, None, f"MMSI {mmsi} is not a 9-digit number")
    cls, mid = _classify(mmsi)
    if cls is MmsiClass.UNKNOWN:
        return MmsiCheck(mmsi, cls, None, f"MMSI {mmsi:09d} matches no ITU-R M.585 number class")
    if cls not in MOBILE_CLASSES:
        return MmsiCheck(
            mmsi,
            cls,
            mid,
            f"MMSI {mmsi:09d} is a {cls.value} station number, yet it reports a vessel position",
        )
    if mid is not None and mid not in _ALLOCATED_MIDS:
        return MmsiCheck(
            mmsi, cls, mid, f"MMSI {mmsi:09d} uses MID {mid}, which is allocated to no country"
        )
    return MmsiCheck(mmsi, cls, mid, None)


def plain_ship_numbers(
    mmsi: npt.NDArray[np.int64], dummies: frozenset[int] = DUMMY_MMSIS
) -> npt.NDArray[np.bool_]:
    """True where ``check_mmsi`` would call the number a valid ship station (MIDXXXXXX with an
    allocated MID, not a dummy), tested for a whole array at once; False means "ask
    ``check_mmsi``" (it may still be valid, e.g. a SAR aircraft)."""
    ship = (mmsi >= 200_000_000) & (mmsi < 800_000_000)
    out: npt.NDArray[np.bool_] = ship & _MID_ALLOCATED[np.where(ship, mmsi // 1_000_000, 0)]
    if dummies and out.any():
        out &= ~np.isin(mmsi, np.fromiter(dummies, dtype=np.int64))
    return out


def country_of(mmsi: int) -> str | None:
    """ISO code of the flag the MMSI's MID stands for, if any."""
    _, mid = _classify(mmsi) if 0 < mmsi < 10**9 else (MmsiClass.UNKNOWN, None)
    if mid is None or mid not in COUNTRY_MAPPING:
        return None
    return str(COUNTRY_MAPPING[mid][0])
