"""The event bus interface: durable topics, consumer groups, at-least-once delivery.

A producer ``publish``es a payload under a key (the event or alert id). When ``publish`` returns,
the record is durable: a crash after it loses nothing. Consumers in a *group* ``read`` records,
process them and ``ack`` them; a record read but not acknowledged within the visibility timeout is
delivered again (to the same or another consumer of the group), so a crash between receipt and
acknowledgement loses nothing either. Because delivery is at-least-once, consumers are idempotent:
the bus remembers which keys a group has processed (``mark_processed``/``is_processed``).

A consumer that fails on a record moves it to the group's dead-letter list (``dead_letter``), so
one poisoned message never blocks the stream. ``replay`` reads the log from any offset, whatever
the groups have acknowledged.

Backends: ``EmbeddedBus`` (SQLite log + in-process wake-up) and ``RedisBus`` (Redis Streams).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Literal, Self

__all__ = ["Bus", "DeadLetter", "Record", "StartAt"]

StartAt = Literal["earliest", "latest"]


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    #: Backend-specific, monotonically increasing within a topic, usable with ``replay``.
    offset: str
    #: Idempotency key: the id of the event or alert carried.
    key: str
    payload: bytes
    #: 1 on first delivery to the group, more when redelivered after a missing ack.
    deliveries: int = 1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    group: str
    offset: str
    key: str
    payload: bytes
    error: str
    failed_at: datetime
    deliveries: int


class Bus(ABC):
    """What every backend provides. All methods are thread-safe."""

    @abstractmethod
    def publish(self, topic: str, key: str, payload: bytes) -> str:
        """Append one record durably; returns its offset."""

    @abstractmethod
    def publish_many(self, topic: str, items: Sequence[tuple[str, bytes]]) -> list[str]:
        """Append records durably and atomically (all or none); returns their offsets."""

    @abstractmethod
    def create_group(self, topic: str, group: str, *, start: StartAt = "earliest") -> None:
        """Create a consumer group if it does not exist (idempotent)."""

    @abstractmethod
    def read(
        self, topic: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Record]:
        """Deliver up to ``count`` records to ``consumer``: first those whose visibility timeout
        expired without an ack (redeliveries), then new ones. Blocks up to ``block_ms`` when
        there is nothing."""

    @abstractmethod
    def ack(self, topic: str, group: str, offsets: Sequence[str]) -> None:
        """Acknowledge processed records; they are never delivered to the group again."""

    @abstractmethod
    def dead_letter(self, topic: str, group: str, record: Record, error: str) -> None:
        """Acknowledge ``record`` and keep it, with ``error``, in the group's dead-letter list."""

    @abstractmethod
    def dead_letters(self, topic: str, group: str, *, limit: int = 100) -> list[DeadLetter]:
        """The dead-letter list, oldest first."""

    @abstractmethod
    def replay(
        self, topic: str, *, from_offset: str | None = None, count: int = 1000
    ) -> list[Record]:
        """Read the log after ``from_offset`` (exclusive; None = from the start)."""

    @abstractmethod
    def trim(self, older_than_s: float) -> int:
        """Retention: delete the records published more than ``older_than_s`` seconds ago that
        every group of their topic has been handed and has acknowledged. Records a group has
        not read or not acknowledged stay (a stalled group holds retention back; ``pending``
        shows it), and so does each topic's newest record. Returns how many were deleted."""

    @abstractmethod
    def pending(self, topic: str, group: str) -> int:
        """Records not yet acknowledged by the group (undelivered + in flight)."""

    @abstractmethod
    def mark_processed(self, group: str, keys: Sequence[str]) -> None:
        """Remember that ``group`` has processed these keys."""

    @abstractmethod
    def is_processed(self, group: str, key: str) -> bool:
        """Whether ``group`` already processed ``key`` (idempotent consumers)."""

    def ack_processed(
        self, topic: str, group: str, offsets: Sequence[str], keys: Sequence[str]
    ) -> None:
        """``mark_processed(group, keys)`` then ``ack(topic, group, offsets)``.

        Backends override this to do both in one transaction (one commit, one round trip). The
        order matters when they cannot: a crash between the two leaves records processed but
        unacknowledged, so they come back and are skipped as duplicates, never lost."""
        self.mark_processed(group, keys)
        self.ack(topic, group, offsets)

    def processed_keys(self, group: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` ``group`` already processed: ``is_processed`` for a whole batch.

        Backends override this with one round trip; the default asks key by key."""
        return {key for key in keys if self.is_processed(group, key)}

    @abstractmethod
    def ping(self) -> None:
        """Raise BusError if the backend cannot be reached."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
