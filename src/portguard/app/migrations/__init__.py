"""Alembic migrations for every PortGuard table."""

from pathlib import Path

SCRIPT_LOCATION = Path(__file__).parent
