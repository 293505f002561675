"""Alerts ingested per second over HTTP, and latency, against a real `portguard serve` process.

Starts the server on loopback (embedded SQLite + bus) in a temporary data dir, creates a token,
then posts alerts from client threads: single alerts, and batches of 100. Reports accepted
alerts/s (202 = durable on the bus), p50/p99 request latency, and how fast the incident engine
drains them into stored alerts/incidents.

    .venv/bin/python bench/api.py [--seconds 10] [--clients 4]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from portguard.core import auth
from portguard.testing import make_alert, migrated_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PORTGUARD_DATA_DIR": str(data), "PORTGUARD_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "portguard",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def run(port: int, token: str, seconds: float, clients: int, batch: int) -> tuple[int, list[float]]:
    lat: list[float] = []
    count = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(w: int) -> None:
        nonlocal count
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
            i = 0
            while time.monotonic() < stop:
                alerts = [
                    make_alert(fingerprint=f"b{batch}-{w}-{i}-{j}", entities=[f"host:h{w}-{i}-{j}"])
                    for j in range(batch)
                ]
                i += 1
                if batch == 1:
                    body = alerts[0].model_dump_json()
                else:
                    body = '{"alerts":[' + ",".join(a.model_dump_json() for a in alerts) + "]}"
                t = time.perf_counter()
                r = c.post("/api/v1/alerts", content=body)
                dt = time.perf_counter() - t
                if r.status_code != 202:
                    raise SystemExit(f"unexpected {r.status_code}: {r.text}")
                with lock:
                    lat.append(dt)
                    count += batch

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count, lat


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def one_setup(args: argparse.Namespace, workers: int, table: Table) -> str:
    data = Path(tempfile.mkdtemp(prefix="pg-bench-api-"))
    db = migrated_db(f"sqlite:///{data / 'portguard.db'}")
    with db.session() as s:
        user = auth.create_user(session=s, username="bench", password="x" * 16, role="operator")
        _, token = auth.create_token(session=s, user=user, name="bench")
    db.dispose()
    port = free_port()
    proc = start(data, port, workers)
    setup = "consumers in the API process" if workers == 0 else f"{workers} worker process"
    total = 0
    try:
        for batch in (1, 100):
            n, lat = run(port, token, args.seconds, args.clients, batch)
            total += n
            table.add_row(
                setup,
                "1 alert" if batch == 1 else f"batch of {batch}",
                f"{n / args.seconds:,.0f}",
                f"{len(lat) / args.seconds:,.0f}",
                f"{pct(lat, 50) * 1000:.1f}",
                f"{pct(lat, 99) * 1000:.1f}",
            )
        # How fast the incident engine turns them into stored alerts and incidents.
        engine = create_engine(f"sqlite:///{data / 'portguard.db'}")
        t0 = time.monotonic()
        with engine.connect() as conn:
            start_n = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
        time.sleep(10)
        with engine.connect() as conn:
            end_n = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
        rate = (end_n - start_n) / (time.monotonic() - t0)
        engine.dispose()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return (
        f"{setup}: incident engine drained {rate:,.0f} alerts/s afterwards "
        f"(each alert opens its own incident; {end_n:,} of {total:,} stored when measured)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    table = Table(title=f"HTTP alert intake, {args.clients} client threads, {args.seconds:.0f} s")
    for col in ("server", "request", "alerts accepted/s", "requests/s", "p50 ms", "p99 ms"):
        table.add_column(col, justify="right")
    notes = [one_setup(args, workers, table) for workers in (0, 1)]
    console = Console(width=120)
    console.print(table)
    for n in notes:
        console.print(n)


if __name__ == "__main__":
    main()
