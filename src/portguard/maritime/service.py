"""``MaritimeWatch``: the maritime domain at run time (what the app wires and the API reads).

This module owns the worker that drains intake into the pipeline, publishes findings as Alerts on
the bus, writes the history store and applies its retention. Construct it with::

    MaritimeWatch(settings, port_model=model, bus=bus, db=db)

``settings`` is a ``MaritimeSettings`` (or None for the defaults); ``bus`` and ``db`` are optional
(without a bus alerts are only kept in memory and given to ``on_alert``; without a db the history
is the in-memory recent window only). ``start()`` opens the configured sources and the worker
thread, ``stop()`` closes them; ``submit(lines, times)`` is the thread-safe entry for any source.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portguard.core.bus import Bus, publish_alerts
from portguard.core.db import Database
from portguard.core.errors import BusError, StorageError
from portguard.core.types import Alert
from portguard.maritime.alerts import to_alert
from portguard.maritime.config import MaritimeConfig
from portguard.maritime.detectors import Finding
from portguard.maritime.intake import BoundedQueue, TcpClient, TcpServer, UdpListener
from portguard.maritime.pipeline import Pipeline
from portguard.maritime.store import HistoryStore, open_history, save_vessels
from portguard.portmodel import PortModel

__all__ = ["MaritimeSettings", "MaritimeWatch"]

log = logging.getLogger(__name__)

#: An hour of history is compacted this long (feed time) after it ended (late fixes).
_COMPACT_AFTER_S = 600.0


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


@dataclass
class MaritimeSettings:
    """Run-time settings of the maritime domain (sources, storage, retention, detectors)."""

    detectors: MaritimeConfig = field(default_factory=MaritimeConfig)
    #: "host:port" feeds to connect to, and addresses to listen on.
    tcp_connect: list[str] = field(default_factory=list)
    tcp_listen: list[str] = field(default_factory=list)
    udp_listen: list[str] = field(default_factory=list)
    store_positions: bool = True
    #: Where the track history goes: "parquet" (files per hour in ``history_dir``), "sql" (the
    #: ``maritime_position`` table) or "auto": Parquet next to a SQLite database file (or in
    #: ``history_dir`` when set), SQL for PostgreSQL and in-memory SQLite.
    history_backend: str = "auto"
    history_dir: Path | None = None
    retention_days: float = 30.0
    #: Seconds between store flushes / vessel upserts / retention runs (wall clock).
    flush_interval_s: float = 5.0
    max_queue_batches: int = 10_000
    recent_alerts: int = 1_000
    #: Live feeds: when quiet, the feed clock follows the wall clock (so silence is seen).
    live_clock: bool = True


class MaritimeWatch:
    """Runtime state of the maritime domain; see the module docstring for wiring."""

    def __init__(
        self,
        settings: MaritimeSettings | None = None,
        *,
        port_model: PortModel,
        bus: Bus | None = None,
        db: Database | None = None,
        on_alert: Callable[[Alert, Finding], None] | None = None,
        start_time: float | None = None,
    ) -> None:
        self.settings = settings or MaritimeSettings()
        self.port_model = port_model
        self.bus = bus
        self.db = db
        self.on_alert = on_alert
        self.store: HistoryStore | None = (
            open_history(db, self.settings.history_backend, self.settings.history_dir)
            if db is not None and self.settings.store_positions
            else None
        )
        self.pipeline = Pipeline(
            port_model,
            self.settings.detectors,
            start=start_time,
            sink=self.store.add if self.store is not None else None,
        )
        self.queue = BoundedQueue(self.settings.max_queue_batches)
        self.alerts: deque[Alert] = deque(maxlen=self.settings.recent_alerts)
        self.publish_errors = 0
        self._lock = threading.RLock()  # guards the pipeline and picture for API readers
        self._sources: list[Any] = []
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_flush = time.monotonic()

    # -- feeding -----------------------------------------------------------------------------

    def submit(self, lines: list[bytes], times: list[float | None] | None = None) -> None:
        """Queue lines from any thread (dropped and counted when the queue is full)."""
        self.queue.put(lines, times if times is not None else [time.time()] * len(lines))

    def process(
        self, lines: Sequence[bytes], times: Sequence[float | None] | None = None
    ) -> list[Alert]:
        """Feed lines synchronously (replays, tests); returns the alerts raised."""
        with self._lock:
            found = self.pipeline.feed(lines, times)
            return self._emit(found)

    def finish(self) -> list[Alert]:
        with self._lock:
            alerts = self._emit(self.pipeline.finish())
        self.flush()
        return alerts

    def _emit(self, found: list[Finding]) -> list[Alert]:
        if not found:
            return []
        alerts: list[Alert] = []
        pairs: list[tuple[Alert, Finding]] = []
        for f in found:
            try:
                alert = to_alert(f, self.pipeline.registry)
            except ValueError:  # pydantic refused a field: count it, never stop intake
                self.publish_errors += 1
                log.error("maritime: finding %s could not become an alert", f.kind)
                continue
            alerts.append(alert)
            pairs.append((alert, f))
        for a, f in pairs:
            self.alerts.append(a)
            if self.on_alert is not None:
                self.on_alert(a, f)
        if self.bus is not None:
            try:
                publish_alerts(self.bus, alerts)
            except BusError as exc:
                self.publish_errors += len(alerts)
                log.error("maritime: could not publish %d alerts: %s", len(alerts), exc)
        return alerts

    def flush(self, *, force: bool = True) -> None:
        """Write buffered fixes (``force``: all of them; else as the store sees fit) and changed
        vessels; compact closed hours; apply retention."""
        if self.db is None:
            return
        with self._lock:
            try:
                if self.store is not None:
                    if force:
                        self.store.flush()
                    else:
                        self.store.tick()
                changed = list(self.pipeline.registry.changed)
                self.pipeline.registry.changed.clear()
                now = self.pipeline.clock
                with self.db.session() as session:
                    save_vessels(
                        session=session,
                        picture=self.pipeline.picture,
                        registry=self.pipeline.registry,
                        mmsis=changed,
                    )
                if self.store is not None:
                    self.store.compact(now - _COMPACT_AFTER_S)
                    self.store.purge_before(now - self.settings.retention_days * 86400)
            except (StorageError, OSError) as exc:
                log.error("maritime: storage failed: %s", exc)

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Open the configured sources and start the worker."""
        s = self.settings
        self._stop.clear()
        for addr in s.tcp_connect:
            self._sources.append(TcpClient(*_hostport(addr), self.submit))
        for addr in s.tcp_listen:
            self._sources.append(TcpServer(*_hostport(addr), self.submit))
        for addr in s.udp_listen:
            self._sources.append(UdpListener(*_hostport(addr), self.submit))
        for src in self._sources:
            src.start()
        self._worker = threading.Thread(target=self._work, name="maritime-watch", daemon=True)
        self._worker.start()

    def add_source(self, source: Any) -> None:
        """Start an extra source (e.g. a ``TcpServer`` on port 0 in tests)."""
        self._sources.append(source)
        source.start()

    def stop(self) -> None:
        self._stop.set()
        for src in self._sources:
            src.stop()
        self._sources.clear()
        if self._worker is not None:
            self._worker.join(10)
            self._worker = None
        self.flush()

    def _work(self) -> None:
        while not self._stop.is_set() or self.queue.qsize():
            item = self.queue.get(timeout=0.2)
            if item is not None:
                try:
                    self.process(*item)
                except Exception:  # never let one batch stop intake
                    log.exception("maritime: batch failed")
            else:
                with self._lock:
                    if self.settings.live_clock:  # silence is news: the clock goes on
                        self.pipeline.clock = max(self.pipeline.clock, time.time())
                    self._emit(self.pipeline.sweep())
            if time.monotonic() - self._last_flush >= self.settings.flush_interval_s:
                self._last_flush = time.monotonic()
                self.flush(force=False)

    # -- reading -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        p = self.pipeline
        out: dict[str, Any] = dict(p.stats.as_dict())
        out["dropped_overload"] = self.queue.dropped
        out["vessels"] = len(p.picture)
        out["findings"] = dict(p.findings)
        out["detector_errors_by_detector"] = dict(p.detector_errors)
        out["publish_errors"] = self.publish_errors
        out["feed_clock"] = p.clock
        out["connections"] = sum(getattr(s, "connections", 0) for s in self._sources)
        out["disconnects"] = sum(getattr(s, "disconnects", 0) for s in self._sources)
        return out

    @property
    def lock(self) -> threading.RLock:
        return self._lock
