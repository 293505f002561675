"""The Parquet history store: partitions, queries, pending fixes, compaction, retention; and the
choice of backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from portguard.core.db import Base, Database
from portguard.maritime.decode import FixBatch
from portguard.maritime.history import ParquetHistory
from portguard.maritime.store import PositionStore, default_history_dir, open_history

T0 = 1_767_225_600.0  # 2026-01-01T00:00Z


def _fixes(n: int, seed: int = 0, span_s: float = 3 * 3600.0) -> FixBatch:
    rng = np.random.default_rng(seed)
    m = 244_000_000 + rng.integers(0, 50, n)
    ints = rng.integers(0, 15, n)
    return FixBatch(
        mmsi=m, t=T0 + rng.uniform(0, span_s, n), lat=rng.uniform(51, 52, n),
        lon=rng.uniform(3, 5, n), sog=rng.integers(0, 1023, n) / 10.0,
        cog=rng.integers(0, 3600, n) / 10.0, heading=rng.integers(0, 511, n), status=ints,
        msg_type=ints % 3 + 1, second=ints,
    )  # fmt: skip


def _brute(
    f: FixBatch, mmsi: int | None, start: float | None, end: float | None, bbox: tuple | None
) -> list[tuple[int, float]]:
    keep = np.ones(len(f), dtype=bool)
    if mmsi is not None:
        keep &= f.mmsi == mmsi
    if start is not None:
        keep &= f.t >= start
    if end is not None:
        keep &= f.t <= end
    if bbox is not None:
        w, s, e, n = bbox
        keep &= (f.lon >= w) & (f.lon <= e) & (f.lat >= s) & (f.lat <= n)
    return sorted(zip(f.mmsi[keep].tolist(), f.t[keep].tolist(), strict=True), key=lambda r: r[1])


@pytest.mark.parametrize("backend", ["parquet", "sql"])
def test_queries_match_a_brute_force_filter(tmp_path: Path, backend: str) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    Base.metadata.create_all(db.engine)
    store = open_history(db, backend)
    assert isinstance(store, ParquetHistory if backend == "parquet" else PositionStore)
    a, b = _fixes(3000, 1), _fixes(2000, 2)
    store.add(a)
    store.flush()
    store.add(b)  # not flushed: queries see it anyway
    both = FixBatch.concat([a, b])
    cases = [
        (244_000_007, None, None, None),
        (244_000_007, T0 + 1800, T0 + 5400, None),
        (None, T0 + 3500, T0 + 3700, None),
        (None, None, None, (3.5, 51.2, 4.0, 51.5)),
        (244_000_049, T0, T0 + 10_000, (3.0, 51.0, 4.0, 52.0)),
    ]
    for mmsi, start, end, bbox in cases:
        got = store.query(mmsi=mmsi, start=start, end=end, bbox=bbox, limit=10**6)
        assert [(g.mmsi, g.t) for g in got] == _brute(both, mmsi, start, end, bbox)
    last = store.query(mmsi=244_000_007, limit=5)
    assert [(g.mmsi, g.t) for g in last] == _brute(both, 244_000_007, None, None, None)[-5:]
    one = store.query(mmsi=int(a.mmsi[0]), start=float(a.t[0]), end=float(a.t[0]))
    assert one[0].lat == a.lat[0] and one[0].sog == a.sog[0] and one[0].heading == a.heading[0]
    db.dispose()


def test_parquet_layout_compaction_and_retention(tmp_path: Path) -> None:
    store = ParquetHistory(tmp_path / "h", flush_rows=1000, row_group_rows=256)
    f = _fixes(5000, 3)
    for k in range(0, 5000, 500):
        store.add(f.take(slice(k, k + 500)))
    store.flush()
    hours = sorted(p.name for p in (tmp_path / "h").iterdir())
    assert hours == ["2026-01-01T00", "2026-01-01T01", "2026-01-01T02"]
    before = store.query(limit=10**6)
    assert len(before) == 5000
    assert store.compact(T0 + 2 * 3600) == 2  # the third hour is still open
    for h in hours[:2]:
        assert [p.name for p in (tmp_path / "h" / h).iterdir()] == ["hour.parquet"]
    assert store.query(limit=10**6) == before
    assert store.purge_before(T0 + 3600 + 10) == 1
    assert len(store.query(limit=10**6)) == sum(1 for x in before if x.t >= T0 + 3600)
    assert not any(p.suffix == ".tmp" for p in (tmp_path / "h").rglob("*"))


def test_backend_choice(tmp_path: Path) -> None:
    assert default_history_dir(f"sqlite:///{tmp_path}/p.db") == tmp_path / "maritime-history"
    assert default_history_dir("sqlite://") is None
    assert default_history_dir("sqlite:///:memory:") is None
    assert default_history_dir("postgresql+psycopg://u:p@h/db") is None
    mem = Database("sqlite://")
    assert isinstance(open_history(mem), PositionStore)
    assert isinstance(open_history(mem, "auto", tmp_path / "h"), ParquetHistory)
    with pytest.raises(ValueError):
        open_history(mem, "parquet")
    with pytest.raises(ValueError):
        open_history(mem, "duckdb")
    mem.dispose()
