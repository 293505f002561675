"""Tables of the maritime domain: the position history and the vessel registry.

``maritime_position`` is the SQL backend of the history store (PostgreSQL deployments, or
``history_backend="sql"``; SQLite files default to Parquet, see ``history``): one row per
accepted fix, time as unix seconds (DOUBLE, so bulk inserts skip datetime conversion; 1.5x
faster measured), indexed by (mmsi, t) for "this vessel's track" and by t for "this area in this
window" and for retention. ``maritime_vessel`` is the registry plus the latest fix, upserted
from the in-memory picture with either backend. Measurements: docs/maritime.md ("History
store").
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from portguard.core.db import Base

__all__ = ["PositionRow", "VesselRow"]


class PositionRow(Base):
    __tablename__ = "maritime_position"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    mmsi: Mapped[int] = mapped_column(Integer, nullable=False)
    t: Mapped[float] = mapped_column(Float(precision=53), nullable=False)
    lat: Mapped[float] = mapped_column(Float(precision=53), nullable=False)
    lon: Mapped[float] = mapped_column(Float(precision=53), nullable=False)
    sog: Mapped[float] = mapped_column(Float, nullable=False)
    cog: Mapped[float] = mapped_column(Float, nullable=False)
    heading: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    msg_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)

    __table_args__ = (
        Index("ix_maritime_position_mmsi_t", "mmsi", "t"),
        Index("ix_maritime_position_t", "t"),
    )


class VesselRow(Base):
    __tablename__ = "maritime_vessel"

    mmsi: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(40))
    imo: Mapped[int | None] = mapped_column(Integer, index=True)
    callsign: Mapped[str | None] = mapped_column(String(20))
    ship_type: Mapped[int | None] = mapped_column(SmallInteger)
    length_m: Mapped[int | None] = mapped_column(Integer)
    beam_m: Mapped[int | None] = mapped_column(Integer)
    destination: Mapped[str | None] = mapped_column(String(40))
    eta: Mapped[str | None] = mapped_column(String(20))
    draught: Mapped[float | None] = mapped_column(Float)
    first_seen: Mapped[float | None] = mapped_column(Float(precision=53))
    last_seen: Mapped[float | None] = mapped_column(Float(precision=53))
    lat: Mapped[float | None] = mapped_column(Float(precision=53))
    lon: Mapped[float | None] = mapped_column(Float(precision=53))
    sog: Mapped[float | None] = mapped_column(Float)
    cog: Mapped[float | None] = mapped_column(Float)
    reports: Mapped[int] = mapped_column(Integer, default=0)
