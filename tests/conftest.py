"""Shared fixtures: databases (SQLite always; PostgreSQL when scripts/test.sh started one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

# The property tests draw the same examples on every run, so CI is repeatable; set
# HYPOTHESIS_PROFILE=explore to let them search anew.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PG_URL = os.environ.get("PORTGUARD_TEST_PG_URL", "")
REDIS_URL = os.environ.get("PORTGUARD_TEST_REDIS_URL", "")


def _pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not PG_URL:
        pytest.skip("PostgreSQL not available: run scripts/test.sh, or set PORTGUARD_TEST_PG_URL")
    name = f"pg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each supported engine: the test runs once per engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'portguard.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("Redis not available: run scripts/test.sh, or set PORTGUARD_TEST_REDIS_URL")
    return REDIS_URL
