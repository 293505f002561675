"""Access detector configuration as data: defaults, overrides per facility and per ISPS level.

A parameter is looked up in this order: the override for the reader's facility (or the reader or
its asset, by port-model id), then the override for the ISPS security level in force at that
facility, then the detector's default. Unknown detectors or parameters are refused, so a typo
never silently leaves a default in place. Level 2 and 3 defaults follow the ISPS Code part B
(tighter hours, shorter thresholds; closed access points, escorts and responders-only are
properties of readers and credentials, see ``docs/access_infra.md``).

Example (YAML)::

    detectors:
      probing: {denials: 4, window_s: 120}
    facilities:
      terminal-mpet: {held_open: {threshold_s: 45}}
    security_levels:
      2: {out_of_hours: {hours: "06:00-20:00"}}
    maintenance:
      - {places: [lock-complex-berendrecht], organisations: [lockfix], start: ..., end: ...}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from portguard.core.detector_config import check_overrides
from portguard.core.errors import ConfigError, ValidationError
from portguard.portmodel.schedule import DEFAULT_TZ, Hours, PlannedWindow

__all__ = ["DEFAULTS", "DETECTORS", "AccessConfig"]

DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "unknown_badge": {"severity": "medium"},
    "revoked_badge": {"severity": "high"},
    "expired_badge": {"severity": "medium"},
    "beyond_clearance": {"severity": "medium"},
    # Facility hours (on top of the credential's own): "always" unless a level tightens them.
    "out_of_hours": {"hours": "always", "severity": "low"},
    "impossible_travel": {
        # Faster than this between two readers is impossible (cars inside the port included).
        "max_speed_kmh": 60.0,
        # Readers closer than this never count (same building, GPS of the reader approximate).
        "min_distance_m": 500.0,
        "severity": "high",
    },
    "antipassback": {"window_s": 12 * 3600.0, "severity": "medium"},
    "tailgating": {
        # A door opened or people counted with no granted badge read this long before.
        "window_s": 10.0,
        "severity": "medium",
    },
    "forced_door": {"severity": "high"},
    "held_open": {"threshold_s": 60.0, "severity": "medium"},
    "probing": {"denials": 5, "window_s": 120.0, "severity": "high"},
    "closed_access_point": {"severity": "high"},
    "escort_required": {"severity": "medium"},
    "responders_only": {"severity": "high"},
}
DETECTORS: Final = tuple(DEFAULTS)

_LEVELS: Final[dict[int, dict[str, dict[str, Any]]]] = {
    2: {
        "out_of_hours": {"hours": "06:00-22:00", "severity": "medium"},
        "unknown_badge": {"severity": "high"},
        "beyond_clearance": {"severity": "high"},
        "held_open": {"threshold_s": 30.0},
        "probing": {"denials": 3},
        "tailgating": {"severity": "high"},
    },
    3: {
        "out_of_hours": {"hours": "07:00-19:00", "severity": "high"},
        "unknown_badge": {"severity": "critical"},
        "beyond_clearance": {"severity": "critical"},
        "held_open": {"threshold_s": 10.0, "severity": "high"},
        "probing": {"denials": 2},
        "tailgating": {"severity": "high"},
    },
}


def _check(section: str, overrides: Any) -> dict[str, dict[str, Any]]:
    out = check_overrides("access", section, overrides, DEFAULTS)
    for det, params in out.items():
        if "hours" in params:
            try:
                Hours.parse(str(params["hours"]), where=f"{section}.{det}.hours")
            except ValidationError as exc:
                raise ConfigError(f"access config: {exc}") from None
    return out


@dataclass
class AccessConfig:
    """Detector thresholds and plans; see the module docstring for the lookup order."""

    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    facilities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    security_levels: dict[int, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: copy.deepcopy(_LEVELS)
    )
    #: Planned maintenance: access at these places by these parties is expected, any hour.
    maintenance: list[PlannedWindow] = field(default_factory=list)
    enabled: tuple[str, ...] = DETECTORS
    tz: str = DEFAULT_TZ
    #: Events observed further than this in the future (controller clock ahead) are refused.
    max_future_s: float = 300.0
    #: Clock skew tolerated between controllers (impossible travel, ordering).
    clock_skew_s: float = 30.0
    #: Extra readers not in the port model: id -> {lat, lon, facility, asset, ...}.
    readers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.detectors = _check("detectors", self.detectors)
        self.facilities = {f: _check(f"facilities.{f}", o) for f, o in self.facilities.items()}
        self.security_levels = {
            int(lv): _check(f"security_levels.{lv}", o) for lv, o in self.security_levels.items()
        }
        for name in self.enabled:
            if name not in DEFAULTS:
                raise ConfigError(f"access config enabled: unknown detector {name!r}")
        self.maintenance = [
            w if isinstance(w, PlannedWindow) else _window(w, f"maintenance[{i}]")
            for i, w in enumerate(self.maintenance)
        ]
        self._hours: dict[str, Hours] = {}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessConfig:
        known = {
            "detectors",
            "facilities",
            "security_levels",
            "maintenance",
            "enabled",
            "tz",
            "max_future_s",
            "clock_skew_s",
            "readers",
        }
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"access config: unknown keys {sorted(unknown)}")
        kwargs = dict(data)
        if "security_levels" in kwargs:
            levels = copy.deepcopy(_LEVELS)
            for lv, o in dict(kwargs["security_levels"]).items():
                levels.setdefault(int(lv), {}).update(o)
            kwargs["security_levels"] = levels
        if "enabled" in kwargs:
            kwargs["enabled"] = tuple(kwargs["enabled"])
        return cls(**kwargs)

    def get(self, detector: str, key: str, *, places: tuple[str, ...], level: int) -> Any:
        """The parameter at a reader (``places``: its facility, asset and own id) under ISPS
        ``level``."""
        for place in places:
            over = self.facilities.get(place, {}).get(detector)
            if over is not None and key in over:
                return over[key]
        over = self.security_levels.get(level, {}).get(detector)
        if over is not None and key in over:
            return over[key]
        own = self.detectors.get(detector)
        if own is not None and key in own:
            return own[key]
        return DEFAULTS[detector][key]

    def hours(self, text: str) -> Hours:
        """Parsed, cached schedule."""
        h = self._hours.get(text)
        if h is None:
            h = self._hours[text] = Hours.parse(text, tz=self.tz)
        return h


def _window(raw: Any, where: str) -> PlannedWindow:
    try:
        return PlannedWindow.from_dict(raw, where=f"access config {where}")
    except ValidationError as exc:
        raise ConfigError(str(exc)) from None
