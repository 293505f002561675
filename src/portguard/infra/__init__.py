"""Critical infrastructure: the state and operation of locks, bridges and roads; OT commands and
telemetry; infra detectors; traffic impact of outages.

Public API::

    InfraWatch(config, *, port_model, bus, db)   the runtime object (make_handlers, set_levels,
                                                 ingest_records/ingest_text, impact, outages)
    InfraConfig                                  thresholds, per-asset settings, plans, shifts
    InfraDetectors, InfraState, InfraFinding     the pure detectors and their state
    traffic_impact, TrafficImpact                the business-continuity view of an outage

This package imports only ``portguard.core``, ``portguard.portmodel`` and libraries.
"""

from portguard.infra.config import InfraConfig
from portguard.infra.detectors import RULE_IDS, InfraDetectors, InfraFinding, InfraState
from portguard.infra.service import ALERT_GROUP, GROUP, InfraWatch
from portguard.infra.traffic import TrafficImpact, traffic_impact

__all__ = [
    "ALERT_GROUP",
    "GROUP",
    "RULE_IDS",
    "InfraConfig",
    "InfraDetectors",
    "InfraFinding",
    "InfraState",
    "InfraWatch",
    "TrafficImpact",
    "traffic_impact",
]
