"""The PortGuard exception tree. Every message is written for the person who must act on it.

PortGuardError
├── ConfigError              settings or a config file are wrong
├── ValidationError          input at an edge is malformed (carries the location of the fault)
│   └── PortModelError       a port-model file is wrong (names the feature and the field)
├── NotFoundError            the thing asked for does not exist
├── ConflictError            the change contradicts the current state (e.g. illegal transition)
├── AuthError                authentication failed
│   └── PermissionDenied     authenticated, but the role may not do this
├── StorageError             the database cannot be reached or migrated
└── BusError                 the event bus backend is unavailable or refused a write
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BusError",
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "PermissionDenied",
    "PortGuardError",
    "PortModelError",
    "StorageError",
    "TooManyAttempts",
    "ValidationError",
]


class PortGuardError(Exception):
    """Base of every error PortGuard raises on purpose."""

    #: HTTP status an API edge maps this error to.
    http_status: int = 500


class ConfigError(PortGuardError):
    http_status = 500


class ValidationError(PortGuardError):
    """Bad input. ``location`` says where: a file:line:col, a JSON path, a feature id."""

    http_status = 422

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class PortModelError(ValidationError):
    pass


class NotFoundError(PortGuardError):
    http_status = 404


class ConflictError(PortGuardError):
    http_status = 409


class AuthError(PortGuardError):
    http_status = 401


class PermissionDenied(AuthError):
    http_status = 403


class TooManyAttempts(AuthError):
    http_status = 429


class StorageError(PortGuardError):
    http_status = 503


class BusError(PortGuardError):
    http_status = 503
