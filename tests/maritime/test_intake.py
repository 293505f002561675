"""Live intake over real loopback sockets: TCP server, UDP listener, TCP client with reconnect."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable

from portguard.maritime import MaritimeSettings, MaritimeWatch
from portguard.maritime.intake import LineSplitter, TcpClient, TcpServer, UdpListener
from portguard.maritime.testing import position_lines
from portguard.portmodel import builtin_port_model


def _wait(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def _lines(n: int, mmsi: int = 244000001) -> bytes:
    out = []
    for k in range(n):
        out += position_lines(mmsi, 51.30 + k * 1e-4, 4.30, sog=5, t=1_700_000_000 + k)
    return ("\n".join(out) + "\n").encode()


def test_tcp_server_accepts_a_real_client_and_counts_garbage() -> None:
    watch = MaritimeWatch(MaritimeSettings(live_clock=False), port_model=builtin_port_model())
    server = TcpServer("127.0.0.1", 0, watch.submit)
    watch.start()
    watch.add_source(server)
    try:
        with socket.create_connection(server.address) as c:
            c.sendall(b"garbage\n" + _lines(20) + b"!AIVDM,1,1,,A,bad*00\n")
        stats = watch.pipeline.stats
        _wait(lambda: stats.positions >= 20 and stats.bad_checksum + stats.malformed >= 1)
        st = watch.stats()
        assert st["vessels"] == 1 and st["garbage"] == 1
        assert st["bad_checksum"] + st["malformed"] == 1
    finally:
        watch.stop()


def test_udp_listener() -> None:
    watch = MaritimeWatch(MaritimeSettings(live_clock=False), port_model=builtin_port_model())
    udp = UdpListener("127.0.0.1", 0, watch.submit)
    watch.start()
    watch.add_source(udp)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            for line in _lines(10).splitlines():
                c.sendto(line + b"\r\n", udp.address)
        _wait(lambda: watch.pipeline.stats.positions >= 10)
    finally:
        watch.stop()


def test_tcp_client_reconnects_after_the_feed_drops() -> None:
    payloads = [_lines(5, 244000001), _lines(5, 244000002)]

    class Feed(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.sendall(payloads.pop(0) if payloads else b"")

    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Feed)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    got: list[bytes] = []
    client = TcpClient(*srv.server_address[:2], lambda ls, ts: got.extend(ls), backoff_s=0.05)
    client.start()
    try:
        _wait(lambda: len(got) >= 10 and client.disconnects >= 2)
        assert client.connections >= 2
    finally:
        client.stop()
        srv.shutdown()
        srv.server_close()


def test_flood_is_dropped_and_counted_not_stalled() -> None:
    watch = MaritimeWatch(
        MaritimeSettings(max_queue_batches=2, live_clock=False), port_model=builtin_port_model()
    )
    for _ in range(10):
        watch.submit([b"x"] * 100)
    assert watch.queue.dropped == 800


def test_line_splitter_drops_overlong_lines() -> None:
    s = LineSplitter(max_line=50)
    assert s.feed(b"a" * 200) == []
    assert s.feed(b"\nok\n") == [b"ok"]
    assert s.overlong == 1
