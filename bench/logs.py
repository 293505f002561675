"""Sigma benchmark: SigmaHQ's regression samples (correctness), then events/s through the SigmaHQ
Windows rule set, PortGuard's engine side by side with pySigma's SQLite backend (the Zircolite
approach: every rule a SQL query over an in-memory table of events). Times are CPU time of the
process (``time.process_time``), so that other work on a shared machine does not count.

Needs ../shared/data/sigma (skips with a message when absent) and, for the baseline,
``pysigma-backend-sqlite`` (a dev dependency).

    .venv/bin/python bench/logs.py [--replays 300] [--repeat 3] [--details]
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from portguard.logs.intake import IntakeError, read_path
from portguard.logs.mapping import LogRecord
from portguard.logs.sigma.compiler import EventView
from portguard.logs.sigma.engine import SigmaEngine
from portguard.logs.sigma.loader import load_rules

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sigma"


def regression(details: bool) -> list[LogRecord]:
    dirs = [DATA / "rules", DATA / "rules-emerging-threats", DATA / "rules-threat-hunting"]
    t0 = time.process_time()
    rs = load_rules(dirs)
    load_s = time.process_time() - t0
    print(f"rules: {rs.summary()} loaded and compiled in {load_s:.1f} s")
    for p in rs.problems:
        print(f"  not loaded: {p.location or p.path}: {p.reason}")
    engine = SigmaEngine(rs.rules)
    titles = {r.id: r.title for r in rs.rules}
    samples = sorted(DATA.glob("regression_data/**/info.yml"))
    ok = 0
    others: Counter[str] = Counter()
    records: list[LogRecord] = []
    rows = []
    for info in samples:
        meta = yaml.safe_load(info.read_text("utf-8"))
        want = str(meta["rule_metadata"][0]["id"])
        files = sorted(info.parent.glob("*.evtx"))
        fired: set[str] = set()
        n = errors = 0
        for f in files:
            for item in read_path(f):
                if isinstance(item, IntakeError):
                    errors += 1
                    continue
                n += 1
                records.append(item)
                fired |= {r.id for r in engine.match(item)}
        own = want in fired
        ok += own
        extra = sorted(fired - {want})
        others.update(titles[x] for x in extra)
        reason = ""
        if not own:
            raw = [p.name for p in info.parent.iterdir() if p.suffix not in (".yml",)]
            reason = (
                f"no EVTX sample (only {', '.join(raw)}; upstream test disabled)"
                if not files
                else "rule did not fire"
            )
        rows.append((info.parent.name, n, own, len(extra), reason, extra))
    print(
        f"\nregression: {ok}/{len(samples)} samples fire their own rule; "
        f"{sum(r[3] for r in rows)} other-rule matches on {sum(1 for r in rows if r[3])} samples"
    )
    for name, n, own, n_extra, reason, extra in rows:
        if details or not own:
            mark = "ok " if own else "MISS"
            print(f"  {mark} {name} ({n} records): +{n_extra} other rules {reason}")
            if details:
                for x in extra:
                    print(f"         also: {titles[x]}")
    print("\nother rules firing most often on the samples:")
    for title, c in others.most_common(12):
        print(f"  {c:3d}  {title}")
    return records


def ours(records: list[LogRecord], replays: int, repeat: int) -> float:
    rs = load_rules([DATA / "rules" / "windows"])
    engine = SigmaEngine(rs.rules)
    stream = records * replays
    best = 0.0
    for _ in range(repeat):
        t0 = time.process_time()
        for rec in stream:
            engine.match(rec)
        best = max(best, len(stream) / (time.process_time() - t0))
    per = engine.stats.candidates / max(engine.stats.records, 1)
    print(
        f"\nPortGuard engine: {len(rs.rules)} Windows rules, {len(stream)} events: "
        f"{best:,.0f} events/s (best of {repeat}); {per:.1f} full rule evaluations per event"
    )
    view_s = min(_time(lambda: [EventView(r.fields) for r in stream]) for _ in range(repeat))
    print(f"  of which building the field view: {view_s / len(stream) * 1e6:.1f} µs per event")
    return best


def _time(fn: Any) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def sqlite_baseline(records: list[LogRecord], replays: int) -> float | None:
    try:
        from sigma.backends.sqlite import sqliteBackend
        from sigma.collection import SigmaCollection
    except ImportError:
        print("\nSQLite baseline skipped: pip install pysigma-backend-sqlite")
        return None
    files = sorted((DATA / "rules" / "windows").rglob("*.yml"))
    backend = sqliteBackend(collect_errors=True)
    queries: list[str] = []
    failed = 0
    t0 = time.process_time()
    for f in files:
        try:
            coll = SigmaCollection.from_yaml(f.read_text("utf-8"), collect_errors=True)
            for q in backend.convert(coll):
                queries.append(str(q))
        except Exception:
            failed += 1
    conv_s = time.process_time() - t0
    print(
        f"\nSQLite baseline: {len(queries)} queries from {len(files)} rules "
        f"({failed} not convertible) in {conv_s:.1f} s"
    )
    stream = records * replays
    columns: dict[str, None] = {}
    for r in stream[: len(records)]:
        for k in r.fields:
            columns.setdefault(k.lower(), None)

    def build() -> sqlite3.Connection:
        db = sqlite3.connect(":memory:")
        db.create_function(
            "regexp",
            2,
            lambda p, v: v is not None and re.search(p, str(v)) is not None,
            deterministic=True,
        )
        cols = ", ".join(f'"{c}" TEXT COLLATE NOCASE' for c in columns)
        db.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {cols})")
        names = list(columns)
        marks = ", ".join("?" for _ in names)
        lowered = [{k.lower(): v for k, v in r.fields.items()} for r in stream]
        quoted = ", ".join(f'"{n}"' for n in names)
        db.executemany(
            f"INSERT INTO logs ({quoted}) VALUES ({marks})",
            ([None if (v := d.get(n)) is None else str(v) for n in names] for d in lowered),
        )
        return db

    # Warm-up: add the columns rules name that the events lack (as Zircolite's schema would).
    probe = build()
    for q in queries:
        for _ in range(20):
            try:
                probe.execute(q + " LIMIT 0").fetchall()
                break
            except sqlite3.OperationalError as exc:
                m = re.search(r"no such column: (\S+)", str(exc))
                if not m:
                    break
                columns.setdefault(m.group(1).strip('"').lower(), None)
                probe.execute(
                    f'ALTER TABLE logs ADD COLUMN "{m.group(1).strip(chr(34))}" TEXT COLLATE NOCASE'
                )
    probe.close()
    t0 = time.process_time()
    db = build()
    load_s = time.process_time() - t0
    hits = errors = 0
    t1 = time.process_time()
    for q in queries:
        try:
            hits += len(db.execute(q).fetchall())
        except sqlite3.Error:
            errors += 1
    query_s = time.process_time() - t1
    total = load_s + query_s
    rate = len(stream) / total
    print(
        f"  {len(stream)} events: load {load_s:.1f} s + {len(queries)} queries {query_s:.1f} s "
        f"= {rate:,.0f} events/s ({hits} rows matched, {errors} queries failed)"
    )
    return rate


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replays", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--details", action="store_true")
    args = ap.parse_args()
    if not (DATA / "regression_data").is_dir():
        print(f"skipped: {DATA} not found (the SigmaHQ rules and regression samples)")
        return 0
    records = regression(args.details)
    rate = ours(records, args.replays, args.repeat)
    base = sqlite_baseline(records, args.replays)
    if base:
        print(f"\nPortGuard / SQLite baseline: {rate / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
