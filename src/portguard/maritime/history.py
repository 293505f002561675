"""The columnar history store: accepted fixes as Parquet files, one directory per hour.

This module owns the Parquet backend of the track history (the default for SQLite deployments;
see docs/maritime.md, "History store", for the measurements). Layout::

    <root>/2012-03-14T00/<flush>.parquet     one file per flush and hour, rows sorted by (mmsi, t)
    <root>/2012-03-14T00/hour.parquet        after compaction: the whole hour in one file

Rows are sorted by (mmsi, t) in every file, written in row groups of ``row_group_rows`` with
statistics, so "this vessel's track" reads the row groups whose MMSI range holds it and skips the
rest; time windows skip whole hour directories by name. Writes go from the numpy columns
straight into Arrow (no per-row Python objects). Files are written under a temporary name and
renamed, so readers never see half a file. ``compact`` merges the flush files of closed hours into
one; ``purge_before`` deletes whole hours (retention has one-hour granularity).

Thread-safe: the intake thread adds and flushes, API threads query (one lock; queries also see
the fixes not yet flushed).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from portguard.maritime.decode import FixBatch
from portguard.maritime.store import StoredFix, fixes_to_stored

__all__ = ["SCHEMA", "ParquetHistory"]

SCHEMA: Final = pa.schema(
    [
        ("mmsi", pa.int32()),
        ("t", pa.float64()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("sog", pa.float64()),
        ("cog", pa.float64()),
        ("heading", pa.int16()),
        ("status", pa.int16()),
        ("msg_type", pa.int16()),
    ]
)
_HOUR_FMT: Final = "%Y-%m-%dT%H"
_COMPACT_NAME: Final = "hour.parquet"
_counter = itertools.count()


def _hour_name(hour: int) -> str:
    return dt.datetime.fromtimestamp(hour * 3600, tz=dt.UTC).strftime(_HOUR_FMT)


def _hour_of(name: str) -> int | None:
    try:
        when = dt.datetime.strptime(name, _HOUR_FMT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(when.timestamp()) // 3600


def _table(fixes: FixBatch) -> Any:
    order = np.lexsort((fixes.t, fixes.mmsi))
    return pa.Table.from_arrays(
        [
            pa.array(fixes.mmsi[order].astype(np.int32)),
            pa.array(fixes.t[order]),
            pa.array(fixes.lat[order]),
            pa.array(fixes.lon[order]),
            pa.array(fixes.sog[order]),
            pa.array(fixes.cog[order]),
            pa.array(fixes.heading[order].astype(np.int16)),
            pa.array(fixes.status[order].astype(np.int16)),
            pa.array(fixes.msg_type[order].astype(np.int16)),
        ],
        schema=SCHEMA,
    )


class ParquetHistory:
    """Buffered Parquet writer and reader of fixes under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        flush_rows: int = 50_000,
        max_age_s: float = 5.0,
        row_group_rows: int = 16_384,
        compression: str = "zstd",
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.flush_rows = flush_rows
        self.max_age_s = max_age_s
        self.row_group_rows = row_group_rows
        self.compression = compression
        self.written = 0
        self._buf: list[FixBatch] = []
        self._n = 0
        self._since = time.monotonic()
        self._lock = threading.Lock()

    # -- writing -----------------------------------------------------------------------------

    def add(self, fixes: FixBatch) -> None:
        if not len(fixes):
            return
        with self._lock:
            if not self._buf:
                self._since = time.monotonic()
            self._buf.append(fixes)
            self._n += len(fixes)
            if self._n >= self.flush_rows:
                self._flush()

    def tick(self) -> int:
        """Periodic call: write the buffer when it is older than ``max_age_s``. Five seconds by
        default, like the SQL store: a crash loses at most that much track history (never an
        alert); the hourly compaction merges the many small files this makes."""
        with self._lock:
            if self._buf and time.monotonic() - self._since >= self.max_age_s:
                return self._flush()
        return 0

    def flush(self) -> int:
        with self._lock:
            return self._flush()

    def _flush(self) -> int:
        if not self._buf:
            return 0
        batch = FixBatch.concat(self._buf)
        self._buf, self._n = [], 0
        hours = np.floor(batch.t / 3600.0).astype(np.int64)
        one = bool(hours.min() == hours.max())
        for h in np.unique(hours).tolist():
            part = batch if one else batch.take(hours == h)
            d = self.root / _hour_name(h)
            d.mkdir(exist_ok=True)
            self._write(_table(part), d / f"{time.time_ns()}-{os.getpid()}-{next(_counter)}")
        self.written += len(batch)
        return len(batch)

    def _write(self, table: Any, stem: Path) -> None:
        tmp = stem.with_suffix(".tmp")
        pq.write_table(
            table,
            tmp,
            compression=self.compression,
            use_dictionary=["mmsi", "status", "msg_type"],
            row_group_size=self.row_group_rows,
            write_statistics=["mmsi", "t", "lat", "lon"],
        )
        tmp.replace(stem.with_suffix(".parquet"))

    # -- maintenance -------------------------------------------------------------------------

    def _hours(self) -> list[tuple[int, Path]]:
        out = []
        for entry in os.scandir(self.root):
            h = _hour_of(entry.name) if entry.is_dir() else None
            if h is not None:
                out.append((h, Path(entry.path)))
        out.sort()
        return out

    def compact(self, before: float) -> int:
        """Merge the files of each hour that ended before ``before`` into one, sorted by
        (mmsi, t); returns how many hours were compacted."""
        done = 0
        with self._lock:
            for h, d in self._hours():
                if (h + 1) * 3600 > before:
                    break
                files = sorted(d.glob("*.parquet"))
                if len(files) < 2:
                    continue
                table = pa.concat_tables([pq.read_table(f, schema=SCHEMA) for f in files])
                table = table.sort_by([("mmsi", "ascending"), ("t", "ascending")])
                self._write(table, d / Path(_COMPACT_NAME).stem)
                for f in files:
                    if f.name != _COMPACT_NAME:
                        f.unlink()
                done += 1
        return done

    def purge_before(self, t: float) -> int:
        """Retention: delete the hours that ended before ``t``; returns how many."""
        n = 0
        with self._lock:
            for h, d in self._hours():
                if (h + 1) * 3600 > t:
                    break
                shutil.rmtree(d, ignore_errors=True)
                n += 1
        return n

    # -- reading -----------------------------------------------------------------------------

    def query(
        self,
        *,
        mmsi: int | None = None,
        start: float | None = None,
        end: float | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 10_000,
    ) -> list[StoredFix]:
        """Fixes by vessel, time window (unix s) and area (west, south, east, north): the latest
        ``limit`` in time order, including fixes not yet flushed."""
        conds: list[Any] = []
        if mmsi is not None:
            conds.append(pc.field("mmsi") == mmsi)
        if start is not None:
            conds.append(pc.field("t") >= start)
        if end is not None:
            conds.append(pc.field("t") <= end)
        if bbox is not None:
            w, s, e, n = bbox
            conds += [
                pc.field("lon") >= w,
                pc.field("lon") <= e,
                pc.field("lat") >= s,
                pc.field("lat") <= n,
            ]
        expr = None
        for c in conds:
            expr = c if expr is None else expr & c
        lo = -np.inf if start is None else np.floor(start / 3600)
        hi = np.inf if end is None else np.floor(end / 3600)
        tables = []
        with self._lock:
            pending = FixBatch.concat(self._buf)
            if len(pending):
                keep = np.ones(len(pending), dtype=bool)
                if mmsi is not None:
                    keep &= pending.mmsi == mmsi
                if start is not None:
                    keep &= pending.t >= start
                if end is not None:
                    keep &= pending.t <= end
                if bbox is not None:
                    w, s, e, n = bbox
                    lat, lon = pending.lat, pending.lon
                    keep &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
                if keep.any():
                    tables.append(_table(pending.take(keep)))
            # Newest hour first; every fix of an older hour is older than all of a newer one,
            # so once ``limit`` fixes are in hand the older hours cannot contribute.
            found = 0
            for h, d in reversed(self._hours()):
                if found >= limit:
                    break
                if lo <= h <= hi:
                    for f in d.glob("*.parquet"):
                        table = pq.read_table(f, schema=SCHEMA, filters=expr)
                        found += table.num_rows
                        tables.append(table)
        if not tables:
            return []
        table = pa.concat_tables(tables)
        t = table.column("t").to_numpy()
        order = np.argsort(t, kind="stable")[-limit:] if limit > 0 else np.zeros(0, np.int64)
        cols = {name: table.column(name).to_numpy()[order] for name in SCHEMA.names}
        return fixes_to_stored(cols)
