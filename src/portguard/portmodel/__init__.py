"""The port as data: zones and assets of Antwerp-Bruges, facilities and their ISPS security level.

Public API::

    load_port_model(path) / loads_port_model(text) / parse_port_model(obj)  -> PortModel
    validate(obj) / validate_file(path)                                     -> list[Problem]
    builtin_port_model()                                                    -> PortModel
    PortModel: get, feature, by_kind, facilities, children, members,
               zones_containing, nearest_assets, to_geojson
    service: set_security_level, current_security_level(s), security_level_history
    directory: Directory (email/badge/account -> person), DirectoryCache, import_directory_csv

Every problem with a port-model file is a ``portguard.core.errors.PortModelError`` naming the
feature and the field. Tables live in ``portguard.portmodel.models``, API shapes in
``portguard.portmodel.schemas``. This package imports only ``portguard.core`` and libraries.
"""

from portguard.portmodel.builtin import builtin_port_model, builtin_port_model_text
from portguard.portmodel.directory import (
    Directory,
    DirectoryCache,
    PersonInfo,
    import_directory_csv,
    parse_directory_csv,
)
from portguard.portmodel.feature import Feature
from portguard.portmodel.kinds import ASSET_KINDS, KIND_SPECS, ZONE_KINDS, FeatureKind, KindSpec
from portguard.portmodel.loader import (
    Problem,
    load_port_model,
    loads_port_model,
    parse_port_model,
    validate,
    validate_file,
)
from portguard.portmodel.model import Nearby, PortModel
from portguard.portmodel.service import (
    current_security_level,
    current_security_levels,
    latest_security_level_change,
    security_level_history,
    set_security_level,
)

__all__ = [
    "ASSET_KINDS",
    "KIND_SPECS",
    "ZONE_KINDS",
    "Directory",
    "DirectoryCache",
    "Feature",
    "FeatureKind",
    "KindSpec",
    "Nearby",
    "PersonInfo",
    "PortModel",
    "Problem",
    "builtin_port_model",
    "builtin_port_model_text",
    "current_security_level",
    "current_security_levels",
    "import_directory_csv",
    "latest_security_level_change",
    "load_port_model",
    "loads_port_model",
    "parse_directory_csv",
    "parse_port_model",
    "security_level_history",
    "set_security_level",
    "validate",
    "validate_file",
]
