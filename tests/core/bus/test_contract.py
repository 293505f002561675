"""The Bus contract (portguard.core.bus.base), run against every backend."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from portguard.core.bus import Bus, Record
from portguard.core.errors import BusError

from .conftest import BusFactory

T = "orders"
G = "detectors"


def keys(records: list[Record]) -> list[str]:
    return [r.key for r in records]


def publish_n(bus: Bus, n: int, *, topic: str = T, prefix: str = "k") -> list[str]:
    return bus.publish_many(topic, [(f"{prefix}{i}", f"payload {i}".encode()) for i in range(n)])


def drain(bus: Bus, consumer: str, *, group: str = G, topic: str = T) -> list[Record]:
    got: list[Record] = []
    while batch := bus.read(topic, group, consumer, count=50):
        bus.ack(topic, group, [r.offset for r in batch])
        got.extend(batch)
    return got


def test_publish_read_ack(bus: Bus) -> None:
    bus.create_group(T, G)
    first = bus.publish(T, "a", b"alpha")
    rest = bus.publish_many(T, [("b", b"beta"), ("c", b"gamma")])
    assert bus.pending(T, G) == 3

    records = bus.read(T, G, "c1", count=10)
    assert [(r.topic, r.key, r.payload, r.deliveries) for r in records] == [
        (T, "a", b"alpha", 1),
        (T, "b", b"beta", 1),
        (T, "c", b"gamma", 1),
    ]
    assert [r.offset for r in records] == [first, *rest]
    assert bus.pending(T, G) == 3  # in flight until acknowledged

    bus.ack(T, G, [records[0].offset, records[1].offset])
    assert bus.pending(T, G) == 1
    # The unacknowledged one is in flight, not due: nothing to deliver now.
    assert bus.read(T, G, "c1") == []
    bus.ack(T, G, [records[2].offset])
    assert bus.pending(T, G) == 0
    bus.ack(T, G, [records[2].offset])  # acknowledging twice is harmless
    bus.ack(T, G, [])


def test_read_respects_count_and_order(bus: Bus) -> None:
    bus.create_group(T, G)
    offsets = publish_n(bus, 25)
    got: list[Record] = []
    while batch := bus.read(T, G, "c1", count=10):
        assert len(batch) <= 10
        got.extend(batch)
    assert [r.offset for r in got] == offsets
    assert keys(got) == [f"k{i}" for i in range(25)]


def test_create_group_is_idempotent_and_latest_skips_history(bus: Bus) -> None:
    publish_n(bus, 3, prefix="old")
    bus.create_group(T, "from-start")
    bus.create_group(T, "from-start")
    bus.create_group(T, "from-now", start="latest")
    bus.create_group(T, "from-now", start="latest")
    bus.publish(T, "new", b"n")
    assert keys(drain(bus, "c", group="from-start")) == ["old0", "old1", "old2", "new"]
    assert keys(drain(bus, "c", group="from-now")) == ["new"]


def test_read_from_a_missing_group_says_what_to_do(bus: Bus) -> None:
    bus.publish(T, "a", b"x")
    with pytest.raises(BusError, match="create_group"):
        bus.read(T, "nobody", "c1")
    with pytest.raises(BusError, match="create_group"):
        bus.pending(T, "nobody")


def test_two_consumers_in_one_group_split_the_records(bus: Bus) -> None:
    bus.create_group(T, G)
    publish_n(bus, 100)
    got: dict[str, list[str]] = {"c1": [], "c2": []}
    while True:
        progress = False
        for consumer in ("c1", "c2"):
            batch = bus.read(T, G, consumer, count=7)
            bus.ack(T, G, [r.offset for r in batch])
            got[consumer].extend(keys(batch))
            progress |= bool(batch)
        if not progress:
            break
    assert got["c1"] and got["c2"]
    assert not set(got["c1"]) & set(got["c2"])
    assert sorted(got["c1"] + got["c2"]) == sorted(f"k{i}" for i in range(100))
    assert bus.pending(T, G) == 0


def test_concurrent_consumers_lose_and_duplicate_nothing(bus: Bus) -> None:
    bus.create_group(T, G)
    n = 600
    seen: list[str] = []
    lock = threading.Lock()

    def consume(name: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            batch = bus.read(T, G, name, count=20, block_ms=100)
            bus.ack(T, G, [r.offset for r in batch])
            with lock:
                seen.extend(keys(batch))
                if len(seen) >= n:
                    return

    threads = [threading.Thread(target=consume, args=(f"c{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for start in range(0, n, 50):
        bus.publish_many(T, [(f"k{i}", b"x") for i in range(start, start + 50)])
    for t in threads:
        t.join(40)
    assert Counter(seen) == Counter(f"k{i}" for i in range(n))


def test_two_groups_each_get_everything(bus: Bus) -> None:
    bus.create_group(T, "maritime")
    bus.create_group(T, "access")
    publish_n(bus, 30)
    assert keys(drain(bus, "m1", group="maritime")) == [f"k{i}" for i in range(30)]
    assert keys(drain(bus, "a1", group="access")) == [f"k{i}" for i in range(30)]
    assert bus.pending(T, "maritime") == bus.pending(T, "access") == 0


def test_topics_are_separate(bus: Bus) -> None:
    bus.create_group("events", G)
    bus.create_group("alerts", G)
    bus.publish("events", "e1", b"e")
    bus.publish("alerts", "a1", b"a")
    assert keys(drain(bus, "c", topic="events")) == ["e1"]
    assert keys(drain(bus, "c", topic="alerts")) == ["a1"]


def test_unacknowledged_records_are_redelivered_after_the_visibility_timeout(
    make_bus: BusFactory,
) -> None:
    bus = make_bus(visibility_timeout_s=0.4)
    bus.create_group(T, G)
    publish_n(bus, 3)
    first = bus.read(T, G, "crashes", count=2)
    assert keys(first) == ["k0", "k1"]
    # Not yet due: the other consumer only gets the record nobody had.
    assert keys(bus.read(T, G, "survivor", count=10)) == ["k2"]
    assert bus.read(T, G, "survivor", count=10) == []

    started = time.monotonic()
    again: list[Record] = []
    while len(again) < 3 and time.monotonic() - started < 10:
        again.extend(bus.read(T, G, "survivor", count=10, block_ms=2000))
    assert time.monotonic() - started >= 0.25
    assert sorted(keys(again)) == ["k0", "k1", "k2"]
    assert all(r.deliveries == 2 for r in again)
    assert {r.offset for r in again} >= {r.offset for r in first}

    bus.ack(T, G, [r.offset for r in again])
    assert bus.pending(T, G) == 0
    time.sleep(0.5)
    assert bus.read(T, G, "survivor") == []


def test_redeliveries_come_before_new_records_and_count_up(make_bus: BusFactory) -> None:
    bus = make_bus(visibility_timeout_s=0.2)
    bus.create_group(T, G)
    publish_n(bus, 1)
    bus.read(T, G, "c1")
    time.sleep(0.3)
    bus.publish(T, "fresh", b"f")
    time.sleep(0.1)
    batch = bus.read(T, G, "c2", count=10)
    assert [(r.key, r.deliveries) for r in batch] == [("k0", 2), ("fresh", 1)]
    time.sleep(0.3)
    batch = bus.read(T, G, "c3", count=10)
    assert sorted((r.key, r.deliveries) for r in batch) == [("fresh", 2), ("k0", 3)]


def test_replay_from_an_offset_is_exclusive_and_ignores_acks(bus: Bus) -> None:
    offsets = publish_n(bus, 5)
    bus.create_group(T, G)
    drain(bus, "c")  # acknowledged by the group: still in the log
    assert keys(bus.replay(T)) == ["k0", "k1", "k2", "k3", "k4"]
    assert keys(bus.replay(T, from_offset=offsets[2])) == ["k3", "k4"]
    assert keys(bus.replay(T, from_offset=offsets[4])) == []
    assert keys(bus.replay(T, count=2)) == ["k0", "k1"]
    page = bus.replay(T, from_offset=offsets[1], count=2)
    assert [r.offset for r in page] == offsets[2:4]
    assert bus.replay("never-published") == []
    with pytest.raises(ValueError):
        bus.replay(T, from_offset="not an offset")


def test_dead_letter_keeps_the_record_and_error_and_acknowledges_it(
    make_bus: BusFactory,
) -> None:
    bus = make_bus(visibility_timeout_s=0.2)
    bus.create_group(T, G)
    bus.publish_many(T, [("good", b"g"), ("poison", b"\x00bad")])
    good, poison = bus.read(T, G, "c1", count=10)
    bus.ack(T, G, [good.offset])
    bus.dead_letter(T, G, poison, "ValueError: cannot parse")
    assert bus.pending(T, G) == 0
    time.sleep(0.3)
    assert bus.read(T, G, "c1") == []  # never redelivered

    (letter,) = bus.dead_letters(T, G)
    assert (letter.topic, letter.group, letter.offset, letter.key, letter.payload) == (
        T,
        G,
        poison.offset,
        "poison",
        b"\x00bad",
    )
    assert letter.error == "ValueError: cannot parse"
    assert letter.deliveries == 1
    assert letter.failed_at.tzinfo is not None
    assert bus.dead_letters(T, "other-group") == []


def test_dead_letters_are_oldest_first_and_limited(bus: Bus) -> None:
    bus.create_group(T, G)
    publish_n(bus, 4)
    for record in bus.read(T, G, "c1", count=10):
        bus.dead_letter(T, G, record, f"failed {record.key}")
    assert [d.key for d in bus.dead_letters(T, G)] == ["k0", "k1", "k2", "k3"]
    assert [d.key for d in bus.dead_letters(T, G, limit=2)] == ["k0", "k1"]


def test_processed_keys_are_remembered_per_group(bus: Bus) -> None:
    assert not bus.is_processed(G, "e1")
    bus.mark_processed(G, ["e1", "e2"])
    bus.mark_processed(G, ["e2"])  # idempotent
    bus.mark_processed(G, [])
    assert bus.is_processed(G, "e1")
    assert bus.is_processed(G, "e2")
    assert not bus.is_processed("other", "e1")
    assert bus.processed_keys(G, ["e1", "e3", "e2", "e1"]) == {"e1", "e2"}
    assert bus.processed_keys(G, []) == set()


def test_ack_processed_remembers_and_acknowledges(bus: Bus) -> None:
    bus.create_group(T, G)
    publish_n(bus, 2)
    records = bus.read(T, G, "c1", count=10)
    bus.ack_processed(T, G, [r.offset for r in records], keys(records))
    assert bus.pending(T, G) == 0
    assert bus.processed_keys(G, ["k0", "k1"]) == {"k0", "k1"}


def test_publish_many_is_all_or_nothing(bus: Bus) -> None:
    bad: list[tuple[str, bytes]] = [("a", b"1"), ("b", "not bytes"), ("c", b"3")]  # type: ignore[list-item]
    with pytest.raises(TypeError):
        bus.publish_many(T, bad)
    with pytest.raises(ValueError):
        bus.publish_many(T, [("a", b"1"), ("", b"2")])
    assert bus.replay(T) == []
    assert bus.publish_many(T, []) == []
    offsets = bus.publish_many(T, [(f"k{i}", bytes([i])) for i in range(50)])
    assert [r.offset for r in bus.replay(T)] == offsets
    assert len(set(offsets)) == 50


def test_blocking_read_wakes_on_publish(bus: Bus) -> None:
    bus.create_group(T, G)
    timer = threading.Timer(0.2, lambda: bus.publish(T, "late", b"x"))
    timer.start()
    try:
        started = time.monotonic()
        records = bus.read(T, G, "c1", block_ms=5000)
        waited = time.monotonic() - started
    finally:
        timer.join()
    assert keys(records) == ["late"]
    assert 0.1 < waited < 3


def test_blocking_read_gives_up_after_block_ms(bus: Bus) -> None:
    bus.create_group(T, G)
    started = time.monotonic()
    assert bus.read(T, G, "c1", block_ms=300) == []
    assert 0.25 < time.monotonic() - started < 3


def test_names_and_offsets_are_checked(bus: Bus) -> None:
    with pytest.raises(ValueError, match="topic"):
        bus.publish("bad topic", "k", b"x")
    with pytest.raises(ValueError, match="group"):
        bus.create_group(T, "a:b")
    bus.create_group(T, G)
    with pytest.raises(ValueError, match="count"):
        bus.read(T, G, "c1", count=0)
    with pytest.raises(ValueError, match="offset"):
        bus.ack(T, G, ["nonsense"])


def test_ping_and_context_manager(make_bus: BusFactory) -> None:
    with make_bus() as bus:
        bus.ping()
        bus.publish(T, "a", b"x")
    with make_bus() as again:
        assert keys(again.replay(T)) == ["a"]


def test_trim_keeps_what_a_group_still_needs_and_the_newest(bus: Bus) -> None:
    """Retention deletes only old records every group has been handed and acknowledged."""
    bus.create_group(T, "fast")
    bus.create_group(T, "slow")
    offsets = publish_n(bus, 6)
    fast = bus.read(T, "fast", "c", count=6)
    bus.ack(T, "fast", [r.offset for r in fast[:4]])  # k4, k5 in flight for "fast"
    slow = bus.read(T, "slow", "c", count=3)
    bus.ack(T, "slow", [r.offset for r in slow])  # "slow" has not been handed k3..k5
    assert bus.trim(3600) == 0  # nothing is an hour old
    assert bus.trim(0) == 3  # k0..k2: handed to and acknowledged by both groups
    assert keys(bus.replay(T)) == ["k3", "k4", "k5"]
    drain(bus, "c", group="slow")
    assert bus.trim(0) == 1  # k3; k4 is still in flight for "fast"
    bus.ack(T, "fast", [r.offset for r in fast[4:]])
    assert bus.trim(0) == 1  # k4; k5 is the newest record and stays
    assert keys(bus.replay(T)) == ["k5"]
    # Offsets keep growing after a trim, and both groups get what comes next.
    (new,) = publish_n(bus, 1, prefix="n")
    assert new not in offsets
    assert keys(drain(bus, "c", group="fast")) == ["n0"]
    assert keys(drain(bus, "c", group="slow")) == ["n0"]
    assert bus.pending(T, "fast") == 0
    with pytest.raises(ValueError):
        bus.trim(-1)


def test_trim_without_groups_keeps_only_the_newest_old_record(bus: Bus) -> None:
    publish_n(bus, 3, topic="audit-copy")
    assert bus.trim(0) == 2
    assert keys(bus.replay("audit-copy")) == ["k2"]
