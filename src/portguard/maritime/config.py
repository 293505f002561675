"""Detector configuration as data: defaults, overrides per zone/asset and per ISPS security level.

This module owns the thresholds. A parameter is looked up in this order: the override of the
first zone or asset (by port-model id) that sets it, then the override for the security level in
force at the facility around the position, then the detector's default. Load from a dict (YAML
or TOML) with ``MaritimeConfig.from_dict``; unknown detectors or parameters are refused, so a
typo never silently leaves a default in place.

Example (YAML)::

    detectors:
      loitering: {threshold_s: 900}
    zones:
      berendrecht-lock: {loitering: {threshold_s: 300, radius_m: 400}}
    security_levels:
      3: {loitering: {threshold_s: 180}, rendezvous: {threshold_s: 300}}
    allow:
      exclusion-petrochem-jetties: {mmsi: [205123456], ship_types: [80, 81, 82, 83, 84]}
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from portguard.core.detector_config import check_overrides
from portguard.core.errors import ConfigError

__all__ = ["DEFAULTS", "DETECTORS", "MaritimeConfig"]

#: Service craft: pilot, SAR, tug, port tender, anti-pollution, law enforcement, medical, towing.
_SERVICE = [31, 32, 50, 51, 52, 53, 54, 55, 58]

DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "invalid_identity": {"severity": "medium", "dummies": [0, 123456789, 111111111, 1193046]},
    "identity_conflict": {
        # Implied speed above this (knots) between two fixes is impossible for the ship type...
        "max_speed_kn": 60.0,
        "max_speed_kn_by_type": {"6": 45.0, "7": 30.0, "8": 30.0, "3": 40.0},
        # ...and the jump must also be longer than this (GPS noise, clock jitter).
        "min_jump_m": 5_000.0,
        # Receive-time uncertainty added to every interval (feeds without tag blocks).
        "time_slack_s": 30.0,
        # A jump not followed by a return to the old place within this time is a teleport.
        "confirm_s": 600.0,
        "severity": "high",
    },
    "going_dark": {
        "threshold_s": 900.0,
        "min_reports": 5,
        # "Normal rate": the vessel's typical interval was at most this...
        "max_normal_interval_s": 60.0,
        # ...and the silence lasted this many typical intervals too.
        "min_missed_reports": 10,
        # Moored (5) and at anchor (1) vessels report every 3 minutes and may switch off.
        "ignore_status": [1, 5],
        "severity": "medium",
    },
    "loitering": {
        "max_sog_kn": 2.0,
        "radius_m": 300.0,
        "threshold_s": 1_200.0,
        "asset_kinds": ["lock", "bridge", "jetty", "pipeline_crossing"],
        "berth_radius_m": 150.0,
        "exempt_ship_types": _SERVICE,
        "exempt_mmsi": [],
        "severity": "high",
    },
    "rendezvous": {
        "radius_m": 500.0,
        "max_sog_kn": 2.0,
        "threshold_s": 1_800.0,
        # Two samples further apart than this end the meeting.
        "gap_s": 600.0,
        "berth_radius_m": 300.0,
        "exempt_ship_types": _SERVICE,
        "severity": "high",
    },
    "zone_incursion": {
        "kinds": ["exclusion_zone"],
        "allow_ship_types": _SERVICE,
        "allow_mmsi": [],
        # Out of the zone this long ends the episode.
        "gap_s": 600.0,
        "severity": "high",
    },
    "speeding": {
        # Alert above limit * (1 + tolerance)...
        "tolerance": 0.1,
        # ...sustained this long.
        "min_duration_s": 60.0,
        "gap_s": 300.0,
        "exempt_ship_types": [51, 55],
        "severity": "low",
    },
}
DETECTORS: Final = tuple(DEFAULTS)

#: Defaults for the ISPS levels: shorter thresholds when the threat is higher.
_LEVELS: Final[dict[int, dict[str, dict[str, Any]]]] = {
    2: {
        "loitering": {"threshold_s": 600.0, "radius_m": 400.0},
        "rendezvous": {"threshold_s": 900.0},
        "going_dark": {"threshold_s": 600.0},
    },
    3: {
        "loitering": {"threshold_s": 300.0, "radius_m": 500.0},
        "rendezvous": {"threshold_s": 300.0},
        "going_dark": {"threshold_s": 300.0},
    },
}


def _check(section: str, overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return check_overrides("maritime", section, overrides, DEFAULTS)


@dataclass
class MaritimeConfig:
    """Thresholds of every detector; see the module docstring for the lookup order."""

    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    zones: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    security_levels: dict[int, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: copy.deepcopy(_LEVELS)
    )
    #: Per exclusion zone: {"mmsi": [...], "ship_types": [...]} allowed inside.
    allow: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    enabled: tuple[str, ...] = DETECTORS
    #: Seconds of feed time between sweeps of the picture.
    sweep_interval_s: float = 10.0
    #: How far (degrees) around the port model the port detectors look.
    region_margin_deg: float = 0.25
    #: Vessels not heard for this long leave the picture.
    forget_after_s: float = 6 * 3600.0

    def __post_init__(self) -> None:
        self.detectors = _check("detectors", self.detectors)
        self.zones = {z: _check(f"zones.{z}", o) for z, o in self.zones.items()}
        self.security_levels = {
            int(lv): _check(f"security_levels.{lv}", o) for lv, o in self.security_levels.items()
        }
        for name in self.enabled:
            if name not in DEFAULTS:
                raise ConfigError(f"maritime config enabled: unknown detector {name!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MaritimeConfig:
        known = {
            "detectors",
            "zones",
            "security_levels",
            "allow",
            "enabled",
            "sweep_interval_s",
            "region_margin_deg",
            "forget_after_s",
        }
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"maritime config: unknown keys {sorted(unknown)}")
        kwargs = dict(data)
        if "security_levels" in kwargs:
            levels = copy.deepcopy(_LEVELS)
            for lv, o in dict(kwargs["security_levels"]).items():
                levels.setdefault(int(lv), {}).update(o)
            kwargs["security_levels"] = levels
        if "enabled" in kwargs:
            kwargs["enabled"] = tuple(kwargs["enabled"])
        return cls(**kwargs)

    def get(
        self, detector: str, key: str, *, places: Iterable[str] = (), level: int | None = None
    ) -> Any:
        """The parameter for a position in ``places`` (zone/asset ids, most specific first)
        under ISPS ``level``."""
        for place in places:
            over = self.zones.get(place, {}).get(detector)
            if over is not None and key in over:
                return over[key]
        if level is not None:
            over = self.security_levels.get(level, {}).get(detector)
            if over is not None and key in over:
                return over[key]
        own = self.detectors.get(detector)
        if own is not None and key in own:
            return own[key]
        return DEFAULTS[detector][key]
