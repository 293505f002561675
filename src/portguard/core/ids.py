"""Identifiers: ULIDs, sortable by creation time, as 26-character strings."""

from __future__ import annotations

import re

from ulid import ULID

__all__ = ["ULID_RE", "is_ulid", "new_id"]

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    return str(ULID())


def is_ulid(value: str) -> bool:
    return bool(ULID_RE.match(value))
