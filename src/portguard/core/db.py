"""Storage engine: SQLAlchemy 2 over SQLite (WAL) by default, PostgreSQL by URL; Alembic migrations.

Every table of every domain hangs off ``Base.metadata``; the Alembic migrations in
``portguard/app/migrations`` (the composition root sees every domain) create them. Services
receive their session; they never make one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from portguard.core.clock import ensure_utc
from portguard.core.errors import StorageError

__all__ = [
    "Base",
    "Database",
    "UTCDateTime",
    "make_engine",
    "migrate",
    "take_write_lock",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always hands back aware UTC (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return ensure_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return ensure_utc(value)


class Base(DeclarativeBase):
    pass


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a process crash (SIGKILL); only power loss can drop the last
    # transactions. FULL costs an fsync per commit.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StorageError(f"cannot use database URL {_redact(url)}: {exc}") from None
    return engine


def _redact(url: str) -> str:
    """Never log a database password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def take_write_lock(session: Session, table: str) -> None:
    """Make the rest of this transaction see the latest committed state and exclude other
    writers, before a read-then-write (hash chains, counters).

    SQLite's driver opens a transaction only at the first write, so a read before it may see a
    state another writer is about to change; a no-op UPDATE takes the database write lock first
    (waiting up to busy_timeout). PostgreSQL callers use an advisory lock instead.
    """
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy import text

        session.execute(text(f'UPDATE "{table}" SET rowid = rowid WHERE 1 = 0'))


def migrate(engine: Engine, *, script_location: Path, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` with the Alembic scripts at ``script_location`` (the
    composition root owns them, since they cover every domain's tables)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        where = _redact(str(engine.url))
        raise StorageError(f"cannot migrate database {where}: {exc.orig}") from None


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self, script_location: Path) -> None:
        migrate(self.engine, script_location=script_location)

    def has_schema(self) -> bool:
        return inspect(self.engine).has_table("alembic_version")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except OperationalError as exc:
                s.rollback()
                raise StorageError(f"database error: {exc.orig}") from None
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
