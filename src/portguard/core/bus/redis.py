"""RedisBus: the event bus on Redis Streams, for scale-out (detector workers on several machines).

This module owns the bus's Redis keys, all under one namespace so several PortGuard instances
can share a server::

    {ns}:stream:{topic}          the log: one stream entry per record (fields k = key, p = payload)
    {ns}:dead:{topic}:{group}    the group's dead letters, a stream of their own
    {ns}:processed:{group}       the keys a group has processed, a SET

Mapping of the interface: consumer groups are stream consumer groups (XGROUP CREATE ... MKSTREAM,
idempotent); ``read`` first claims entries idle longer than the visibility timeout (XAUTOCLAIM,
which also counts deliveries; the count is read back with XPENDING), then reads new ones
(XREADGROUP ``>``); ``ack`` is XACK; ``publish_many`` is one MULTI/EXEC of XADDs; ``replay`` is
XRANGE with an exclusive start.

Durability is the server's: ``publish`` returns once Redis has the entry, and survives a Redis
restart only as far as its persistence is set up (``appendonly yes``; ``appendfsync always`` for
no loss at all on power failure, ``everysec`` for at most a second).

Every Redis failure becomes a ``BusError`` whose message names the server (without password) and
what to check; callers never see a redis-py traceback.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.exceptions
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from portguard.core.bus._common import check_items, check_name, clip_error
from portguard.core.bus.base import Bus, DeadLetter, Record, StartAt
from portguard.core.errors import BusError, ConfigError

__all__ = ["RedisBus", "redact_url"]

_STREAM_ID_RE = re.compile(r"^\d+-\d+$")
# Longest single server-side BLOCK: well under the socket timeout, so a blocking read never looks
# like a dead server; longer waits are done in slices.
_BLOCK_SLICE_MS = 1000


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def _offset(value: str) -> str:
    if not isinstance(value, str) or not _STREAM_ID_RE.match(value):
        raise ValueError(f"{value!r} is not an offset of the Redis bus (expected e.g. '1-0')")
    return value


def _id(value: str) -> tuple[int, int]:
    """A stream entry id as numbers, for ordering ('10-0' < '9-1' as text)."""
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


_Entry = tuple[str, dict[bytes, bytes]]


def _entries(raw: Any) -> list[_Entry]:
    """Stream entries as redis-py parses them (RESP2), minus those deleted from the stream."""
    out: list[_Entry] = []
    for entry_id, fields in raw or ():
        if entry_id is not None and fields:
            out.append((_text(entry_id), cast(dict[bytes, bytes], fields)))
    return out


def _record(topic: str, entry: _Entry, deliveries: int = 1) -> Record:
    entry_id, fields = entry
    return Record(topic, entry_id, _text(fields[b"k"]), _bytes(fields[b"p"]), deliveries)


class RedisBus(Bus):
    """The bus on Redis Streams. Thread-safe (redis-py's connection pool)."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "portguard",
        visibility_timeout_s: float = 30.0,
        socket_timeout_s: float = 10.0,
    ) -> None:
        if visibility_timeout_s <= 0:
            raise ValueError("visibility_timeout_s must be positive")
        check_name("namespace", namespace)
        self.url = redact_url(url)
        self.namespace = namespace
        self.visibility_timeout_s = float(visibility_timeout_s)
        self._visibility_ms = max(1, round(visibility_timeout_s * 1000))
        # Look for expired deliveries at most this often per (topic, group): XAUTOCLAIM on every
        # read would double the round trips of the hot path. Redelivery is late by at most this.
        self._claim_every_s = min(1.0, self.visibility_timeout_s / 10)
        # Server-side BLOCK in slices no longer than the sweep interval, so redeliveries that
        # fall due during a long blocking read are not left waiting for its end.
        self._block_slice_ms = max(50, min(_BLOCK_SLICE_MS, round(self._claim_every_s * 1000)))
        self._claim_lock = threading.Lock()
        # (topic, group) -> (XAUTOCLAIM cursor, monotonic time of the next sweep)
        self._claim_state: dict[tuple[str, str], tuple[str, float]] = {}
        self._socket_timeout_s = socket_timeout_s
        try:
            self._client = redis.Redis.from_url(
                url,
                protocol=2,
                socket_connect_timeout=min(3.0, socket_timeout_s),
                socket_timeout=socket_timeout_s,
                # A couple of quick retries ride out a server restart; redis-py's default (ten,
                # up to a second apart) would leave a user staring at a hung command.
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
                health_check_interval=30,
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"redis_url {self.url!r} is not a usable Redis URL: {exc}") from None

    # -- keys and errors ---------------------------------------------------------------------

    def _stream(self, topic: str) -> str:
        check_name("topic", topic)
        return f"{self.namespace}:stream:{topic}"

    def _dead(self, topic: str, group: str) -> str:
        check_name("topic", topic)
        check_name("group", group)
        return f"{self.namespace}:dead:{topic}:{group}"

    def _processed(self, group: str) -> str:
        check_name("group", group)
        return f"{self.namespace}:processed:{group}"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except redis.exceptions.AuthenticationError as exc:
            raise BusError(
                f"Redis at {self.url} refused the credentials ({exc}); check the user and "
                "password in redis_url"
            ) from None
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise BusError(
                f"Redis at {self.url} is unreachable ({exc}); cannot {action}. Check that "
                "redis-server is running there, or set redis_url (PORTGUARD_REDIS_URL)"
            ) from None
        except redis.exceptions.ResponseError as exc:
            text = str(exc)
            if text.startswith("NOGROUP") or "no such key" in text:
                raise BusError(f"cannot {action}: {self._nogroup_hint()}") from None
            raise BusError(f"Redis at {self.url} refused to {action}: {text}") from None
        except redis.exceptions.RedisError as exc:
            raise BusError(f"Redis at {self.url}: cannot {action}: {exc}") from None

    def _nogroup_hint(self) -> str:
        return (
            "the consumer group does not exist on this topic; create it first "
            "(create_group, or Dispatcher.subscribe)"
        )

    # -- publish -----------------------------------------------------------------------------

    def publish(self, topic: str, key: str, payload: bytes) -> str:
        return self.publish_many(topic, [(key, payload)])[0]

    def publish_many(self, topic: str, items: Sequence[tuple[str, bytes]]) -> list[str]:
        stream = self._stream(topic)
        check_items(items)
        if not items:
            return []
        with self._errors(f"publish to {topic!r}"):
            if len(items) == 1:
                key, payload = items[0]
                return [_text(self._client.xadd(stream, {b"k": key, b"p": bytes(payload)}))]
            # MULTI/EXEC: the server applies all the XADDs or, if the connection drops before
            # EXEC, none; the batch is validated above so no entry can be refused half-way.
            pipe = self._client.pipeline(transaction=True)
            for key, payload in items:
                pipe.xadd(stream, {b"k": key, b"p": bytes(payload)})
            return [_text(i) for i in pipe.execute()]

    # -- groups and delivery -------------------------------------------------------------------

    def create_group(self, topic: str, group: str, *, start: StartAt = "earliest") -> None:
        stream = self._stream(topic)
        check_name("group", group)
        if start not in ("earliest", "latest"):
            raise ValueError(f"start must be 'earliest' or 'latest', got {start!r}")
        try:
            with self._errors(f"create consumer group {group!r} on {topic!r}"):
                self._client.xgroup_create(
                    stream, group, id="0" if start == "earliest" else "$", mkstream=True
                )
        except BusError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(
        self, topic: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Record]:
        stream = self._stream(topic)
        check_name("group", group)
        check_name("consumer", consumer)
        if count < 1:
            raise ValueError("count must be at least 1")
        deadline = time.monotonic() + max(block_ms, 0) / 1000
        action = f"read {topic!r} for group {group!r}"
        with self._errors(action):
            while True:
                records = self._claim_expired(topic, group, consumer, stream, count)
                room = count - len(records)
                if room <= 0:
                    return records
                remaining_ms = int((deadline - time.monotonic()) * 1000)
                block: int | None = None
                if not records and remaining_ms > 0:
                    block = min(remaining_ms, self._block_slice_ms)
                resp = self._client.xreadgroup(
                    group, consumer, {stream: ">"}, count=room, block=block
                )
                records.extend(self._records(topic, resp))
                if records or block is None:
                    return records

    def _claim_expired(
        self, topic: str, group: str, consumer: str, stream: str, count: int
    ) -> list[Record]:
        now = time.monotonic()
        with self._claim_lock:
            cursor, next_at = self._claim_state.get((topic, group), ("0-0", 0.0))
            if now < next_at:
                return []
            # Claim the sweep slot for this interval, so concurrent readers do not all sweep.
            self._claim_state[(topic, group)] = (cursor, now + self._claim_every_s)
        resp = self._client.xautoclaim(
            stream, group, consumer, self._visibility_ms, start_id=cursor, count=count
        )
        next_cursor = _text(resp[0])
        claimed = _entries(resp[1])
        with self._claim_lock:
            # More to sweep (the cursor did not wrap to 0-0): come back on the next read.
            next_at = now if next_cursor != "0-0" else now + self._claim_every_s
            self._claim_state[(topic, group)] = (next_cursor, next_at)
        if not claimed:
            return []
        # XAUTOCLAIM counted the delivery; XPENDING tells how many there have been.
        pipe = self._client.pipeline(transaction=False)
        for entry_id, _ in claimed:
            pipe.xpending_range(stream, group, min=entry_id, max=entry_id, count=1)
        counts = pipe.execute()
        return [
            # No XPENDING row means another consumer acked it meanwhile; it was redelivered.
            _record(topic, entry, int(pend[0]["times_delivered"]) if pend else 2)
            for entry, pend in zip(claimed, counts, strict=True)
        ]

    def _records(self, topic: str, resp: Any) -> list[Record]:
        out: list[Record] = []
        for _stream_name, entries in resp or ():
            out.extend(_record(topic, entry) for entry in _entries(entries))
        return out

    def ack(self, topic: str, group: str, offsets: Sequence[str]) -> None:
        stream = self._stream(topic)
        ids = [_offset(o) for o in offsets]
        if not ids:
            return
        with self._errors(f"acknowledge records of {topic!r} for group {group!r}"):
            self._client.xack(stream, group, *ids)

    def ack_processed(
        self, topic: str, group: str, offsets: Sequence[str], keys: Sequence[str]
    ) -> None:
        stream = self._stream(topic)
        ids = [_offset(o) for o in offsets]
        processed = self._processed(group)
        if not ids and not keys:
            return
        with self._errors(f"acknowledge records of {topic!r} for group {group!r}"):
            # One MULTI/EXEC: the keys are remembered exactly when the records are acknowledged.
            pipe = self._client.pipeline(transaction=True)
            if keys:
                pipe.sadd(processed, *keys)
            if ids:
                pipe.xack(stream, group, *ids)
            pipe.execute()

    def dead_letter(self, topic: str, group: str, record: Record, error: str) -> None:
        stream = self._stream(topic)
        dead = self._dead(topic, group)
        entry_id = _offset(record.offset)
        with self._errors(f"dead-letter a record of {topic!r} for group {group!r}"):
            pipe = self._client.pipeline(transaction=True)
            pipe.xadd(
                dead,
                {
                    b"o": entry_id,
                    b"k": record.key,
                    b"p": record.payload,
                    b"e": clip_error(error),
                    b"t": repr(time.time()),
                    b"d": record.deliveries,
                },
            )
            pipe.xack(stream, group, entry_id)
            pipe.execute()

    def dead_letters(self, topic: str, group: str, *, limit: int = 100) -> list[DeadLetter]:
        dead = self._dead(topic, group)
        with self._errors(f"list dead letters of {topic!r} for group {group!r}"):
            entries = _entries(self._client.xrange(dead, "-", "+", count=limit))
        return [
            DeadLetter(
                topic=topic,
                group=group,
                offset=_text(f[b"o"]),
                key=_text(f[b"k"]),
                payload=_bytes(f[b"p"]),
                error=_text(f[b"e"]),
                failed_at=datetime.fromtimestamp(float(f[b"t"]), UTC),
                deliveries=int(f[b"d"]),
            )
            for _, f in entries
        ]

    def replay(
        self, topic: str, *, from_offset: str | None = None, count: int = 1000
    ) -> list[Record]:
        stream = self._stream(topic)
        start = "-" if from_offset is None else "(" + _offset(from_offset)
        with self._errors(f"replay {topic!r}"):
            entries = _entries(self._client.xrange(stream, start, "+", count=count))
        return [_record(topic, entry) for entry in entries]

    def trim(self, older_than_s: float) -> int:
        if older_than_s < 0:
            raise ValueError("older_than_s must be >= 0")
        # Entry ids start with their publication time in ms: everything before this id is old
        # (to the millisecond: one published in the cutoff's millisecond counts as old).
        keep_from = [(int((time.time() - older_than_s) * 1000) + 1, 0)]
        prefix = f"{self.namespace}:stream:"
        deleted = 0
        with self._errors("trim the log"):
            for key in self._client.scan_iter(match=prefix + "*", count=500):
                stream = _text(key)
                newest = _entries(self._client.xrevrange(stream, "+", "-", count=1))
                if not newest:
                    continue
                keep = [*keep_from, _id(newest[0][0])]
                for info in self._client.xinfo_groups(stream):
                    ms, seq = _id(_text(info["last-delivered-id"]))
                    keep.append((ms, seq + 1))  # handed out up to there
                    if int(info["pending"]):
                        summary = self._client.xpending(stream, _text(info["name"]))
                        keep.append(_id(_text(summary["min"])))  # in flight from there
                ms, seq = min(keep)
                deleted += int(self._client.xtrim(stream, minid=f"{ms}-{seq}", approximate=False))
        return deleted

    def pending(self, topic: str, group: str) -> int:
        stream = self._stream(topic)
        check_name("group", group)
        with self._errors(f"count pending records of {topic!r} for group {group!r}"):
            groups = self._client.xinfo_groups(stream)
            info = next((g for g in groups if _text(g["name"]) == group), None)
            if info is None:
                raise BusError(f"cannot count pending records: {self._nogroup_hint()}")
            lag = info.get("lag")
            if lag is None:
                # Redis cannot tell the lag after entries were deleted: count what is left.
                last = _text(info["last-delivered-id"])
                lag = len(_entries(self._client.xrange(stream, "(" + last, "+")))
            return int(info["pending"]) + int(lag)

    # -- idempotency ---------------------------------------------------------------------------

    def mark_processed(self, group: str, keys: Sequence[str]) -> None:
        name = self._processed(group)
        if not keys:
            return
        with self._errors(f"remember processed keys of group {group!r}"):
            self._client.sadd(name, *keys)

    def is_processed(self, group: str, key: str) -> bool:
        name = self._processed(group)
        with self._errors(f"look up a processed key of group {group!r}"):
            return bool(self._client.sismember(name, key))

    def processed_keys(self, group: str, keys: Sequence[str]) -> set[str]:
        name = self._processed(group)
        unique = list(dict.fromkeys(keys))
        if not unique:
            return set()
        with self._errors(f"look up processed keys of group {group!r}"):
            flags = self._client.smismember(name, unique)
        return {key for key, flag in zip(unique, flags, strict=True) if flag}

    # -- lifecycle -----------------------------------------------------------------------------

    def ping(self) -> None:
        with self._errors("ping"):
            self._client.ping()

    def close(self) -> None:
        # Closing is best effort: a server that went away has nothing left to release.
        try:
            self._client.close()
        except redis.exceptions.RedisError:
            return

    def __repr__(self) -> str:
        return f"RedisBus({self.url!r}, namespace={self.namespace!r})"
