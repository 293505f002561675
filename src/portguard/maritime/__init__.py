"""The maritime watch: AIS intake and decoding, vessels and tracks, suspicious-behaviour detectors.

This package owns everything AIS: NMEA parsing with tag blocks and checksum validation (``nmea``),
decoding with pyais plus a proven-identical vectorised path for position reports (``decode``),
the vessel registry, current picture and history (``tracks``, ``store``, ``history``,
``models``), the detectors (``detectors``: invalid identity, identity conflict/teleport, going
dark, loitering, rendezvous, zone incursion, speeding), the pipeline that runs them
(``pipeline``), network sources (``intake``), the runtime object the app wires
(``service.MaritimeWatch``) and the routes (``api``). Findings leave as core Alerts on the bus
(``alerts``). It imports only ``portguard.core``, ``portguard.portmodel`` and libraries.

Public API::

    MaritimeWatch(settings, port_model=..., bus=..., db=...)   the runtime (service)
    MaritimeSettings, MaritimeConfig                            sources/storage, thresholds
    Pipeline(port_model, config)                                lines -> findings, no I/O
    Finding, finding_json, to_alert                             findings and their outward forms
    check_mmsi                                                  ITU-R M.585 identity checks
"""

from __future__ import annotations

from portguard.maritime.alerts import KINDS, finding_json, to_alert
from portguard.maritime.config import MaritimeConfig
from portguard.maritime.detectors import Finding
from portguard.maritime.identity import check_mmsi
from portguard.maritime.nmea import IntakeStats
from portguard.maritime.pipeline import Pipeline
from portguard.maritime.service import MaritimeSettings, MaritimeWatch

__all__ = [
    "KINDS",
    "Finding",
    "IntakeStats",
    "MaritimeConfig",
    "MaritimeSettings",
    "MaritimeWatch",
    "Pipeline",
    "check_mmsi",
    "finding_json",
    "to_alert",
]
