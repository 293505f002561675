"""The history store: the interface, the SQL backend (``maritime_position``), the vessel upsert.

This module owns persistence of tracks. Two backends implement ``HistoryStore`` (buffered
``add``, ``flush``, periodic ``tick``, ``query``, ``compact``, ``purge_before``):

* ``ParquetHistory`` (``portguard.maritime.history``): Parquet files per hour; the default
  where the database is a SQLite file (written ~15x cheaper than SQLite rows, see
  docs/maritime.md, "History store");
* ``PositionStore`` (here): the ``maritime_position`` table, written by one DBAPI
  ``executemany`` per ``flush_rows`` fixes (SQLAlchemy's ORM would cost 20x more per row); the
  choice for PostgreSQL, where workers on several machines share the history.

``open_history`` picks one from the settings. The vessel registry (``save_vessels``) is always
the SQL table ``maritime_vessel``. Module functions that read take the caller's session.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from portguard.core.db import Database
from portguard.maritime.decode import FixBatch
from portguard.maritime.models import PositionRow, VesselRow
from portguard.maritime.tracks import Picture, Registry

__all__ = [
    "HISTORY_BACKENDS",
    "HistoryStore",
    "PositionStore",
    "StoredFix",
    "default_history_dir",
    "open_history",
    "positions",
    "purge_before",
    "save_vessels",
]

_COLS = ("mmsi", "t", "lat", "lon", "sog", "cog", "heading", "status", "msg_type")
HISTORY_BACKENDS = ("auto", "parquet", "sql")
#: Where the Parquet history lives next to a SQLite database file.
HISTORY_DIRNAME = "maritime-history"


class StoredFix(NamedTuple):
    """One stored fix, whichever backend it comes from."""

    mmsi: int
    t: float
    lat: float
    lon: float
    sog: float
    cog: float
    heading: int
    status: int
    msg_type: int


def fixes_to_stored(cols: Mapping[str, Any]) -> list[StoredFix]:
    """Columns (numpy arrays named as ``StoredFix``'s fields) to ``StoredFix`` tuples."""
    lists = [np.asarray(cols[name]).tolist() for name in StoredFix._fields]
    return [StoredFix(*row) for row in zip(*lists, strict=True)]


class HistoryStore(Protocol):
    written: int

    def add(self, fixes: FixBatch) -> None: ...

    def flush(self) -> int: ...

    def tick(self) -> int: ...

    def query(
        self,
        *,
        mmsi: int | None = None,
        start: float | None = None,
        end: float | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 10_000,
    ) -> list[StoredFix]: ...

    def compact(self, before: float) -> int: ...

    def purge_before(self, t: float) -> int: ...


def default_history_dir(url: str) -> Path | None:
    """The Parquet directory that goes with a database URL: next to a SQLite file; None for
    in-memory SQLite and for server databases (PostgreSQL keeps the history in SQL)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.database.startswith("file:"):
        return None
    return Path(u.database).resolve().parent / HISTORY_DIRNAME


def open_history(db: Database, backend: str = "auto", directory: Path | None = None) -> Any:
    """The history store for ``backend`` ("auto": Parquet next to a SQLite file or in
    ``directory``, else the SQL table)."""
    if backend not in HISTORY_BACKENDS:
        raise ValueError(f"history backend must be one of {HISTORY_BACKENDS}, not {backend!r}")
    where = directory or default_history_dir(db.url)
    if backend == "parquet" or (backend == "auto" and where is not None):
        if where is None:
            raise ValueError("the Parquet history needs a directory (history_dir)")
        from portguard.maritime.history import ParquetHistory

        return ParquetHistory(where)
    return PositionStore(db)


class PositionStore:
    """Buffered bulk writer of fixes into ``maritime_position`` (the SQL backend)."""

    def __init__(self, db: Database, *, flush_rows: int = 20_000) -> None:
        self.db = db
        self.flush_rows = flush_rows
        self._buf: list[FixBatch] = []
        self._n = 0
        self.written = 0
        self._lock = threading.RLock()
        style = db.engine.dialect.paramstyle
        marks = (
            ", ".join(["?"] * len(_COLS)) if style == "qmark" else ", ".join(["%s"] * len(_COLS))
        )
        self._sql = f"INSERT INTO {PositionRow.__tablename__} ({', '.join(_COLS)}) VALUES ({marks})"

    def add(self, fixes: FixBatch) -> None:
        if not len(fixes):
            return
        with self._lock:
            self._buf.append(fixes)
            self._n += len(fixes)
            if self._n >= self.flush_rows:
                self.flush()

    def flush(self) -> int:
        with self._lock:
            if not self._buf:
                return 0
            batch = FixBatch.concat(self._buf)
            self._buf, self._n = [], 0
            rows = list(zip(*(getattr(batch, c).tolist() for c in _COLS), strict=True))
            with self.db.engine.begin() as conn:
                conn.exec_driver_sql(self._sql, rows)
            self.written += len(rows)
            return len(rows)

    def tick(self) -> int:
        return self.flush()

    def query(
        self,
        *,
        mmsi: int | None = None,
        start: float | None = None,
        end: float | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 10_000,
    ) -> list[StoredFix]:
        """Like ``positions``, in its own session, after writing what is buffered."""
        self.flush()
        with self.db.session() as session:
            rows = _sql_positions(session, mmsi, start, end, bbox, limit)
            return [StoredFix(*(getattr(r, c) for c in _COLS)) for r in rows]

    def compact(self, before: float) -> int:
        return 0

    def purge_before(self, t: float) -> int:
        with self.db.session() as session:
            return purge_before(session=session, t=t)


def positions(
    *,
    session: Session,
    mmsi: int | None = None,
    start: float | None = None,
    end: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 10_000,
) -> list[StoredFix]:
    """Stored fixes by vessel, time window (unix s) and area (west, south, east, north): the
    latest ``limit`` in time order, from the SQL table and, when the session's database is a
    SQLite file with a Parquet history next to it, from there too."""
    rows = [
        StoredFix(*(getattr(r, c) for c in _COLS))
        for r in _sql_positions(session, mmsi, start, end, bbox, limit)
    ]
    where = default_history_dir(str(session.get_bind().engine.url))
    if where is not None and where.is_dir():
        from portguard.maritime.history import ParquetHistory

        more = ParquetHistory(where).query(mmsi=mmsi, start=start, end=end, bbox=bbox, limit=limit)
        if more:
            rows = sorted(rows + more, key=lambda f: f.t)[-limit:]
    return rows


def _sql_positions(
    session: Session,
    mmsi: int | None,
    start: float | None,
    end: float | None,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
) -> list[PositionRow]:
    q = select(PositionRow)
    if mmsi is not None:
        q = q.where(PositionRow.mmsi == mmsi)
    if start is not None:
        q = q.where(PositionRow.t >= start)
    if end is not None:
        q = q.where(PositionRow.t <= end)
    if bbox is not None:
        w, s, e, n = bbox
        q = q.where(PositionRow.lon.between(w, e), PositionRow.lat.between(s, n))
    q = q.order_by(PositionRow.t.desc()).limit(limit)
    rows = list(session.execute(q).scalars())
    rows.reverse()
    return rows


def purge_before(*, session: Session, t: float) -> int:
    """Retention: delete fixes older than ``t``; returns how many."""
    res = session.execute(delete(PositionRow).where(PositionRow.t < t))
    return int(getattr(res, "rowcount", 0) or 0)


_VESSEL_COLS = (
    "mmsi", "name", "imo", "callsign", "ship_type", "length_m", "beam_m", "destination", "eta",
    "draught", "first_seen", "last_seen", "lat", "lon", "sog", "cog", "reports",
)  # fmt: skip


def save_vessels(
    *, session: Session, picture: Picture, registry: Registry, mmsis: Sequence[int]
) -> int:
    """Upsert registry data and latest fix of these vessels (``INSERT ... ON CONFLICT DO
    UPDATE``, the same SQL on SQLite and PostgreSQL), in one executemany."""
    if not mmsis:
        return 0
    ms = sorted(set(mmsis))
    # Latest fix of each vessel from the picture's columns, gathered at once.
    c = picture.cols
    found = [picture.row(m) for m in ms]
    rows_ix = np.array([-1 if r is None else r for r in found], dtype=np.int64)
    take = np.maximum(rows_ix, 0)
    fix = {k: c[k][take].tolist() for k in ("lat", "lon", "sog", "cog", "t", "t_first", "n")}
    rows: list[tuple[Any, ...]] = []
    for k, m in enumerate(ms):
        info = registry.get(m)
        if info is not None:
            static: tuple[Any, ...] = (
                info.name, info.imo, info.callsign, info.ship_type, info.length_m,
                info.beam_m, info.destination, info.eta, info.draught,
            )  # fmt: skip
        else:
            static = (None,) * 9
        if found[k] is not None:
            first = fix["t_first"][k]
            latest: tuple[Any, ...] = (
                None if first != first else first,  # NaN: not known
                fix["t"][k], fix["lat"][k], fix["lon"][k], fix["sog"][k], fix["cog"][k],
                fix["n"][k],
            )  # fmt: skip
        else:
            latest = (None, None, None, None, None, None, 0)
        rows.append((m, *static, *latest))
    dialect = session.get_bind().dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    updates = ", ".join(
        f"{k} = COALESCE(excluded.{k}, {VesselRow.__tablename__}.{k})" for k in _VESSEL_COLS[1:]
    )
    sql = (
        f"INSERT INTO {VesselRow.__tablename__} ({', '.join(_VESSEL_COLS)}) "
        f"VALUES ({', '.join([mark] * len(_VESSEL_COLS))}) "
        f"ON CONFLICT (mmsi) DO UPDATE SET {updates}"
    )
    session.connection().exec_driver_sql(sql, rows)
    return len(rows)
