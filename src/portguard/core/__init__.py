"""The platform core: shared types, errors, settings, clock, storage, bus, audit and auth.

Everything here depends only on the standard library and third-party libraries, never on a
PortGuard domain package.
"""

from portguard.core.clock import Clock, FixedClock, SystemClock, ensure_utc, utcnow
from portguard.core.errors import (
    AuthError,
    BusError,
    ConfigError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    PortGuardError,
    PortModelError,
    StorageError,
    ValidationError,
)
from portguard.core.ids import is_ulid, new_id
from portguard.core.settings import Settings
from portguard.core.types import (
    TLP,
    Alert,
    Domain,
    EntityKind,
    EntityRef,
    Event,
    Location,
    Severity,
)

__all__ = [
    "TLP",
    "Alert",
    "AuthError",
    "BusError",
    "Clock",
    "ConfigError",
    "ConflictError",
    "Domain",
    "EntityKind",
    "EntityRef",
    "Event",
    "FixedClock",
    "Location",
    "NotFoundError",
    "PermissionDenied",
    "PortGuardError",
    "PortModelError",
    "Settings",
    "Severity",
    "StorageError",
    "SystemClock",
    "ValidationError",
    "ensure_utc",
    "is_ulid",
    "new_id",
    "utcnow",
]
