"""The Dispatcher: runs handlers on bus records, each in isolation, at least once, idempotently.

This module owns the consume loop every detector and consumer runs in. Its rules:

* Isolation (after mitmproxy's addon runner): a handler that raises is logged (topic, group,
  offset, key and the exception's type: never the payload or the message, which may carry
  personal data), counted, and its record moves to the group's dead-letter list. The other
  records of the batch, the other handlers and intake carry on.
* Idempotency: records whose key the group already processed are skipped (and counted); after a
  handler succeeds its key is remembered and the record acknowledged, in one step
  (``Bus.ack_processed``). Duplicates in one batch run once.
* At least once: nothing is acknowledged before its handler returned. A crash anywhere before the
  acknowledgement (a killed process, a handler that never returns) leaves the record in flight,
  and the bus delivers it again after its visibility timeout. A record delivered more than
  ``max_deliveries`` times is dead-lettered instead of crashing its consumer for ever.

Keep ``batch_size`` times the time a handler takes below the bus's visibility timeout, or records
still being worked on are handed to another consumer too (harmless, but wasted work).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace

from portguard.core.bus.base import Bus, Record, StartAt
from portguard.core.errors import BusError

__all__ = ["Dispatcher", "GroupStats", "Handler"]

log = logging.getLogger(__name__)

Handler = Callable[[Record], None]

#: Longest blocking read per subscription when a dispatcher waits on several.
_SLICE_MS = 20


@dataclass(slots=True)
class GroupStats:
    """What a consumer group did in this dispatcher since it started."""

    #: Records whose handler returned, acknowledged.
    processed: int = 0
    #: Records dead-lettered: the handler raised, or the record came back too many times.
    failed: int = 0
    #: Records skipped because the group had already processed their key.
    skipped_duplicates: int = 0


@dataclass(frozen=True, slots=True)
class _Subscription:
    topic: str
    group: str
    handler: Handler
    name: str


def _handler_name(handler: Handler) -> str:
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    module = getattr(handler, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def _describe(exc: Exception) -> str:
    """The dead-letter text: type, message and where it was raised. Stored on the bus, which
    holds the payload anyway, but never logged."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {last.filename}:{last.lineno} in {last.name})"
    return text


class Dispatcher:
    """Feeds records of subscribed (topic, group) pairs to their handlers.

    One handler per (topic, group); give each detector its own group so that each sees every
    record. ``run_once`` does one round; ``start`` runs rounds in a background thread until
    ``stop``. Handlers run one at a time, in that thread, so they need not be thread-safe.
    """

    def __init__(
        self,
        bus: Bus,
        *,
        consumer: str,
        batch_size: int = 100,
        max_deliveries: int = 5,
        idle_block_ms: int = 200,
        error_backoff_s: float = 0.5,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        self.bus = bus
        self.consumer = consumer
        self.batch_size = batch_size
        self.max_deliveries = max_deliveries
        self.idle_block_ms = idle_block_ms
        self.error_backoff_s = error_backoff_s
        self._subs: list[_Subscription] = []
        self._stats: dict[str, GroupStats] = {}
        self._lock = threading.Lock()  # guards _subs and _stats
        self._run_lock = threading.Lock()  # one round at a time (start() vs. run_once())
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- configuration -----------------------------------------------------------------------

    def subscribe(
        self, topic: str, group: str, handler: Handler, *, start: StartAt = "earliest"
    ) -> None:
        """Run ``handler`` on every record of ``topic`` for consumer group ``group`` (created if
        missing; ``start`` only matters then)."""
        with self._lock:
            if any(s.topic == topic and s.group == group for s in self._subs):
                raise ValueError(
                    f"group {group!r} on topic {topic!r} already has a handler in this "
                    "dispatcher; give each handler its own group"
                )
        self.bus.create_group(topic, group, start=start)
        with self._lock:
            self._subs.append(_Subscription(topic, group, handler, _handler_name(handler)))
            self._stats.setdefault(group, GroupStats())

    def stats(self) -> dict[str, GroupStats]:
        """Counters per group: a snapshot, safe to keep."""
        with self._lock:
            return {group: replace(s) for group, s in self._stats.items()}

    # -- running -----------------------------------------------------------------------------

    def run_once(self, *, block_ms: int = 0) -> int:
        """One batch per subscription; returns how many records were handled (processed,
        dead-lettered or skipped). With ``block_ms``, waits up to that long for a first record
        when there is none, the wait shared among the subscriptions."""
        with self._run_lock:
            with self._lock:
                subs = list(self._subs)
            if not subs:
                return 0
            handled = sum(self._run_batch(sub, block_ms=0) for sub in subs)
            if handled or block_ms <= 0:
                return handled
            deadline = time.monotonic() + block_ms / 1000
            # One subscription blocks for the whole wait. Several take turns in short slices: a
            # record on any of them then waits at most one round of slices.
            slice_ms = block_ms if len(subs) == 1 else min(block_ms, _SLICE_MS)
            while True:
                for sub in subs:
                    remaining_ms = int((deadline - time.monotonic()) * 1000)
                    if remaining_ms <= 0:
                        return 0
                    handled = self._run_batch(sub, block_ms=min(slice_ms, remaining_ms))
                    if handled:
                        return handled

    def _run_batch(self, sub: _Subscription, *, block_ms: int) -> int:
        records = self.bus.read(
            sub.topic, sub.group, self.consumer, count=self.batch_size, block_ms=block_ms
        )
        if not records:
            return 0
        seen = self.bus.processed_keys(sub.group, [r.key for r in records])
        done_offsets: list[str] = []
        done_keys: list[str] = []
        skipped: list[str] = []
        try:
            for record in records:
                if record.key in seen:
                    skipped.append(record.offset)
                    continue
                if record.deliveries > self.max_deliveries:
                    # It keeps coming back unacknowledged: its consumers crash or time out on it.
                    self._dead_letter(
                        sub,
                        record,
                        f"gave up after {record.deliveries - 1} deliveries without an "
                        "acknowledgement (each consumer crashed or timed out on it)",
                        None,
                    )
                    continue
                try:
                    sub.handler(record)
                except Exception as exc:  # isolation: one failing handler stops nothing else
                    self._dead_letter(sub, record, _describe(exc), exc)
                    continue
                seen.add(record.key)
                done_offsets.append(record.offset)
                done_keys.append(record.key)
        except BaseException:
            # KeyboardInterrupt, SystemExit, or the bus failing while dead-lettering: keep the
            # work already done, then let it through. The rest comes back after the timeout.
            with suppress(BusError):
                self.bus.ack_processed(sub.topic, sub.group, done_offsets + skipped, done_keys)
            raise
        self.bus.ack_processed(sub.topic, sub.group, done_offsets + skipped, done_keys)
        with self._lock:
            stats = self._stats[sub.group]
            stats.processed += len(done_keys)
            stats.skipped_duplicates += len(skipped)
        return len(records)

    def _dead_letter(
        self, sub: _Subscription, record: Record, error: str, exc: Exception | None
    ) -> None:
        # The exception's message can quote the payload: log its type only, keep it on the bus.
        log.warning(
            "handler %s failed on %s offset %s (key %s, delivery %d): %s; record dead-lettered "
            "for group %s",
            sub.name,
            sub.topic,
            record.offset,
            record.key,
            record.deliveries,
            type(exc).__name__ if exc is not None else "too many deliveries",
            sub.group,
        )
        self.bus.dead_letter(sub.topic, sub.group, record, error)
        with self._lock:
            self._stats[sub.group].failed += 1

    # -- background thread ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Run rounds in a background thread until ``stop``."""
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"portguard-dispatch-{self.consumer}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the current round and stop the thread (waits up to ``timeout_s``)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("dispatcher %s did not stop within %.1f s", self.consumer, timeout_s)

    def _loop(self) -> None:
        backoff = self.error_backoff_s
        while not self._stopping.is_set():
            try:
                self.run_once(block_ms=self.idle_block_ms)
                backoff = self.error_backoff_s
            except BusError as exc:
                # The bus is down: nothing was acknowledged, so nothing is lost. Wait and retry.
                log.error("dispatcher %s: %s; retrying in %.1f s", self.consumer, exc, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception as exc:
                log.error(
                    "dispatcher %s: unexpected %s; retrying in %.1f s",
                    self.consumer,
                    type(exc).__name__,
                    backoff,
                )
                log.debug("dispatcher %s: unexpected error", self.consumer, exc_info=True)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
