"""The built-in Antwerp-Bruges port model, shipped as package data and loaded once per process.

This module owns finding and caching ``data/antwerp_bruges.geojson``. Positions in it are
approximate (drawn for demonstration and testing, to within a few hundred metres), not survey data.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from portguard.portmodel.loader import loads_port_model
from portguard.portmodel.model import PortModel

__all__ = ["BUILTIN_RESOURCE", "builtin_port_model", "builtin_port_model_text"]

BUILTIN_RESOURCE = "data/antwerp_bruges.geojson"


def builtin_port_model_text() -> str:
    """The GeoJSON text of the built-in model (e.g. to start your own file from)."""
    return files("portguard.portmodel").joinpath(BUILTIN_RESOURCE).read_text(encoding="utf-8")


@cache
def builtin_port_model() -> PortModel:
    """The built-in Antwerp-Bruges model; parsed on first use, then shared (it is immutable)."""
    return loads_port_model(
        builtin_port_model_text(), source=f"portguard.portmodel/{BUILTIN_RESOURCE}"
    )
