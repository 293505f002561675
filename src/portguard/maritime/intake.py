"""AIS sources: a file (replay), a TCP client, a TCP server and a UDP listener.

This module owns the I/O. Sources turn bytes into batches of lines stamped with their wall-clock
receive time and hand them to a callback (``Sink``); they never parse NMEA (``nmea`` does) and
never block on the pipeline: ``BoundedQueue`` sits between network threads and the worker, and a
flood beyond its capacity is dropped and counted (``dropped``), so intake never stalls.
``LineSplitter`` frames a byte stream into lines and discards an over-long line (garbage or an
attack) instead of buffering it for ever. The TCP client reconnects with exponential backoff.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from portguard.maritime.nmea import MAX_LINE

__all__ = [
    "BoundedQueue",
    "LineSplitter",
    "Sink",
    "TcpClient",
    "TcpServer",
    "UdpListener",
    "read_batches",
]

log = logging.getLogger(__name__)

Batch = tuple[list[bytes], list[float | None]]
Sink = Callable[[list[bytes], list[float | None]], None]


def read_batches(path: Path, batch_lines: int = 4096) -> Iterator[list[bytes]]:
    """The file's lines in batches (binary; any bytes are fine, parsing judges them)."""
    with path.open("rb") as f:
        batch: list[bytes] = []
        for line in f:
            batch.append(line)
            if len(batch) >= batch_lines:
                yield batch
                batch = []
        if batch:
            yield batch


class LineSplitter:
    """Frames a byte stream into lines; lines longer than ``max_line`` are dropped, counted."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._buf = b""
        self.overlong = 0

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        if len(self._buf) > self.max_line:
            self._buf = b""
            self.overlong += 1
        out = [ln for ln in lines if len(ln) <= self.max_line]
        self.overlong += len(lines) - len(out)
        return [ln for ln in out if ln.strip()]


class BoundedQueue:
    """Batches from source threads to the worker; drops (and counts lines) when full."""

    def __init__(self, max_batches: int = 10_000) -> None:
        self._q: queue.Queue[Batch] = queue.Queue(max_batches)
        self.dropped = 0

    def put(self, lines: list[bytes], times: list[float | None]) -> None:
        try:
            self._q.put_nowait((lines, times))
        except queue.Full:
            self.dropped += len(lines)

    def get(self, timeout: float) -> Batch | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None

    def qsize(self) -> int:
        return self._q.qsize()


class _Thread:
    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run_safe, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._close()
        self._thread.join(timeout)

    def _close(self) -> None:
        pass

    def _run_safe(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("AIS source thread %s stopped", self._thread.name)

    def _run(self) -> None:
        raise NotImplementedError


class TcpClient(_Thread):
    """Connects to an AIS feed (host:port) and reads lines; reconnects when it drops."""

    def __init__(
        self, host: str, port: int, sink: Sink, *, backoff_s: float = 0.5, max_backoff_s: float = 30
    ) -> None:
        super().__init__(f"ais-tcp-client-{host}:{port}")
        self.host, self.port, self.sink = host, port, sink
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.connections = 0
        self.disconnects = 0
        self._sock: socket.socket | None = None

    def _close(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        backoff = self.backoff_s
        while not self._stop.is_set():
            try:
                with socket.create_connection((self.host, self.port), timeout=5) as sock:
                    self._sock = sock
                    sock.settimeout(1.0)
                    self.connections += 1
                    backoff = self.backoff_s
                    split = LineSplitter()
                    while not self._stop.is_set():
                        try:
                            data = sock.recv(65536)
                        except TimeoutError:
                            continue
                        if not data:
                            break
                        lines = split.feed(data)
                        if lines:
                            now = time.time()
                            self.sink(lines, [now] * len(lines))
            except OSError as exc:
                log.info("AIS feed %s:%s: %s", self.host, self.port, type(exc).__name__)
            self._sock = None
            if self._stop.is_set():
                break
            self.disconnects += 1
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)


class TcpServer(_Thread):
    """Accepts receivers that push NMEA to us over TCP (one thread per connection)."""

    def __init__(self, host: str, port: int, sink: Sink) -> None:
        super().__init__(f"ais-tcp-server-{host}:{port}")
        outer = self
        self.connections = 0
        self.disconnects = 0

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                split = LineSplitter()
                self.request.settimeout(1.0)
                try:
                    while not outer._stop.is_set():
                        try:
                            data = self.request.recv(65536)
                        except TimeoutError:
                            continue
                        if not data:
                            break
                        lines = split.feed(data)
                        if lines:
                            now = time.time()
                            outer.sink(lines, [now] * len(lines))
                except OSError:
                    pass
                finally:
                    outer.disconnects += 1

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.sink = sink
        self.server = Server((host, port), Handler)
        self.address: tuple[str, int] = self.server.server_address[:2]  # type: ignore[assignment]

    def _close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _run(self) -> None:
        self.server.serve_forever(poll_interval=0.2)


class UdpListener(_Thread):
    """Receives NMEA datagrams (one or more lines each), as AIS receivers commonly send them."""

    def __init__(self, host: str, port: int, sink: Sink) -> None:
        super().__init__(f"ais-udp-{host}:{port}")
        self.sink = sink
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((host, port))
        self.sock.settimeout(0.5)
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        self.datagrams = 0

    def _close(self) -> None:
        pass

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    data, _ = self.sock.recvfrom(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                self.datagrams += 1
                lines = [ln for ln in data.split(b"\n") if ln and len(ln) <= MAX_LINE]
                if lines:
                    now = time.time()
                    self.sink(lines, [now] * len(lines))
        finally:
            self.sock.close()
