"""Validation shared by every domain's detector configuration: overrides per zone, facility,
asset or ISPS level name only known detectors and known parameters, with an error that says
which section is wrong and what would be accepted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portguard.core.errors import ConfigError

__all__ = ["check_overrides"]


def check_overrides(
    domain: str,
    section: str,
    overrides: Any,
    defaults: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """``overrides`` (detector → parameters) checked against ``defaults``; returns a copy."""
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"{domain} config {section}: expected a mapping")
    out: dict[str, dict[str, Any]] = {}
    for det, params in overrides.items():
        if det not in defaults:
            raise ConfigError(
                f"{domain} config {section}: unknown detector {det!r}; use one of "
                + ", ".join(defaults)
            )
        if not isinstance(params, Mapping):
            raise ConfigError(f"{domain} config {section}.{det}: expected a mapping")
        for key in params:
            if key not in defaults[det]:
                known = ", ".join(defaults[det])
                raise ConfigError(
                    f"{domain} config {section}.{det}: unknown parameter {key!r}; use {known}"
                )
        out[det] = dict(params)
    return out
