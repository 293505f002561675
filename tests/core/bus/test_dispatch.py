"""The Dispatcher on every backend: isolation, idempotency, at-least-once, the background thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import pytest

from portguard.core.bus import Bus, Dispatcher, GroupStats, Record
from portguard.core.errors import BusError

from .conftest import BusFactory

T = "events"


class Recorder:
    """A handler that remembers what it saw and fails on the keys it is told to."""

    def __init__(self, *, fail_on: Sequence[str] = ()) -> None:
        self.seen: list[str] = []
        self.fail_on = set(fail_on)

    def __call__(self, record: Record) -> None:
        self.seen.append(record.key)
        if record.key in self.fail_on:
            raise ValueError(f"cannot handle {record.payload!r}")


def publish_keys(bus: Bus, *keys: str) -> None:
    bus.publish_many(T, [(k, f"secret payload of {k}".encode()) for k in keys])


def test_handlers_get_every_record_once_and_records_are_acknowledged(bus: Bus) -> None:
    d = Dispatcher(bus, consumer="w1")
    handler = Recorder()
    d.subscribe(T, "g", handler)
    publish_keys(bus, "a", "b", "c")
    assert d.run_once() == 3
    assert d.run_once() == 0
    assert handler.seen == ["a", "b", "c"]
    assert bus.pending(T, "g") == 0
    assert bus.processed_keys("g", ["a", "b", "c"]) == {"a", "b", "c"}
    assert d.stats() == {"g": GroupStats(processed=3, failed=0, skipped_duplicates=0)}


def test_a_raising_handler_is_isolated_and_its_record_dead_lettered(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    d = Dispatcher(bus, consumer="w1")
    broken = Recorder(fail_on=["b"])
    healthy = Recorder()
    d.subscribe(T, "broken", broken)
    d.subscribe(T, "healthy", healthy)
    publish_keys(bus, "a", "b", "c")
    with caplog.at_level(logging.WARNING, logger="portguard.core.bus.dispatch"):
        assert d.run_once() == 6
    # The failure stopped neither the rest of its batch nor the other handler.
    assert broken.seen == ["a", "b", "c"]
    assert healthy.seen == ["a", "b", "c"]
    stats = d.stats()
    assert stats["broken"] == GroupStats(processed=2, failed=1, skipped_duplicates=0)
    assert stats["healthy"] == GroupStats(processed=3, failed=0, skipped_duplicates=0)
    assert bus.pending(T, "broken") == bus.pending(T, "healthy") == 0

    (letter,) = bus.dead_letters(T, "broken")
    assert letter.key == "b"
    assert letter.payload == b"secret payload of b"
    assert letter.error.startswith("ValueError: cannot handle")
    assert "test_dispatch.py" in letter.error  # where it was raised
    assert not bus.is_processed("broken", "b")

    # Logged, with what a person needs to find the record, and nothing of its content.
    (entry,) = [r for r in caplog.records if r.name == "portguard.core.bus.dispatch"]
    assert entry.levelno == logging.WARNING
    assert "b" in entry.getMessage() and "ValueError" in entry.getMessage()
    assert "secret" not in caplog.text


def test_already_processed_keys_are_skipped_and_counted(bus: Bus) -> None:
    d = Dispatcher(bus, consumer="w1")
    handler = Recorder()
    d.subscribe(T, "g", handler)
    bus.mark_processed("g", ["a", "c"])
    publish_keys(bus, "a", "b", "c", "b")  # "b" twice: the second is a duplicate too
    assert d.run_once() == 4
    assert handler.seen == ["b"]
    assert d.stats()["g"] == GroupStats(processed=1, failed=0, skipped_duplicates=3)
    assert bus.pending(T, "g") == 0


def test_a_crash_between_processing_and_ack_redelivers(
    make_bus: BusFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = make_bus(visibility_timeout_s=0.3)
    real_ack = bus.ack_processed
    lost: list[bool] = []

    def ack_lost_once(topic: str, group: str, offsets: Sequence[str], keys: Sequence[str]) -> None:
        # The first acknowledgement never arrives: the consumer died just before it.
        if not lost:
            lost.append(True)
            raise BusError("connection lost")
        real_ack(topic, group, offsets, keys)

    monkeypatch.setattr(bus, "ack_processed", ack_lost_once)
    d = Dispatcher(bus, consumer="w1")
    handler = Recorder()
    d.subscribe(T, "g", handler)
    publish_keys(bus, "a", "b")
    with pytest.raises(BusError):
        d.run_once()
    assert handler.seen == ["a", "b"]
    assert bus.pending(T, "g") == 2  # nothing lost

    deadline = time.monotonic() + 10
    while bus.pending(T, "g") and time.monotonic() < deadline:
        d.run_once(block_ms=200)
    assert bus.pending(T, "g") == 0
    assert handler.seen == ["a", "b", "a", "b"]  # at least once
    assert d.stats()["g"].processed == 2


def test_an_interrupted_handler_keeps_the_work_done_and_redelivers_the_rest(
    make_bus: BusFactory,
) -> None:
    bus = make_bus(visibility_timeout_s=0.3)
    seen: list[tuple[str, int]] = []

    def handler(record: Record) -> None:
        seen.append((record.key, record.deliveries))
        if record.key == "b" and record.deliveries == 1:
            raise KeyboardInterrupt

    d = Dispatcher(bus, consumer="w1")
    d.subscribe(T, "g", handler)
    publish_keys(bus, "a", "b", "c")
    with pytest.raises(KeyboardInterrupt):
        d.run_once()
    assert bus.pending(T, "g") == 2  # "a" was acknowledged on the way out
    assert bus.is_processed("g", "a")

    deadline = time.monotonic() + 10
    while bus.pending(T, "g") and time.monotonic() < deadline:
        d.run_once(block_ms=200)
    assert seen == [("a", 1), ("b", 1), ("b", 2), ("c", 2)]


def test_a_record_that_keeps_coming_back_is_dead_lettered(make_bus: BusFactory) -> None:
    bus = make_bus(visibility_timeout_s=0.1)
    bus.create_group(T, "g")
    publish_keys(bus, "crasher")
    deliveries = 0
    deadline = time.monotonic() + 10
    while deliveries < 2 and time.monotonic() < deadline:
        deliveries += len(bus.read(T, "g", "dies-every-time", block_ms=200))  # never acked
    time.sleep(0.15)

    handler = Recorder()
    d = Dispatcher(bus, consumer="w1", max_deliveries=2)
    d.subscribe(T, "g", handler)
    while d.run_once(block_ms=200) == 0 and time.monotonic() < deadline:
        pass
    assert handler.seen == []
    (letter,) = bus.dead_letters(T, "g")
    assert letter.key == "crasher" and "gave up after 2 deliveries" in letter.error
    assert d.stats()["g"].failed == 1


def test_background_thread_processes_until_stopped(bus: Bus) -> None:
    d = Dispatcher(bus, consumer="w1", idle_block_ms=50)
    handler = Recorder()
    d.subscribe(T, "g", handler)
    d.start()
    d.start()  # already running: no second thread
    try:
        assert d.running
        for i in range(0, 200, 20):
            publish_keys(bus, *(f"k{j}" for j in range(i, i + 20)))
        deadline = time.monotonic() + 20
        while d.stats()["g"].processed < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        d.stop()
    assert not d.running
    assert sorted(handler.seen) == sorted(f"k{i}" for i in range(200))
    assert bus.pending(T, "g") == 0
    publish_keys(bus, "after-stop")
    time.sleep(0.2)
    assert "after-stop" not in handler.seen


def test_the_background_thread_survives_a_bus_outage(
    bus: Bus, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Outage:
        down = True

    real_read = bus.read

    def read(topic: str, group: str, consumer: str, *, count: int, block_ms: int) -> list[Record]:
        if Outage.down:
            raise BusError("the bus is down")
        return real_read(topic, group, consumer, count=count, block_ms=block_ms)

    d = Dispatcher(bus, consumer="w1", idle_block_ms=20, error_backoff_s=0.02)
    handler = Recorder()
    d.subscribe(T, "g", handler)
    publish_keys(bus, "a")
    monkeypatch.setattr(bus, "read", read)
    with caplog.at_level(logging.ERROR, logger="portguard.core.bus.dispatch"):
        d.start()
        try:
            time.sleep(0.2)
            Outage.down = False
            deadline = time.monotonic() + 10
            while not handler.seen and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            d.stop()
    assert handler.seen == ["a"]
    assert "the bus is down" in caplog.text


def test_run_once_blocks_for_the_first_record(bus: Bus) -> None:
    d = Dispatcher(bus, consumer="w1")
    first, second = Recorder(), Recorder()
    d.subscribe(T, "g1", first)
    d.subscribe("alerts", "g2", second)
    timer = threading.Timer(0.2, lambda: bus.publish("alerts", "late", b"x"))
    timer.start()
    started = time.monotonic()
    handled = 0
    while not handled and time.monotonic() - started < 10:
        handled = d.run_once(block_ms=2000)
    timer.join()
    assert handled == 1
    assert second.seen == ["late"]
    assert d.run_once(block_ms=0) == 0


def test_one_handler_per_group_and_topic(bus: Bus) -> None:
    d = Dispatcher(bus, consumer="w1")
    d.subscribe(T, "g", Recorder())
    with pytest.raises(ValueError, match="own group"):
        d.subscribe(T, "g", Recorder())
    d.subscribe("alerts", "g", Recorder())  # same group name on another topic is fine


def test_start_latest_ignores_history(bus: Bus) -> None:
    publish_keys(bus, "old")
    d = Dispatcher(bus, consumer="w1")
    handler = Recorder()
    d.subscribe(T, "g", handler, start="latest")
    publish_keys(bus, "new")
    d.run_once()
    assert handler.seen == ["new"]


def test_bad_arguments(bus: Bus) -> None:
    with pytest.raises(ValueError):
        Dispatcher(bus, consumer="w1", batch_size=0)
    with pytest.raises(ValueError):
        Dispatcher(bus, consumer="w1", max_deliveries=0)
    assert Dispatcher(bus, consumer="w1").run_once(block_ms=10) == 0
