"""AIS benchmark: pyais decoding alone vs PortGuard's whole maritime pipeline, side by side.

Needs ../shared/data/ais/aishub-2012-03-14.nmea (skips with a message when absent). Measures
CPU time (``time.process_time``, every thread of the process), best of ``--repeat`` runs:

  (a) pyais ``FileReaderStream`` + ``decode()`` of every message;
  (b) PortGuard: read, validate (checksums, tag blocks, fragments), decode, track, all
      detectors, alerts, and storage on (fixes and vessels into SQLite, WAL);

then: the fast decoder checked against pyais on every position report of the file, memory per
tracked vessel, a sweep over synthetic fleets up to 50,000 vessels in the port, the history
store measured as a SQL table against Parquet/DuckDB (when pyarrow/duckdb are installed), and
the alerts the file produces (``--alerts FILE`` writes them as JSON lines).

    .venv/bin/python bench/ais.py [--repeat 3] [--alerts aishub-alerts.jsonl]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ais"
FILE = DATA / "aishub-2012-03-14.nmea"
START = dt.datetime(2012, 3, 14, tzinfo=dt.UTC).timestamp()


def bench_pyais() -> tuple[int, float]:
    from pyais import FileReaderStream

    t = time.process_time()
    n = 0
    for msg in FileReaderStream(str(FILE)):
        msg.decode()
        n += 1
    return n, time.process_time() - t


def bench_pipeline(db_dir: Path | None):
    from portguard.core.db import Base, Database
    from portguard.maritime import MaritimeSettings, MaritimeWatch
    from portguard.maritime.intake import read_batches
    from portguard.portmodel import builtin_port_model

    model = builtin_port_model()
    db = None
    if db_dir is not None:
        db = Database(f"sqlite:///{db_dir / 'bench.db'}")
        Base.metadata.create_all(db.engine)
    alerts = []
    watch = MaritimeWatch(
        MaritimeSettings(live_clock=False),
        port_model=model,
        db=db,
        start_time=START,
        on_alert=lambda a, f: alerts.append(f),
    )
    t = time.process_time()
    for batch in read_batches(FILE, 4096):
        watch.process(batch)
    watch.finish()  # flushes the store and the vessel registry
    cpu = time.process_time() - t
    if db is not None:
        db.dispose()
    return watch, alerts, cpu


def verify_fast_path() -> tuple[int, int]:
    """Every 168-bit type 1/2/3/18 message of the file: fast path vs pyais, field by field."""
    from pyais import FileReaderStream

    from portguard.maritime.decode import _fast

    checked = mismatched = 0
    for msg in FileReaderStream(str(FILE)):
        m = msg.decode()
        if m.msg_type not in (1, 2, 3, 18) or len(msg.bv) != 168 or msg.fill_bits:
            continue
        payload = msg.payload if isinstance(msg.payload, bytes) else msg.payload.encode()
        f = _fast([payload], [None])
        same = (
            f.mmsi[0] == m.mmsi and f.lat[0] == m.lat and f.lon[0] == m.lon
            and f.sog[0] == m.speed and f.cog[0] == m.course and f.heading[0] == m.heading
            and f.second[0] == m.second and (m.msg_type == 18 or f.status[0] == m.status)
        )  # fmt: skip
        checked += 1
        mismatched += not same
    return checked, mismatched


def fleet_sweep(n: int) -> float:
    """Milliseconds for one sweep of every detector over ``n`` vessels inside the port."""
    from portguard.maritime import Pipeline
    from portguard.maritime.decode import FixBatch
    from portguard.portmodel import builtin_port_model

    rng = np.random.default_rng(1)
    p = Pipeline(builtin_port_model(), start=START)
    lat = rng.uniform(51.22, 51.46, n)
    lon = rng.uniform(3.5, 4.42, n)
    t = np.full(n, START)
    ints = np.zeros(n, dtype=np.int64)
    fixes = FixBatch(
        mmsi=np.arange(244_000_000, 244_000_000 + n, dtype=np.int64), t=t, lat=lat, lon=lon,
        sog=rng.uniform(0, 4, n), cog=rng.uniform(0, 360, n), heading=ints, status=ints,
        msg_type=ints + 1, second=ints,
    )  # fmt: skip
    p._track(fixes)
    p.clock = START + 5
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        p.sweep()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def store_comparison(rows: int = 200_000) -> dict[str, float]:
    """Insert rate and 'one vessel's track' query time: SQLite table vs Parquet+DuckDB."""
    from sqlalchemy import select

    from portguard.core.db import Base, Database
    from portguard.maritime.decode import FixBatch
    from portguard.maritime.models import PositionRow
    from portguard.maritime.store import PositionStore, positions

    rng = np.random.default_rng(2)
    ints = rng.integers(0, 500, rows)
    fixes = FixBatch(
        mmsi=244_000_000 + ints, t=START + np.arange(rows) * 0.01, lat=rng.uniform(51, 52, rows),
        lon=rng.uniform(3, 5, rows), sog=rng.uniform(0, 20, rows), cog=rng.uniform(0, 360, rows),
        heading=ints, status=ints % 16, msg_type=ints % 3 + 1, second=ints % 60,
    )  # fmt: skip
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        db = Database(f"sqlite:///{d}/s.db")
        Base.metadata.create_all(db.engine)
        store = PositionStore(db, flush_rows=10**9)
        t0 = time.process_time()
        store.add(fixes)
        store.flush()
        out["sql_insert_rows_per_cpu_s"] = rows / (time.process_time() - t0)
        t0 = time.perf_counter()
        with db.session() as s:
            for m in range(244_000_000, 244_000_050):
                positions(session=s, mmsi=m, start=START, end=START + rows)
            s.execute(select(PositionRow.id).limit(1))
        out["sql_track_query_ms"] = (time.perf_counter() - t0) / 50 * 1000
        db.dispose()
        try:
            import duckdb
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            return out
        t0 = time.process_time()
        cols = ("mmsi", "t", "lat", "lon", "sog", "cog", "heading", "status", "msg_type")
        table = pa.table({c: getattr(fixes, c) for c in cols})
        pq.write_table(table, f"{d}/p.parquet")
        out["parquet_insert_rows_per_cpu_s"] = rows / (time.process_time() - t0)
        con = duckdb.connect()
        t0 = time.perf_counter()
        for m in range(244_000_000, 244_000_050):
            con.execute(
                f"SELECT * FROM '{d}/p.parquet' WHERE mmsi = ? AND t BETWEEN ? AND ? ORDER BY t",
                [m, START, START + rows],
            ).fetchall()
        out["duckdb_track_query_ms"] = (time.perf_counter() - t0) / 50 * 1000
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alerts", type=Path, help="write the file's alerts here (JSON lines)")
    args = ap.parse_args()
    if not FILE.exists():
        print(f"skipped: {FILE} is absent (see ../shared/data/README.md)")
        return 0
    from portguard.maritime import finding_json

    a = min((bench_pyais() for _ in range(args.repeat)), key=lambda r: r[1])
    best = None
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as d:
            run = bench_pipeline(Path(d))
        if best is None or run[2] < best[2]:
            best = run
    assert best is not None
    watch, alerts, cpu = best
    st = watch.pipeline.stats
    rate_a = a[0] / a[1]
    rate_b = st.messages / cpu
    print(f"(a) pyais FileReaderStream+decode: {a[0]} msgs, {rate_a:,.0f} msgs/CPU-s")
    print(f"(b) PortGuard pipeline (storage on): {st.messages} msgs, {rate_b:,.0f} msgs/CPU-s"
          f"  -> {rate_b / rate_a:.2f}x (a)")  # fmt: skip
    _, _, cpu_nostore = bench_pipeline(None)
    print(f"    without storage: {st.messages / cpu_nostore:,.0f} msgs/CPU-s")
    print("    intake:", json.dumps({k: v for k, v in st.as_dict().items() if v}))
    checked, bad = verify_fast_path()
    print(f"fast path vs pyais: {checked} messages checked, {bad} differ")

    tracemalloc.start()
    w2, _, _ = bench_pipeline(None)
    cur, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(w2.pipeline.picture)
    print(f"memory: {n} vessels; picture {w2.pipeline.picture.nbytes() / n:.0f} B/vessel; whole "
          f"pipeline state incl. {len(w2.pipeline.history)} fixes of history "
          f"{cur / n:,.0f} B/vessel")  # fmt: skip
    for fleet in (1_000, 10_000, 50_000):
        print(f"sweep, all detectors, {fleet:,} vessels in the port: {fleet_sweep(fleet):.1f} ms")
    print("history store:", json.dumps({k: round(v, 2) for k, v in store_comparison().items()}))

    kinds = Counter(f.kind for f in alerts)
    print("alerts:", dict(kinds))
    if args.alerts:
        with args.alerts.open("w") as fh:
            for f in alerts:
                fh.write(json.dumps(finding_json(f, watch.pipeline.registry)) + "\n")
        print(f"alerts written to {args.alerts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
