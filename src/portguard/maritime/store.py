"""The history store: fixes into ``maritime_position`` in bulk, queries, retention.

This module owns persistence of tracks. Writes are buffered and go in as one DBAPI
``executemany`` per ``flush_rows`` fixes (SQLAlchemy's ORM would cost 20x more per row);
``flush()`` forces them out. Functions that read take the caller's session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portguard.core.db import Database
from portguard.maritime.decode import FixBatch
from portguard.maritime.models import PositionRow, VesselRow
from portguard.maritime.tracks import Picture, Registry

__all__ = ["PositionStore", "positions", "purge_before", "save_vessels"]

_COLS = ("mmsi", "t", "lat", "lon", "sog", "cog", "heading", "status", "msg_type")


class PositionStore:
    """Buffered bulk writer of fixes."""

    def __init__(self, db: Database, *, flush_rows: int = 20_000) -> None:
        self.db = db
        self.flush_rows = flush_rows
        self._buf: list[FixBatch] = []
        self._n = 0
        self.written = 0
        style = db.engine.dialect.paramstyle
        marks = (
            ", ".join(["?"] * len(_COLS)) if style == "qmark" else ", ".join(["%s"] * len(_COLS))
        )
        self._sql = f"INSERT INTO {PositionRow.__tablename__} ({', '.join(_COLS)}) VALUES ({marks})"

    def add(self, fixes: FixBatch) -> None:
        if not len(fixes):
            return
        self._buf.append(fixes)
        self._n += len(fixes)
        if self._n >= self.flush_rows:
            self.flush()

    def flush(self) -> int:
        if not self._buf:
            return 0
        batch = FixBatch.concat(self._buf)
        self._buf, self._n = [], 0
        rows = list(zip(*(getattr(batch, c).tolist() for c in _COLS), strict=True))
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(self._sql, rows)
        self.written += len(rows)
        return len(rows)


def positions(
    *,
    session: Session,
    mmsi: int | None = None,
    start: float | None = None,
    end: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 10_000,
) -> list[PositionRow]:
    """Stored fixes by vessel, time window (unix s) and area (west, south, east, north)."""
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
    rows: list[tuple[Any, ...]] = []
    c = picture.cols
    for m in sorted(set(mmsis)):
        rec: dict[str, Any] = dict.fromkeys(_VESSEL_COLS)
        rec["mmsi"], rec["reports"] = m, 0
        info = registry.get(m)
        if info is not None:
            rec.update({k: v for k, v in info.as_dict().items() if k in rec})
        r = picture.row(m)
        if r is not None:
            for k in ("lat", "lon", "sog", "cog"):
                rec[k] = float(c[k][r])
            rec["last_seen"] = float(c["t"][r])
            first = float(c["t_first"][r])
            rec["first_seen"] = None if np.isnan(first) else first
            rec["reports"] = int(c["n"][r])
        rows.append(tuple(rec[k] for k in _VESSEL_COLS))
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
