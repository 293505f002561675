"""``LogWatch``: the logs domain at run time (what the app wires, the API and CLI use).

Construct it with::

    LogWatch(rule_dirs=[Path("/etc/portguard/sigma")], bus=bus, indicator_lookup=None)

``rule_dirs`` are folders (or files) of Sigma rules the operator points to; the project's own
port rules (``portguard/logs/rules``) load too unless ``builtin_rules=False``. ``bus`` is
optional: without one, alerts are only returned (and given to ``on_alert``). With one, each
alert goes on the bus with ``publish_alerts`` after the Event of its record
(``publish_events``), so its ``evidence`` ids resolve. ``indicator_lookup`` is anything with
``lookup(kind, value)`` (``portguard.intel.index.IndicatorIndex``).

Intake: ``ingest(records)`` from any iterator (``scan_path`` for files); ``start_syslog(host,
udp_port=..., tcp_port=...)`` listens for syslog and returns the bound ports; ``stop()``. Listener
threads only parse and queue; one worker thread runs detection and publishes, so a slow rule
never stalls a socket. When the queue is full, records are dropped and counted.
"""

from __future__ import annotations

import logging
import queue
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from portguard.core.bus import Bus, publish_alerts, publish_events
from portguard.core.clock import utcnow
from portguard.core.errors import BusError
from portguard.core.types import Alert, Domain, Event
from portguard.logs.detectors import IndicatorLookup, LogDetector, trimmed
from portguard.logs.intake import IntakeError, ParseError, parse_syslog, read_path
from portguard.logs.mapping import LogMapping, LogRecord
from portguard.logs.sigma.loader import RuleSet, load_rules

__all__ = ["LogWatch", "ScanResult", "builtin_rules_dir", "to_event"]

log = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 1000


def builtin_rules_dir() -> Path:
    """The project's own port-specific Sigma rules."""
    return Path(str(resources.files("portguard.logs").joinpath("rules")))


def to_event(record: LogRecord) -> Event:
    """The core Event of a record (kind ``log.<product>``); sets ``record.event_id``."""
    src = record.logsource
    kind = "log." + (src.product or "unknown")
    if src.categories:
        kind += "." + sorted(src.categories)[0]
    event = Event(
        observed_at=record.time or utcnow(),
        source=f"logs:{record.source}"[:200],
        domain=Domain.LOGS,
        kind=kind[:100],
        attributes={"fields": trimmed(record.fields), "position": record.position},
        raw_ref=f"{record.source}#{record.position}"[:2048],
    )
    record.event_id = event.id
    return event


@dataclass
class ScanResult:
    records: int = 0
    alerts: list[Alert] = field(default_factory=list)
    errors: list[IntakeError] = field(default_factory=list)
    error_count: int = 0
    #: Records dropped because the queue was full (listeners only).
    dropped: int = 0


class LogWatch:
    def __init__(
        self,
        rule_dirs: Sequence[Path] = (),
        *,
        bus: Bus | None = None,
        indicator_lookup: IndicatorLookup | None = None,
        mapping: LogMapping | None = None,
        builtin_rules: bool = True,
        publish_evidence: bool = True,
        on_alert: Callable[[Alert], None] | None = None,
        queue_size: int = 100_000,
    ) -> None:
        dirs = [Path(d) for d in rule_dirs]
        if builtin_rules:
            dirs.append(builtin_rules_dir())
        self.rule_dirs = dirs
        self.ruleset: RuleSet = load_rules(dirs)
        self.detector = LogDetector(self.ruleset, indicator_lookup=indicator_lookup)
        self.mapping = mapping or LogMapping.default()
        self.bus = bus
        self.publish_evidence = publish_evidence
        self.on_alert = on_alert
        self.totals = ScanResult()
        self._lock = threading.Lock()
        self._queue: queue.Queue[LogRecord | None] = queue.Queue(maxsize=queue_size)
        self._worker: threading.Thread | None = None
        self._servers: list[Any] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- detection ---------------------------------------------------------------------------

    def ingest(self, items: Iterable[LogRecord | IntakeError]) -> ScanResult:
        """Detect on records (errors are counted); publish alerts; return what happened."""
        result = ScanResult()
        for item in items:
            if isinstance(item, IntakeError):
                self._error(result, item)
                continue
            result.records += 1
            found = self.detector.process(item)
            if found:
                result.alerts.extend(self._emit(found))
        with self._lock:
            self.totals.records += result.records
            self.totals.alerts.extend(result.alerts[-1000:])
            del self.totals.alerts[:-1000]
        return result

    def scan_path(self, path: Path, *, fmt: str | None = None) -> ScanResult:
        return self.ingest(read_path(path, fmt=fmt, mapping=self.mapping))

    def _error(self, result: ScanResult, err: IntakeError) -> None:
        result.error_count += 1
        if len(result.errors) < MAX_ERRORS_KEPT:
            result.errors.append(err)
        with self._lock:
            self.totals.error_count += 1
            if len(self.totals.errors) < MAX_ERRORS_KEPT:
                self.totals.errors.append(err)

    def _emit(self, found: list[tuple[Alert, LogRecord | None]]) -> list[Alert]:
        alerts = [a for a, _ in found]
        if self.bus is not None:
            try:
                if self.publish_evidence:
                    events = [to_event(r) for _, r in found if r is not None and not r.event_id]
                    if events:
                        publish_events(self.bus, events)
                        alerts = [
                            a.model_copy(update={"evidence": (r.event_id,)})
                            if r is not None and r.event_id and not a.evidence
                            else a
                            for a, r in found
                        ]
                publish_alerts(self.bus, alerts)
            except BusError as exc:
                log.warning("logs: could not publish %d alerts: %s", len(alerts), exc)
        if self.on_alert is not None:
            for a in alerts:
                self.on_alert(a)
        return alerts

    # -- listeners ---------------------------------------------------------------------------

    def submit(self, record: LogRecord) -> bool:
        """Queue a record for the worker (thread-safe); False when dropped (queue full)."""
        try:
            self._queue.put_nowait(record)
            return True
        except queue.Full:
            with self._lock:
                self.totals.dropped += 1
            return False

    def _parse_and_submit(self, data: bytes, source: str, position: str) -> None:
        try:
            self.submit(parse_syslog(data, mapping=self.mapping, source=source, position=position))
        except ParseError as exc:
            self._error(ScanResult(), IntakeError(source, position, exc.message))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < 500:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._safe_ingest(batch)
                    return
                batch.append(nxt)
            self._safe_ingest(batch)

    def _safe_ingest(self, batch: list[LogRecord]) -> None:
        try:
            self.ingest(batch)
        except Exception:  # the worker must survive anything a batch throws at it
            log.exception("logs: a batch of %d records failed", len(batch))

    def start_syslog(
        self, host: str = "127.0.0.1", *, udp_port: int | None = 5514, tcp_port: int | None = None
    ) -> dict[str, int]:
        """Listen for syslog on UDP and/or TCP (port 0: any free port). Returns bound ports."""
        if self._worker is None:
            self._stopping.clear()
            self._worker = threading.Thread(target=self._work, name="logs-worker", daemon=True)
            self._worker.start()
        bound: dict[str, int] = {}
        if udp_port is not None:
            sock = socket.socket(
                socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM
            )
            sock.bind((host, udp_port))
            sock.settimeout(0.2)
            bound["udp"] = sock.getsockname()[1]
            t = threading.Thread(target=self._udp_loop, args=(sock,), daemon=True)
            self._servers.append(sock)
            self._threads.append(t)
            t.start()
        if tcp_port is not None:
            watch = self

            class Handler(socketserver.StreamRequestHandler):
                def handle(self) -> None:
                    peer = f"tcp:{self.client_address[0]}:{self.client_address[1]}"
                    watch._tcp_stream(self.rfile, peer)

            server = socketserver.ThreadingTCPServer((host, tcp_port), Handler)
            server.daemon_threads = True
            bound["tcp"] = server.server_address[1]
            t = threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True)
            self._servers.append(server)
            self._threads.append(t)
            t.start()
        return bound

    def _udp_loop(self, sock: socket.socket) -> None:
        n = 0
        while not self._stopping.is_set():
            try:
                data, peer = sock.recvfrom(65_535)
            except TimeoutError:
                continue
            except OSError:
                return
            n += 1
            self._parse_and_submit(data, f"udp:{peer[0]}:{peer[1]}", f"datagram {n}")

    def _tcp_stream(self, rfile: Any, peer: str) -> None:
        """RFC 6587: octet-counted frames (``LEN SP MSG``) or newline-terminated lines."""
        n = 0
        while not self._stopping.is_set():
            line = rfile.readline(65_536)
            if not line:
                return
            n += 1
            head, sep, rest = line.partition(b" ")
            if sep and head.isdigit() and len(head) <= 6 and rest[:1] == b"<":
                size = int(head)
                frame = rest
                if len(frame) < size:
                    frame += rfile.read(size - len(frame))
                line = frame[:size]
            if line.strip():
                self._parse_and_submit(line, peer, f"message {n}")

    def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until the worker has processed what is queued (tests, shutdown)."""
        import time

        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            if self._queue.empty():
                break
            time.sleep(0.01)

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            if isinstance(server, socketserver.BaseServer):
                server.shutdown()
                server.server_close()
            else:
                server.close()
        for t in self._threads:
            t.join(2)
        self._servers.clear()
        self._threads.clear()
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(5)
            self._worker = None

    # -- reporting ---------------------------------------------------------------------------

    def rules_report(self) -> dict[str, Any]:
        rs = self.ruleset
        return {
            **rs.summary(),
            "problems": [p.as_dict() for p in rs.problems],
            "engine": {
                "records": self.detector.engine.stats.records,
                "rule_errors": self.detector.engine.stats.rule_errors,
            },
        }
