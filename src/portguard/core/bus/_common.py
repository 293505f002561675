"""Checks and helpers shared by the bus backends (private: import from ``portguard.core.bus``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["MAX_ERROR_CHARS", "check_items", "check_name", "clip_error"]

#: Dead-letter error texts are clipped: they are for a person to read, not a log dump.
MAX_ERROR_CHARS = 2000


# Topic and group names become parts of Redis keys (``ns:stream:topic``), so they stay out of the
# separator's way; consumers are only ever values.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def check_name(what: str, value: str) -> None:
    """Topic and group names: letters, digits, ``_ . -``; consumers: any printable text."""
    if what == "consumer":
        if not isinstance(value, str) or not value or len(value) > 200 or not value.isprintable():
            raise ValueError(
                f"bus consumer name must be 1 to 200 printable characters, got {value!r}"
            )
        return
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(
            f"bus {what} name must be 1 to 200 letters, digits, '_', '.' or '-' "
            f"(starting with a letter or digit), got {value!r}"
        )


def check_items(items: Sequence[tuple[str, bytes]]) -> None:
    """Validate a whole batch before writing any of it, so a bad item cannot half-publish."""
    for i, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"item {i}: expected a (key, payload) tuple, got {type(item).__name__}")
        key, payload = item
        if not isinstance(key, str) or not key:
            raise ValueError(f"item {i}: the key must be a non-empty string")
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise TypeError(f"item {i}: the payload must be bytes, got {type(payload).__name__}")


def clip_error(error: str) -> str:
    if len(error) <= MAX_ERROR_CHARS:
        return error
    return error[: MAX_ERROR_CHARS - 1] + "…"
