"""Benchmark of the event bus: durable events/s and publish-to-consume latency, per backend.

Usage::

    .venv/bin/python bench/bus.py [--events 100000] [--redis-url URL] [--markdown]

What is measured, per backend (EmbeddedBus, RedisBus):

* Throughput: a producer publishes ``--events`` realistic Events (~400 bytes, encoded with
  ``portguard.core.bus.codec``), either in batches of ``--batch`` (``publish_events``) or one by
  one (``publish_event``), while one or two consumers run ``Dispatcher``s that decode every event
  (idempotency check, then ``ack_processed``). "publish ev/s" is the producer's rate; "end-to-end
  ev/s" is events over the time from the first publish to the last event consumed. Latency is
  from just before the publish call carrying an event to its handler, at that saturation.
* Paced latency: the same at a steady ``--paced-rate`` events/s, published one by one, so the
  latency is the bus's own, not the backlog's.

Consumers run either as threads of the benchmark process (the embedded default: one process) or
as separate processes (spawned: the scale-out shape); the table says which. The embedded bus is
durable as configured (SQLite WAL, synchronous=NORMAL: survives SIGKILL). Redis is started by the
benchmark with ``appendonly yes, appendfsync everysec`` unless ``--redis-url`` is given; the table
reports the server's persistence settings.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import multiprocessing.synchronize
import os
import platform
import queue
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from rich.console import Console
from rich.table import Table

from portguard.core.bus import (
    Bus,
    Dispatcher,
    EmbeddedBus,
    Record,
    RedisBus,
    decode_event,
    encode_event,
    publish_event,
    publish_events,
)
from portguard.core.bus.topics import EVENTS
from portguard.core.types import Domain, EntityRef, Event, Location

GROUP = "bench"

# -- workload ------------------------------------------------------------------------------------


def make_events(n: int) -> list[Event]:
    """A day-in-the-port mix: AIS positions, badge swipes, mail verdicts (~400 bytes each)."""
    base = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    out: list[Event] = []
    for i in range(n):
        at = base + timedelta(milliseconds=250 * i)
        match i % 3:
            case 0:
                e = Event(
                    observed_at=at,
                    source="ais.zeebrugge-1",
                    domain=Domain.MARITIME,
                    kind="ais.position",
                    entities=(EntityRef.of("mmsi", f"2441{i % 100000:05d}"),),
                    location=Location(zone_id="zeebrugge.outer", lat=51.35, lon=3.18),
                    attributes={"sog": 11.2, "cog": 187.5, "heading": 186, "status": 0},
                    raw_ref=f"nmea:ais-0302.nmea#{i}",
                )
            case 1:
                e = Event(
                    observed_at=at,
                    source="access.gates",
                    domain=Domain.ACCESS,
                    kind="badge.granted",
                    entities=(EntityRef.of("badge", f"B-{i % 5000:06d}"),),
                    location=Location(asset_id="gate.berendrecht-north"),
                    attributes={"reader": "R-17", "direction": "in", "shift": "early"},
                    raw_ref=f"gates:0302#{i}",
                )
            case _:
                e = Event(
                    observed_at=at,
                    source="mail.gateway",
                    domain=Domain.MAIL,
                    kind="mail.received",
                    entities=(
                        EntityRef.of("email", f"ops{i % 300}@lockoperator.example"),
                        EntityRef.of("domain", "lockoperator.example"),
                    ),
                    attributes={"verdict": "clean", "score": 0.07, "size": 18234},
                    raw_ref=f"spool:0302/{i}.eml",
                )
        out.append(e)
    return out


# -- backends ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """How to open one run's bus, in this process or a spawned one (picklable)."""

    kind: str  # "embedded" | "redis"
    target: str  # file path or Redis URL
    namespace: str = "portguard"

    def open(self) -> Bus:
        if self.kind == "embedded":
            return EmbeddedBus(Path(self.target))
        return RedisBus(self.target, namespace=self.namespace)

    def cleanup(self) -> None:
        """Drop the run's log, so runs do not fill the disk or the server."""
        if self.kind == "embedded":
            for suffix in ("", "-wal", "-shm"):
                Path(self.target + suffix).unlink(missing_ok=True)
            return
        client = redis.Redis.from_url(self.target)
        try:
            keys = list(client.scan_iter(match=f"{self.namespace}:*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def start_redis(workdir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise SystemExit("redis-server did not start")
    client.close()
    return url, proc


def redis_persistence(url: str) -> str:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        aof = client.config_get("appendonly").get("appendonly", "?")
        fsync = client.config_get("appendfsync").get("appendfsync", "?")
        version = client.info("server").get("redis_version", "?")
    finally:
        client.close()
    return f"Redis {version}, appendonly {aof}, appendfsync {fsync}"


# -- consumers -----------------------------------------------------------------------------------


def consume(
    backend: Backend,
    name: str,
    stop: threading.Event | multiprocessing.synchronize.Event,
    consumed: Callable[[int], None],
    ready: Callable[[], None],
) -> list[tuple[str, float]]:
    """Run a Dispatcher until told to stop; returns (key, time handled) per event."""
    bus = backend.open()
    seen: list[tuple[str, float]] = []

    def handler(record: Record) -> None:
        decode_event(record.payload)  # what a real detector does first
        seen.append((record.key, time.time()))

    dispatcher = Dispatcher(bus, consumer=name, batch_size=500)
    dispatcher.subscribe(EVENTS, GROUP, handler)
    ready()
    while not stop.is_set():
        n = dispatcher.run_once(block_ms=50)
        if n:
            consumed(n)
    bus.close()
    return seen


def _consume_process(
    backend: Backend,
    name: str,
    stop: multiprocessing.synchronize.Event,
    counter: Any,
    ready: multiprocessing.synchronize.Event,
    out: mp.Queue[list[tuple[str, float]]],
) -> None:
    def add(n: int) -> None:
        with counter.get_lock():
            counter.value += n

    out.put(consume(backend, name, stop, add, ready.set))


class Consumers:
    """One or more consumers, as threads or as spawned processes."""

    def __init__(self, backend: Backend, count: int, where: str) -> None:
        self.where = where
        self.results: list[tuple[str, float]] = []
        if where == "threads":
            self._lock = threading.Lock()
            self._count = 0
            self._stop_t = threading.Event()
            ready = threading.Barrier(count + 1)
            self._threads = [
                threading.Thread(
                    target=self._run_thread, args=(backend, f"c{i}", ready), daemon=True
                )
                for i in range(count)
            ]
            for t in self._threads:
                t.start()
            ready.wait()
        else:
            ctx = mp.get_context("spawn")
            self._counter = ctx.Value("q", 0)
            self._stop_p = ctx.Event()
            self._out: mp.Queue[list[tuple[str, float]]] = ctx.Queue()
            readies = [ctx.Event() for _ in range(count)]
            self._procs = [
                ctx.Process(
                    target=_consume_process,
                    args=(backend, f"c{i}", self._stop_p, self._counter, readies[i], self._out),
                )
                for i in range(count)
            ]
            for p in self._procs:
                p.start()
            for r in readies:
                if not r.wait(60):
                    raise SystemExit("a consumer process did not start")

    def _run_thread(self, backend: Backend, name: str, ready: threading.Barrier) -> None:
        def add(n: int) -> None:
            with self._lock:
                self._count += n

        def arrived() -> None:
            ready.wait()

        seen = consume(backend, name, self._stop_t, add, arrived)
        with self._lock:
            self.results.extend(seen)

    @property
    def count(self) -> int:
        if self.where == "threads":
            return self._count
        return int(self._counter.value)

    def stop(self) -> None:
        if self.where == "threads":
            self._stop_t.set()
            for t in self._threads:
                t.join(60)
            return
        self._stop_p.set()
        for _ in self._procs:
            try:
                self.results.extend(self._out.get(timeout=120))
            except queue.Empty:
                break
        for p in self._procs:
            p.join(30)


# -- runs ----------------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    publish: str
    consumers: str
    events: int
    publish_rate: float
    end_to_end_rate: float
    p50_ms: float
    p99_ms: float
    lost: int


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    backend: Backend,
    events: list[Event],
    *,
    consumers: int,
    where: str,
    batch: int,
    paced_rate: float | None = None,
) -> Result:
    bus = backend.open()
    bus.create_group(EVENTS, GROUP)
    group = Consumers(backend, consumers, where)
    published_at: dict[str, float] = {}
    n = len(events)
    t0 = time.time()
    if paced_rate:
        for i, event in enumerate(events):
            delay = t0 + i / paced_rate - time.time()
            if delay > 0:
                time.sleep(delay)
            published_at[event.id] = time.time()
            publish_event(bus, event)
    elif batch > 1:
        for start in range(0, n, batch):
            chunk = events[start : start + batch]
            now = time.time()
            for e in chunk:
                published_at[e.id] = now
            publish_events(bus, chunk)
    else:
        for event in events:
            published_at[event.id] = time.time()
            publish_event(bus, event)
    t_published = time.time()
    deadline = time.monotonic() + 300
    while group.count < n and time.monotonic() < deadline:
        time.sleep(0.002)
    t_done = time.time()
    group.stop()
    bus.close()

    latencies = [(t - published_at[k]) * 1000 for k, t in group.results if k in published_at]
    handled = {k for k, _ in group.results}
    mode = (
        f"paced {paced_rate:,.0f}/s"
        if paced_rate
        else (f"batch {batch}" if batch > 1 else "one by one")
    )
    return Result(
        backend=backend.kind,
        publish=mode,
        consumers=f"{consumers} ({where})",
        events=n,
        publish_rate=n / (t_published - t0),
        end_to_end_rate=n / (t_done - t0),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        lost=n - len(handled & published_at.keys()),
    )


# -- report --------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def filesystem(path: Path) -> str:
    """The file system type holding ``path`` (Linux), for the durability note."""
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mount, fstype, *_ = line.split()
            if str(path).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    except OSError:
        pass
    return kind


def render(results: list[Result], *, markdown: bool, notes: list[str]) -> None:
    headers = [
        "backend",
        "publish",
        "consumers",
        "events",
        "publish ev/s",
        "end-to-end ev/s",
        "p50 latency",
        "p99 latency",
        "lost",
    ]
    rows = [
        [
            r.backend,
            r.publish,
            r.consumers,
            f"{r.events:,}",
            f"{r.publish_rate:,.0f}",
            f"{r.end_to_end_rate:,.0f}",
            f"{r.p50_ms:,.1f} ms",
            f"{r.p99_ms:,.1f} ms",
            str(r.lost),
        ]
        for r in results
    ]
    if markdown:
        print("| " + " | ".join(headers) + " |")
        print("|" + "|".join("---" if i < 3 else "---:" for i in range(len(headers))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        for note in notes:
            print(f"- {note}")
        return
    table = Table(title="PortGuard event bus: durable publish + consume")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i < 3 else "right")
    for row in rows:
        table.add_row(*row)
    console = Console(width=max(Console().width, 150))
    console.print(table)
    for note in notes:
        console.print(f"  {note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per throughput run")
    parser.add_argument("--batch", type=int, default=100, help="publish_events batch size")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    parser.add_argument(
        "--backends", default="embedded,redis", help="comma-separated: embedded,redis"
    )
    parser.add_argument(
        "--where", default="threads,processes", help="consumers as: threads,processes"
    )
    parser.add_argument("--paced-rate", type=float, default=2000, help="events/s, paced runs")
    parser.add_argument("--paced-events", type=int, default=10_000)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--dir", type=Path, help="where the embedded bus files go (default: temp)")
    args = parser.parse_args(argv)

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    wheres = [w.strip() for w in args.where.split(",") if w.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="portguard-bench-", dir=args.dir)).resolve()
    redis_proc: subprocess.Popen[bytes] | None = None
    notes = [f"machine: {machine()}"]
    try:
        redis_url = args.redis_url
        if "redis" in backends and not redis_url:
            if shutil.which("redis-server") is None:
                print(
                    "redis-server not found and no --redis-url: skipping RedisBus", file=sys.stderr
                )
                backends.remove("redis")
            else:
                redis_url, redis_proc = start_redis(workdir)
        if "redis" in backends:
            notes.append(f"redis: {redis_persistence(redis_url)}, on loopback")
        notes.append(
            "embedded: SQLite WAL, synchronous=NORMAL (commits survive SIGKILL), file on "
            f"{filesystem(workdir)} ({workdir.parent})"
        )
        print(f"building {args.events:,} events...", file=sys.stderr)
        events = make_events(args.events)
        sizes = [len(encode_event(e)) for e in events[:300]]
        notes.append(f"payload: {statistics.mean(sizes):.0f} bytes mean (codec-encoded Event)")

        results: list[Result] = []
        n = 0

        def backend_for(kind: str) -> Backend:
            nonlocal n
            n += 1
            if kind == "embedded":
                return Backend("embedded", str(workdir / f"bus-{n}.db"))
            return Backend("redis", redis_url, namespace=f"bench-{uuid.uuid4().hex[:8]}")

        plan: list[tuple[str, int, int, str, float | None]] = []
        for kind in backends:
            for batch in (args.batch, 1):
                for consumers in (1, 2):
                    for where in wheres:
                        plan.append((kind, batch, consumers, where, None))
            for where in wheres:
                plan.append((kind, 1, 1, where, args.paced_rate))
        for kind, batch, consumers, where, paced in plan:
            workload = events[: args.paced_events] if paced else events
            label = f"{kind} batch={batch} consumers={consumers} ({where}) paced={paced}"
            print(f"running {label}...", file=sys.stderr)
            backend = backend_for(kind)
            try:
                result = run(
                    backend,
                    workload,
                    consumers=consumers,
                    where=where,
                    batch=batch,
                    paced_rate=paced,
                )
            finally:
                backend.cleanup()
            results.append(result)
        render(results, markdown=args.markdown, notes=notes)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
