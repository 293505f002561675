"""Infrastructure detector configuration as data: defaults, per-asset settings, per-ISPS-level
overrides, and the plans the detectors compare commands with (planned operations such as lock
passages and bridge openings, maintenance windows, operator shifts).

Example (YAML)::

    detectors:
      phished_operator: {window_s: 259200}
    assets:
      berendrecht-lock: {hours: always, require_plan: true}
      road-r2: {}
    security_levels:
      2: {uncommanded_change: {window_s: 300}}
    plans:        # planned operations: a command inside one is "on schedule"
      - {places: [berendrecht-lock], start: 2026-11-02T13:30:00Z, end: 2026-11-02T15:00:00Z,
         note: "passage MSC Aurora"}
    maintenance:
      - {places: [kallo-lock], organisations: [lockfix], start: ..., end: ...}
    shifts:
      - {accounts: [jpeeters], start: 2026-11-02T05:00:00Z, end: 2026-11-02T13:00:00Z}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from portguard.core.detector_config import check_overrides
from portguard.core.errors import ConfigError, ValidationError
from portguard.portmodel.schedule import DEFAULT_TZ, Hours, PlannedWindow

__all__ = ["DEFAULTS", "DETECTORS", "AssetSettings", "InfraConfig"]

DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "out_of_schedule": {"severity": "high"},
    # Operators with no shift covering the command (only when a roster is configured).
    "off_shift": {"severity": "high", "unknown_operator": True},
    # Commands from a station that is not a control room operating the asset.
    "wrong_station": {"severity": "high", "require_station": False},
    # A command by an operator whose mailbox received phishing this long before.
    "phished_operator": {"window_s": 72 * 3600.0, "severity": "high"},
    # A state change with no command for the asset this long before it.
    "uncommanded_change": {"window_s": 180.0, "severity": "high"},
    "unplanned_outage": {"severity": "high"},
}
DETECTORS: Final = tuple(DEFAULTS)

_LEVELS: Final[dict[int, dict[str, dict[str, Any]]]] = {
    2: {
        "out_of_schedule": {"severity": "critical"},
        "wrong_station": {"require_station": True},
        "phished_operator": {"window_s": 7 * 86400.0, "severity": "critical"},
    },
    3: {
        "out_of_schedule": {"severity": "critical"},
        "off_shift": {"severity": "critical"},
        "wrong_station": {"require_station": True, "severity": "critical"},
        "phished_operator": {"window_s": 14 * 86400.0, "severity": "critical"},
        "uncommanded_change": {"window_s": 600.0, "severity": "critical"},
        "unplanned_outage": {"severity": "critical"},
    },
}


def _check(section: str, overrides: Any) -> dict[str, dict[str, Any]]:
    return check_overrides("infra", section, overrides, DEFAULTS)


@dataclass(frozen=True)
class AssetSettings:
    """How one asset is operated: its operating hours, and whether every command needs a
    planned operation (lock passages, bridge openings) to be on schedule."""

    hours: Hours = field(default_factory=Hours)
    require_plan: bool = False
    #: The ISPS facility whose level applies to the asset, if any.
    facility: str | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def _windows(raw: Any, name: str) -> list[PlannedWindow]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"infra config {name}: expected a list of windows")
    out = []
    for i, w in enumerate(raw):
        if isinstance(w, PlannedWindow):
            out.append(w)
            continue
        try:
            out.append(PlannedWindow.from_dict(w, where=f"infra config {name}[{i}]"))
        except ValidationError as exc:
            raise ConfigError(str(exc)) from None
    return out


@dataclass
class InfraConfig:
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    security_levels: dict[int, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: copy.deepcopy(_LEVELS)
    )
    plans: list[Any] = field(default_factory=list)
    maintenance: list[Any] = field(default_factory=list)
    shifts: list[Any] = field(default_factory=list)
    enabled: tuple[str, ...] = DETECTORS
    tz: str = DEFAULT_TZ
    max_future_s: float = 300.0
    #: Traffic impact: lock -> alternative locks; delays (minutes) per kind of detour.
    alternatives: dict[str, list[str]] = field(default_factory=dict)
    detour_min: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.detectors = _check("detectors", self.detectors)
        self.security_levels = {
            int(lv): _check(f"security_levels.{lv}", o) for lv, o in self.security_levels.items()
        }
        for name in self.enabled:
            if name not in DEFAULTS:
                raise ConfigError(f"infra config enabled: unknown detector {name!r}")
        self.plans = _windows(self.plans, "plans")
        self.maintenance = _windows(self.maintenance, "maintenance")
        self.shifts = _windows(self.shifts, "shifts")
        self._assets: dict[str, AssetSettings] = {}
        for aid, raw in self.assets.items():
            if not isinstance(raw, Mapping):
                raise ConfigError(f"infra config assets.{aid}: expected a mapping")
            extra = set(raw) - {"hours", "require_plan", "facility", "detectors"}
            if extra:
                raise ConfigError(f"infra config assets.{aid}: unknown keys {sorted(extra)}")
            try:
                hours = Hours.parse(raw.get("hours"), tz=self.tz, where=f"assets.{aid}.hours")
            except ValidationError as exc:
                raise ConfigError(f"infra config: {exc}") from None
            self._assets[aid] = AssetSettings(
                hours=hours,
                require_plan=bool(raw.get("require_plan", False)),
                facility=raw.get("facility"),
                overrides=_check(f"assets.{aid}.detectors", raw.get("detectors") or {}),
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InfraConfig:
        known = {f for f in cls.__dataclass_fields__ if not f.startswith("_")}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"infra config: unknown keys {sorted(unknown)}")
        kwargs = dict(data)
        if "security_levels" in kwargs:
            levels = copy.deepcopy(_LEVELS)
            for lv, o in dict(kwargs["security_levels"]).items():
                levels.setdefault(int(lv), {}).update(o)
            kwargs["security_levels"] = levels
        if "enabled" in kwargs:
            kwargs["enabled"] = tuple(kwargs["enabled"])
        return cls(**kwargs)

    def asset(self, asset_id: str) -> AssetSettings:
        return self._assets.get(asset_id) or AssetSettings()

    def get(self, detector: str, key: str, *, asset: str, level: int) -> Any:
        over = self.asset(asset).overrides.get(detector)
        if over is not None and key in over:
            return over[key]
        over = self.security_levels.get(level, {}).get(detector)
        if over is not None and key in over:
            return over[key]
        own = self.detectors.get(detector)
        if own is not None and key in own:
            return own[key]
        return DEFAULTS[detector][key]
