"""Maritime detectors: pure classes with explicit state (see ``base``), one module per family."""

from __future__ import annotations

from portguard.maritime.detectors.base import Detector, Finding
from portguard.maritime.detectors.dark import GoingDark
from portguard.maritime.detectors.identity import IdentityConflict, InvalidIdentity
from portguard.maritime.detectors.proximity import Loitering, Rendezvous
from portguard.maritime.detectors.zones import Speeding, ZoneIncursion

__all__ = [
    "ALL_DETECTORS",
    "Detector",
    "Finding",
    "GoingDark",
    "IdentityConflict",
    "InvalidIdentity",
    "Loitering",
    "Rendezvous",
    "Speeding",
    "ZoneIncursion",
]

#: Config name -> class. ``identity_conflict`` also reports teleports.
ALL_DETECTORS: dict[str, type[Detector]] = {
    "invalid_identity": InvalidIdentity,
    "identity_conflict": IdentityConflict,
    "going_dark": GoingDark,
    "loitering": Loitering,
    "rendezvous": Rendezvous,
    "zone_incursion": ZoneIncursion,
    "speeding": Speeding,
}
