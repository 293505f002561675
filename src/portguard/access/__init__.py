"""Access control: credentials (badges), readers and gates from the port model, access events,
access detectors.

Public API::

    AccessControl(config, *, port_model, bus, db)   the runtime object (make_handlers,
                                                    set_levels, ingest_records/ingest_text)
    AccessConfig                                    thresholds per facility and ISPS level
    AccessDetectors, AccessState, Finding           the pure detectors and their state
    Credential, CredentialIn                        badges; credentials.* changes them (audited)
    Readers, ReaderInfo                             readers from the port model

This package imports only ``portguard.core``, ``portguard.portmodel`` and libraries.
"""

from portguard.access.config import AccessConfig
from portguard.access.credentials import Credential, CredentialIn
from portguard.access.detectors import RULE_IDS, AccessDetectors, AccessState, Finding
from portguard.access.readers import ReaderInfo, Readers
from portguard.access.service import GROUP, AccessControl

__all__ = [
    "GROUP",
    "RULE_IDS",
    "AccessConfig",
    "AccessControl",
    "AccessDetectors",
    "AccessState",
    "Credential",
    "CredentialIn",
    "Finding",
    "ReaderInfo",
    "Readers",
]
