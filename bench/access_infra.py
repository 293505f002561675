"""Access and correlation benchmarks.

1. Access events/s through every access detector with 100,000 badges and 500 readers (the
   readers spread over the port's facilities; a realistic mix of granted and denied reads, entry
   and exit, door events). Measured twice: detectors alone (Event in, findings out), and the
   whole intake path (record validation → Event → detectors → Alerts).
2. Correlation throughput with 1,000,000 open alerts in the window: the incident tables are
   seeded with bulk inserts (200,000 open incidents, their keys, 1,000,000 alerts inside the
   24 h window), then new alerts are ingested one transaction per alert (``ingest_alert``, what
   the Dispatcher handler does) and in batches of 500 (``ingest_alerts``, the
   ``BatchAlertConsumer``). The new alerts are a mix: 70 % join an open incident through a shared
   key, 20 % repeat an earlier finding (deduplicated), 10 % open a new incident.

Times are wall-clock (the database work is I/O as much as CPU); run on an idle machine.

    .venv/bin/python bench/access_infra.py [--badges 100000] [--readers 500] [--events 200000]
        [--alerts 1000000] [--incidents 200000] [--ingest 20000] [--pg URL] [--skip-access]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from portguard.access import AccessConfig, AccessControl, Credential
from portguard.core.clock import FixedClock
from portguard.core.db import Database
from portguard.core.types import Alert, Domain, EntityRef, Severity
from portguard.incidents import service
from portguard.incidents.correlation import CorrelationRules
from portguard.incidents.models import AlertRecord, Incident, IncidentKey
from portguard.portmodel import builtin_port_model
from portguard.testing import migrated_db

T0 = datetime(2026, 11, 3, 6, tzinfo=UTC)


# --- 1. access ------------------------------------------------------------------------------


def bench_access(badges: int, readers: int, events: int, seed: int = 7) -> dict[str, float]:
    rnd = random.Random(seed)
    model = builtin_port_model()
    facilities = [f for f in model.facilities() if f.kind.value != "port_area"]
    extra: dict[str, dict[str, Any]] = {}
    for i in range(readers):
        fac = facilities[i % len(facilities)]
        extra[f"rdr-{i:04d}"] = {
            "lat": fac.lat + rnd.uniform(-0.003, 0.003),
            "lon": fac.lon + rnd.uniform(-0.003, 0.003),
            "facility": fac.id,
            "closed_at_level": 2 if i % 10 == 0 else None,
        }
    config = AccessConfig.from_dict({"readers": extra})
    ac = AccessControl(config, port_model=model, clock=FixedClock(T0 + timedelta(days=2)))
    by_fac: dict[str, list[str]] = {}
    for rid, r in extra.items():
        by_fac.setdefault(r["facility"], []).append(rid)
    creds = []
    for i in range(badges):
        fac = facilities[i % len(facilities)].id
        creds.append(
            Credential(
                badge=f"B-{i:06d}",
                holder=f"holder {i}",
                person_id=f"P-{i:06d}",
                organisation=f"org-{i % 300}",
                clearances=frozenset({fac}),
                hours="mon-fri 06:00-20:00" if i % 3 == 0 else "",
                revoked=i % 997 == 0,
                visitor=i % 50 == 0,
            )
        )
    ac.set_credentials(creds)
    records: list[tuple[str, dict[str, Any]]] = []
    t = T0
    for n in range(events):
        t += timedelta(milliseconds=rnd.randint(50, 400))
        b = rnd.randrange(badges + badges // 100)  # ~1 % unknown badges
        home = facilities[b % len(facilities)].id if b < badges else facilities[0].id
        fac_readers = by_fac[home] if rnd.random() < 0.97 else by_fac[rnd.choice(list(by_fac))]
        rec: dict[str, Any] = {
            "time": t.isoformat(),
            "reader": rnd.choice(fac_readers),
            "badge": f"B-{b:06d}",
            "result": "granted" if rnd.random() < 0.95 else "denied",
            "direction": rnd.choice(("in", "out")),
            "controller": "bench",
            "id": str(n),
        }
        if n % 50 == 0:
            rec = {"time": rec["time"], "reader": rec["reader"], "type": "door_open", "id": str(n)}
        records.append((f"r{n}", rec))

    # Intake alone (validation → Events), then detectors alone, then detectors + Alerts.
    t1 = time.perf_counter()
    report = ac.ingest_records(records, source="bench")
    intake_s = time.perf_counter() - t1
    evs = report.events
    t1 = time.perf_counter()
    n_findings = 0
    for ev in evs:
        n_findings += len(ac.detectors.process(ev))
    detect_s = time.perf_counter() - t1
    ac2 = AccessControl(config, port_model=model, clock=FixedClock(T0 + timedelta(days=2)))
    ac2.set_credentials(creds)
    t1 = time.perf_counter()
    alerts = ac2.process(evs)
    full_s = time.perf_counter() - t1
    return {
        "events": len(evs),
        "intake_events_per_s": len(evs) / intake_s,
        "detectors_events_per_s": len(evs) / detect_s,
        "detectors_and_alerts_events_per_s": len(evs) / full_s,
        "end_to_end_events_per_s": len(evs) / (intake_s + full_s),
        "findings": n_findings,
        "alerts": len(alerts),
    }


# --- 2. correlation ----------------------------------------------------------------------------


def _payload(ents: list[tuple[str, str]]) -> dict[str, Any]:
    return {"entities": [{"kind": k, "value": v} for k, v in ents], "location": None}


def seed(db: Database, *, alerts: int, incidents: int, now: datetime) -> None:
    """Bulk-insert open incidents, their keys and alerts, all inside the 24 h window."""
    per = max(1, alerts // incidents)
    chunk = 20_000
    eng = db.engine
    t1 = time.perf_counter()
    with eng.begin() as conn:
        rows: list[dict[str, Any]] = []
        for i in range(incidents):
            seen = now - timedelta(seconds=(i * 7) % 80_000)
            rows.append(
                {
                    "id": f"I{i:025d}",
                    "ref": f"INC-{now.year}-{i + 1:04d}",
                    "title": "seeded",
                    "summary": "",
                    "status": "new",
                    "severity": 2,
                    "category": "cyber_attack",
                    "tlp": "amber",
                    "hybrid": False,
                    "tags": [],
                    "domains": ["logs"],
                    "created_at": seen,
                    "updated_at": seen,
                    "first_seen": seen,
                    "last_seen": seen,
                    "significant": False,
                    "significance_criteria": [],
                    "cross_border_details": "",
                    "impact": "",
                    "affected_services": "",
                    "threat_type": "",
                    "root_cause": "",
                    "mitigation_applied": "",
                    "mitigation_ongoing": "",
                }
            )
            if len(rows) >= chunk:
                conn.execute(insert(Incident), rows)
                rows = []
        if rows:
            conn.execute(insert(Incident), rows)
    with eng.begin() as conn:
        keys: list[dict[str, Any]] = []
        for i in range(incidents):
            seen = now - timedelta(seconds=(i * 7) % 80_000)
            for k in (f"host:h{i}.bench", f"ip:10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"):
                keys.append({"incident_id": f"I{i:025d}", "key": k, "last_seen": seen})
            if len(keys) >= chunk:
                conn.execute(insert(IncidentKey), keys)
                keys = []
        if keys:
            conn.execute(insert(IncidentKey), keys)
    with eng.begin() as conn:
        recs: list[dict[str, Any]] = []
        for j in range(alerts):
            i = j % incidents
            seen = now - timedelta(seconds=(i * 7) % 80_000)
            host = f"h{i}.bench"
            recs.append(
                {
                    "id": f"A{j:025d}",
                    "rule_id": f"bench.rule.{j // incidents % per}",
                    "domain": "logs",
                    "severity": 2,
                    "title": "seeded",
                    "tlp": "amber",
                    "observed_at": seen,
                    "received_at": seen,
                    "last_seen": seen,
                    "dedup_key": f"bench.rule.{j // incidents % per}|host:{host}|",
                    "count": 1,
                    "payload": _payload([("host", host)]),
                    "incident_id": f"I{i:025d}",
                }
            )
            if len(recs) >= chunk:
                conn.execute(insert(AlertRecord), recs)
                recs = []
        if recs:
            conn.execute(insert(AlertRecord), recs)
    print(
        f"  seeded {incidents:,} open incidents, {2 * incidents:,} keys, {alerts:,} alerts in "
        f"{time.perf_counter() - t1:.0f} s"
    )


def new_alerts(n: int, incidents: int, now: datetime, seed_: int) -> list[Alert]:
    rnd = random.Random(seed_)
    out = []
    for j in range(n):
        r = rnd.random()
        i = rnd.randrange(incidents)
        if r < 0.7:  # joins incident i through its host, as a new finding
            rule, ents = f"bench.new.{j}", [EntityRef.of("host", f"h{i}.bench")]
        elif r < 0.9:  # the same finding again: deduplicated
            rule, ents = "bench.rule.0", [EntityRef.of("host", f"h{i}.bench")]
        else:  # new subject: a new incident
            rule, ents = f"bench.fresh.{j}", [EntityRef.of("host", f"fresh{seed_}-{j}.bench")]
        out.append(
            Alert(
                rule_id=rule,
                domain=Domain.INFRA if j % 2 else Domain.LOGS,
                severity=Severity.MEDIUM,
                title="bench",
                observed_at=now,
                entities=tuple(ents),
            )
        )
    return out


def bench_correlation(url: str, *, alerts: int, incidents: int, ingest: int) -> dict[str, float]:
    db = migrated_db(url)
    now = datetime.now(UTC).replace(microsecond=0)
    seed(db, alerts=alerts, incidents=incidents, now=now)
    rules = CorrelationRules.builtin()
    window = timedelta(hours=1)
    single = new_alerts(max(500, ingest // 10), incidents, now, 1)
    t1 = time.perf_counter()
    for a in single:
        with db.session() as s:
            service.ingest_alert(session=s, alert=a, rules=rules, dedup_window=window)
    one_s = time.perf_counter() - t1
    batch = new_alerts(ingest, incidents, now, 2)
    t1 = time.perf_counter()
    outcomes = []
    for k in range(0, len(batch), 500):
        with db.session() as s:
            outcomes += service.ingest_alerts(
                session=s, alerts=batch[k : k + 500], rules=rules, dedup_window=window
            )
    batch_s = time.perf_counter() - t1
    kinds: dict[str, int] = {}
    for o in outcomes:
        key = "created" if o.incident_created else o.outcome
        kinds[key] = kinds.get(key, 0) + 1
    db.dispose()
    return {
        "one_per_transaction_alerts_per_s": len(single) / one_s,
        "batched_500_alerts_per_s": len(batch) / batch_s,
        **{f"outcome_{k}": v for k, v in sorted(kinds.items())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--badges", type=int, default=100_000)
    ap.add_argument("--readers", type=int, default=500)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--incidents", type=int, default=200_000)
    ap.add_argument("--ingest", type=int, default=20_000)
    ap.add_argument(
        "--pg",
        help="also run the correlation benchmark on PostgreSQL: an admin URL of a server where "
        "a scratch database is created and dropped",
    )
    ap.add_argument("--skip-access", action="store_true")
    ap.add_argument("--skip-correlation", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true", help="correlation on PostgreSQL only")
    args = ap.parse_args()
    if not args.skip_access:
        print(f"access: {args.badges:,} badges, {args.readers} readers, {args.events:,} events")
        for k, v in bench_access(args.badges, args.readers, args.events).items():
            print(f"  {k}: {v:,.0f}")
    if not args.skip_correlation and not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            print(f"correlation (SQLite): {args.alerts:,} open alerts in the window")
            res = bench_correlation(
                url, alerts=args.alerts, incidents=args.incidents, ingest=args.ingest
            )
            for k, v in res.items():
                print(f"  {k}: {v:,.0f}")
    if not args.skip_correlation and args.pg:
        pg_correlation(args.pg, alerts=args.alerts, incidents=args.incidents, ingest=args.ingest)


def pg_correlation(admin_url: str, *, alerts: int, incidents: int, ingest: int) -> None:
    """The correlation benchmark in a scratch database of that server, dropped afterwards."""
    name = f"pg_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        print(f"correlation (PostgreSQL): {alerts:,} open alerts in the window")
        res = bench_correlation(
            f"{admin_url.rsplit('/', 1)[0]}/{name}",
            alerts=alerts,
            incidents=incidents,
            ingest=ingest,
        )
        for k, v in res.items():
            print(f"  {k}: {v:,.0f}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
