"""EmbeddedBus beyond the contract: crash durability, several processes, group commit, errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from portguard.core.bus import EmbeddedBus
from portguard.core.errors import BusError

# A publisher that prints "offset key" for every record once publish has returned for it, with
# three threads so that group commits carry several callers.
PUBLISHER = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from portguard.core.bus import EmbeddedBus

    bus = EmbeddedBus(Path(sys.argv[1]))
    out = threading.Lock()

    def run(tag):
        i = 0
        while True:
            if i % 4 == 0:
                items = [(f"{tag}-{i}-{j}", b"p" * 300) for j in range(5)]
                offsets = bus.publish_many("events", items)
                done = list(zip(offsets, (k for k, _ in items)))
            else:
                key = f"{tag}-{i}"
                done = [(bus.publish("events", key, b"p" * 300), key)]
            with out:
                sys.stdout.write("".join(f"{o} {k}\\n" for o, k in done))
                sys.stdout.flush()
            i += 1

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    """
)


def test_everything_publish_returned_for_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acknowledged: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 3000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            offset, key = line.split()
            acknowledged[offset] = key
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    # Lines already written were publishes that had returned: they count too.
    for line in rest.splitlines():
        if line.count(" ") == 1:
            offset, key = line.split()
            acknowledged[offset] = key
    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 3000

    with EmbeddedBus(path) as bus:
        stored: dict[str, str] = {}
        after: str | None = None
        while page := bus.replay("events", from_offset=after, count=5000):
            stored.update((r.offset, r.key) for r in page)
            after = page[-1].offset
    missing = {o: k for o, k in acknowledged.items() if stored.get(o) != k}
    assert not missing
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


CONSUMER_THAT_DIES = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from portguard.core.bus import Dispatcher, EmbeddedBus

    bus = EmbeddedBus(Path(sys.argv[1]))
    dispatcher = Dispatcher(bus, consumer="doomed")

    def handler(record):
        print("handling", record.key, flush=True)
        time.sleep(60)  # killed in here, between receipt and acknowledgement

    dispatcher.subscribe("events", "g", handler)
    dispatcher.run_once(block_ms=10000)
    """
)


def test_a_consumer_killed_before_its_ack_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    with EmbeddedBus(path) as bus:
        bus.publish_many("events", [("e1", b"one"), ("e2", b"two")])
    proc = subprocess.Popen(
        [sys.executable, "-c", CONSUMER_THAT_DIES, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().split() == ["handling", "e1"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)

    with EmbeddedBus(path, visibility_timeout_s=0.3) as bus:
        assert bus.pending("events", "g") == 2
        got: list[tuple[str, int]] = []
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            batch = bus.read("events", "g", "heir", count=10, block_ms=1000)
            bus.ack("events", "g", [r.offset for r in batch])
            got.extend((r.key, r.deliveries) for r in batch)
    assert sorted(got) == [("e1", 2), ("e2", 2)]


PUBLISH_LATER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from portguard.core.bus import EmbeddedBus

    bus = EmbeddedBus(Path(sys.argv[1]))
    time.sleep(0.3)
    bus.publish("events", "from-another-process", b"x")
    """
)


def test_a_consumer_sees_records_published_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    with EmbeddedBus(path, poll_interval_s=0.02) as bus:
        bus.create_group("events", "g")
        proc = subprocess.Popen([sys.executable, "-c", PUBLISH_LATER, str(path)])
        try:
            records = bus.read("events", "g", "c1", block_ms=15000)
        finally:
            assert proc.wait(30) == 0
    assert [r.key for r in records] == ["from-another-process"]


def test_a_second_instance_in_the_process_wakes_readers_at_once(tmp_path: Path) -> None:
    # A long poll interval: only the shared in-process wake-up can deliver in time.
    reader = EmbeddedBus(tmp_path / "bus.db", poll_interval_s=30)
    writer = EmbeddedBus(tmp_path / "bus.db")
    reader.create_group("events", "g")
    timer = threading.Timer(0.1, lambda: writer.publish("events", "k", b"x"))
    timer.start()
    started = time.monotonic()
    records = reader.read("events", "g", "c1", block_ms=10000)
    timer.join()
    assert [r.key for r in records] == ["k"]
    assert time.monotonic() - started < 5
    reader.close()
    writer.close()


def test_concurrent_publishers_get_their_own_offsets(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    results: dict[str, str] = {}
    lock = threading.Lock()

    def publish(tag: str) -> None:
        for i in range(300):
            if i % 10 == 0:
                items = [(f"{tag}-{i}-{j}", f"{tag}-{i}-{j}".encode()) for j in range(3)]
                offsets = bus.publish_many("events", items)
                with lock:
                    results.update(zip(offsets, (k for k, _ in items), strict=True))
            else:
                key = f"{tag}-{i}"
                offset = bus.publish("events", key, key.encode())
                with lock:
                    results[offset] = key

    threads = [threading.Thread(target=publish, args=(f"t{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = {r.offset: (r.key, r.payload) for r in bus.replay("events", count=100_000)}
    assert len(results) == len(stored) == 8 * (270 + 30 * 3)
    assert all(stored[o] == (k, k.encode()) for o, k in results.items())
    bus.close()


def test_publish_many_rolls_back_when_the_database_refuses_an_item(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.publish("events", "first", b"0")
    (n,) = bus._conn.execute("SELECT n FROM topics WHERE name = 'events'").fetchone()
    # Make SQLite itself fail on the third insert of the batch, mid-transaction.
    bus._conn.execute(
        f"CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.log_{n} WHEN NEW.key = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    with pytest.raises(BusError, match="refused"):
        bus.publish_many("events", [("a", b"1"), ("b", b"2"), ("boom", b"3"), ("d", b"4")])
    assert [r.key for r in bus.replay("events")] == ["first"]
    # The bus is still usable afterwards.
    assert bus.publish("events", "ok", b"x")
    assert [r.key for r in bus.replay("events")] == ["first", "ok"]
    bus.close()


def test_a_failed_first_publish_to_a_topic_leaves_no_trace(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus._conn.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.topics "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    with pytest.raises(BusError, match="refused"):
        bus.publish("events", "a", b"1")
    bus._conn.execute("DROP TRIGGER temp.refuse")
    assert bus.replay("events") == []
    assert bus.publish("events", "b", b"2") == "1"
    assert [r.key for r in bus.replay("events")] == ["b"]
    bus.close()


def test_offsets_count_per_topic(tmp_path: Path) -> None:
    with EmbeddedBus(tmp_path / "bus.db") as bus:
        assert bus.publish_many("events", [("a", b"1"), ("b", b"2")]) == ["1", "2"]
        assert bus.publish("alerts", "c", b"3") == "1"
        assert bus.publish("events", "d", b"4") == "3"


def test_close_wakes_a_blocked_reader_and_later_calls_fail(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.db")
    bus.create_group("events", "g")
    result: list[object] = []
    reader = threading.Thread(
        target=lambda: result.append(bus.read("events", "g", "c1", block_ms=30000))
    )
    reader.start()
    time.sleep(0.2)
    started = time.monotonic()
    bus.close()
    reader.join(10)
    assert not reader.is_alive()
    assert time.monotonic() - started < 5
    assert result == [[]]
    with pytest.raises(BusError, match="closed"):
        bus.publish("events", "k", b"x")
    bus.close()  # idempotent


def test_unopenable_file_is_a_bus_error(tmp_path: Path) -> None:
    (tmp_path / "bus.db").mkdir()
    with pytest.raises(BusError, match="bus log"):
        EmbeddedBus(tmp_path / "bus.db")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    EmbeddedBus(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(BusError, match="newer PortGuard"):
        EmbeddedBus(path)


def test_file_is_in_wal_mode_with_normal_sync(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "nested" / "dir" / "bus.db")
    assert bus._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert bus._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    bus.close()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        EmbeddedBus(tmp_path / "bus.db", visibility_timeout_s=0)
    with pytest.raises(ValueError):
        EmbeddedBus(tmp_path / "bus.db", poll_interval_s=0)


def test_an_interrupted_waiter_passes_the_lead_on(tmp_path: Path) -> None:
    from portguard.core.bus.embedded import _Pending

    bus = EmbeddedBus(tmp_path / "bus.db")
    first, second = _Pending("events", [("a", b"1")]), _Pending("events", [("b", b"2")])
    first.signal.acquire()
    second.signal.acquire()
    # A commit just finished and made `first` the leader, as KeyboardInterrupt hit it.
    bus._leader, bus._queue = True, [first, second]
    first.signal.release()
    bus._withdraw(first)
    assert bus._queue == [second] and bus._leader
    assert second.signal.acquire(blocking=False)  # the lead went to the next waiter
    # The last waiter gives up the lead entirely.
    second.signal.release()
    bus._withdraw(second)
    assert bus._queue == [] and not bus._leader
    assert bus.publish("events", "c", b"3") == "1"  # nobody is stuck
    bus.close()
