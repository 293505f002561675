"""EmbeddedBus: the event bus as a durable log in its own SQLite file.

This module owns the bus file (``data_dir/bus.db``): its schema and every read and write to it.
It uses the stdlib ``sqlite3`` module directly, because this is the hot path of the platform.

Durability: WAL journal with ``synchronous=NORMAL``. A commit is in the WAL file (in the operating
system's page cache) before ``publish`` returns, so killing the process, even with SIGKILL, loses
nothing that ``publish`` returned for. Only a power cut or a kernel crash can drop the last commits.

Throughput comes from *group commit*: concurrent ``publish`` calls queue their records; the first
caller to find no commit in progress becomes the leader and writes everything queued in one
transaction, the others wait for that commit. A lone publisher pays one transaction per call and
never waits for a batch to fill; under load, batches form by themselves. ``publish_many`` writes a
whole batch in one transaction.

Wake-up: consumers blocked in ``read(block_ms=...)`` wait on a condition that every publish through
this process (any ``EmbeddedBus`` on the same file) notifies. Consumers in other processes poll the
file every ``poll_interval_s`` with two cheap index lookups, so several processes may share it.

Tables::

    topics        topic -> n: its log is the table ``log_n``
    log_n         one per topic (no secondary index to update): id (the offset), key, payload
    groups        (topic, grp) -> cursor: the last log id handed out to the group
    inflight      (topic, grp, log_id): delivered, not yet acknowledged; consumer, delivered_at,
                  deliveries. Redelivered when delivered_at is older than the visibility timeout.
    dead_letters  records a consumer gave up on, with the error
    processed     (grp, key): keys a group has processed (idempotent consumers)

Offsets are a topic's ``log_n.id``: ``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT``, whose
extra page write costs a third of a commit (measured). Ids are still never reused, because
nothing deletes a topic's newest record: ``trim`` (retention) keeps it, or the cursors of the
groups would point past new records.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from portguard.core.bus._common import check_items, check_name, clip_error
from portguard.core.bus.base import Bus, DeadLetter, Record, StartAt
from portguard.core.errors import BusError

__all__ = ["EmbeddedBus"]

SCHEMA_VERSION = 1

_SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS groups (
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (topic, grp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inflight (
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    log_id INTEGER NOT NULL,
    consumer TEXT NOT NULL,
    delivered_at REAL NOT NULL,
    deliveries INTEGER NOT NULL,
    PRIMARY KEY (topic, grp, log_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inflight_due ON inflight (topic, grp, delivered_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    log_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    error TEXT NOT NULL,
    failed_at REAL NOT NULL,
    deliveries INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_group ON dead_letters (topic, grp, id);
CREATE TABLE IF NOT EXISTS processed (
    grp TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (grp, key)
) WITHOUT ROWID;
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""

_LOG_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    published_at REAL NOT NULL
)
"""

# SQLite's default limit on host parameters is 32766 since 3.32; stay far below it.
_IN_CHUNK = 500
# Rows ``trim`` deletes per transaction.
_TRIM_CHUNK = 5000


class _Waker:
    """Wakes readers blocked on one bus file when something is published in this process."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.version = 0

    def notify(self) -> None:
        with self.cond:
            self.version += 1
            self.cond.notify_all()


# Every EmbeddedBus on the same file in this process shares one waker, so a consumer opened on
# its own instance still wakes at once when another instance publishes.
_WAKERS: weakref.WeakValueDictionary[str, _Waker] = weakref.WeakValueDictionary()
_WAKERS_LOCK = threading.Lock()


def _waker_for(path: Path) -> _Waker:
    key = str(path.resolve())
    with _WAKERS_LOCK:
        waker = _WAKERS.get(key)
        if waker is None:
            waker = _Waker()
            _WAKERS[key] = waker
        return waker


@dataclass(slots=True, eq=False)
class _Pending:
    """One publish call waiting in the group-commit queue."""

    topic: str
    items: Sequence[tuple[str, bytes]]
    offsets: list[str] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False
    #: Held while the caller waits; released to wake it, either because its commit is done or
    #: because it is now the leader. A bare lock is the cheapest one-shot signal in CPython.
    signal: threading.Lock = field(default_factory=threading.Lock)

    def result(self) -> list[str]:
        if self.error is None:
            return self.offsets
        # A fresh exception per caller: one instance raised in several threads would share (and
        # scramble) its traceback.
        if isinstance(self.error, BusError):
            raise BusError(str(self.error)) from None
        raise BusError(
            f"the commit carrying this publish failed ({type(self.error).__name__}); "
            "nothing of it was written"
        ) from None


def _offset(value: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not an offset of the embedded bus") from None
    if n < 0:
        raise ValueError(f"{value!r} is not an offset of the embedded bus")
    return n


class EmbeddedBus(Bus):
    """The bus as a SQLite log file. Thread-safe; several processes may open the same file."""

    def __init__(
        self,
        path: Path,
        *,
        visibility_timeout_s: float = 30.0,
        poll_interval_s: float = 0.02,
    ) -> None:
        if visibility_timeout_s <= 0:
            raise ValueError("visibility_timeout_s must be positive")
        if poll_interval_s <= 0:
            raise ValueError("poll_interval_s must be positive")
        self.path = Path(path)
        self.visibility_timeout_s = float(visibility_timeout_s)
        self.poll_interval_s = float(poll_interval_s)
        # One connection, used under one lock: inside a process this serialises writers without
        # SQLite's busy handler (which sleeps in steps of milliseconds). Across processes, SQLite's
        # file locks and busy timeout do the job.
        self._lock = threading.RLock()
        self._closed = False
        # topic -> its log table, once committed (the mapping never changes afterwards).
        self._tables: dict[str, str] = {}
        self._conn = self._connect()
        self._waker = _waker_for(self.path)
        # Group commit: the queue of publish calls and whether a leader is writing.
        self._gc = threading.Lock()
        self._queue: list[_Pending] = []
        self._leader = False

    # -- connection --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            where = self.path.parent
            raise BusError(f"cannot create the bus log directory {where}: {exc}") from None
        try:
            # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves. IMMEDIATE takes
            # the write lock up front, so two processes never deadlock upgrading a read lock.
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise BusError(f"cannot open the bus log {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise BusError(
                    f"the bus log {self.path} cannot use SQLite's WAL journal (got {mode!r}); "
                    "put the data directory on a local file system"
                )
            # NORMAL in WAL mode: commits survive a process crash; only power loss can drop the
            # last ones. FULL would fsync every commit and cost an order of magnitude.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-16000")
            conn.execute("PRAGMA temp_store=MEMORY")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise BusError(
                    f"the bus log {self.path} was written by a newer PortGuard "
                    f"(schema {version}, this one knows {SCHEMA_VERSION}); upgrade PortGuard"
                )
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise BusError(f"cannot open the bus log {self.path}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _db(self, action: str) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; SQLite errors become BusError naming the action."""
        with self._lock:
            if self._closed:
                raise BusError(f"the bus log {self.path} is closed; cannot {action}")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    # The original error is the one worth reporting.
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                raise BusError(self._describe(action, exc)) from None

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        with self._db(action) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _describe(self, action: str, exc: sqlite3.Error) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return (
                f"cannot {action}: the bus log {self.path} stayed locked by another process "
                f"for over 10 s ({text})"
            )
        if "full" in text:
            return f"cannot {action}: the disk holding the bus log {self.path} is full ({text})"
        return f"cannot {action} in the bus log {self.path}: {text}"

    def _table(self, conn: sqlite3.Connection, topic: str, *, create: bool) -> str | None:
        """The log table of ``topic``; with ``create`` (inside a write transaction), made if
        missing. None when the topic has never been published to nor subscribed."""
        table = self._tables.get(topic)
        if table is not None:
            return table
        row = conn.execute("SELECT n FROM topics WHERE name = ?", (topic,)).fetchone()
        if row is not None:
            table = f"log_{int(row[0])}"
            self._tables[topic] = table
            return table
        if not create:
            return None
        n = conn.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM topics").fetchone()[0]
        conn.execute("INSERT INTO topics (name, n) VALUES (?, ?)", (topic, n))
        table = f"log_{int(n)}"
        conn.execute(_LOG_TABLE.format(table=table))
        # Not cached yet: the transaction may still roll back. The next call reads it back.
        return table

    # -- publish -----------------------------------------------------------------------------

    def publish(self, topic: str, key: str, payload: bytes) -> str:
        return self.publish_many(topic, [(key, payload)])[0]

    def publish_many(self, topic: str, items: Sequence[tuple[str, bytes]]) -> list[str]:
        check_name("topic", topic)
        check_items(items)
        if not items:
            return []
        mine = _Pending(topic, items)
        mine.signal.acquire()
        with self._gc:
            self._queue.append(mine)
            follower = self._leader
            self._leader = True
        if follower:
            # Wait without spinning: released when our commit is done, or when we are promoted.
            try:
                mine.signal.acquire()
            except BaseException:
                self._withdraw(mine)
                raise
            if mine.done:
                return mine.result()
        # We lead: write everything queued so far, ours included, in one transaction.
        with self._gc:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            for p in batch:
                if p is not mine:
                    p.signal.release()
            with self._gc:
                if self._queue:
                    # Hand the lead to the oldest waiter: one wake-up, no thundering herd.
                    self._queue[0].signal.release()
                else:
                    self._leader = False
        self._waker.notify()
        return mine.result()

    def _withdraw(self, mine: _Pending) -> None:
        """A waiting publisher was interrupted (KeyboardInterrupt): take its records out of the
        queue, and if it had just been made leader, pass the lead on so no one waits for ever.
        Records already taken into a batch are written regardless."""
        with self._gc:
            if mine not in self._queue:
                return
            self._queue.remove(mine)
            if mine.signal.acquire(blocking=False):  # released: we had been promoted
                if self._queue:
                    self._queue[0].signal.release()
                else:
                    self._leader = False

    def _commit(self, batch: list[_Pending]) -> None:
        """Write every queued publish in one transaction; each caller gets its offsets or the
        error. The transaction is all or nothing, so each publish_many stays atomic."""
        try:
            now = time.time()
            with self._write("publish") as conn:
                for p in batch:
                    table = self._table(conn, p.topic, create=True)
                    insert = f"INSERT INTO {table} (key, payload, published_at) VALUES (?, ?, ?)"
                    if len(p.items) == 1:
                        # The common single publish: one statement less than executemany.
                        key, payload = p.items[0]
                        cur = conn.execute(insert, (key, payload, now))
                        p.offsets = [str(cur.lastrowid)]
                        continue
                    conn.executemany(insert, [(k, v, now) for k, v in p.items])
                    # The write lock is ours, so the ids of one executemany are consecutive.
                    last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                    first = last - len(p.items) + 1
                    p.offsets = [str(i) for i in range(first, last + 1)]
        except BaseException as exc:
            for p in batch:
                p.error = exc
                p.offsets = []
            raise
        finally:
            for p in batch:
                p.done = True

    # -- groups and delivery ---------------------------------------------------------------------

    def create_group(self, topic: str, group: str, *, start: StartAt = "earliest") -> None:
        check_name("topic", topic)
        check_name("group", group)
        if start not in ("earliest", "latest"):
            raise ValueError(f"start must be 'earliest' or 'latest', got {start!r}")
        with self._write("create a consumer group") as conn:
            table = self._table(conn, topic, create=True)
            cursor = 0
            if start == "latest":
                # Ids are never reused: anything published later is above the max.
                cursor = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
            conn.execute(
                "INSERT OR IGNORE INTO groups (topic, grp, cursor, created_at) VALUES (?, ?, ?, ?)",
                (topic, group, cursor, time.time()),
            )

    def read(
        self, topic: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Record]:
        check_name("topic", topic)
        check_name("group", group)
        check_name("consumer", consumer)
        if count < 1:
            raise ValueError("count must be at least 1")
        deadline = time.monotonic() + max(block_ms, 0) / 1000
        waker = self._waker
        while True:
            seen = waker.version
            records = self._claim(topic, group, consumer, count)
            if records or block_ms <= 0:
                return records
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            with waker.cond:
                # Woken by a publish in this process; otherwise poll, for publishers in other
                # processes and for in-flight records whose visibility timeout runs out.
                if waker.version == seen and not self._closed:
                    waker.cond.wait(min(remaining, self.poll_interval_s))
            if self._closed:
                return []

    def _claim(self, topic: str, group: str, consumer: str, count: int) -> list[Record]:
        with self._db("read") as conn:
            row = conn.execute(
                "SELECT cursor FROM groups WHERE topic = ? AND grp = ?", (topic, group)
            ).fetchone()
            if row is None:
                raise BusError(self._no_group(topic, group))
            table = self._table(conn, topic, create=False)
            if table is None:
                return []
            now = time.time()
            due_before = now - self.visibility_timeout_s
            # Cheap look before taking the write lock: idle consumers (and pollers in other
            # processes) must not serialise on it.
            has_new = conn.execute(
                f"SELECT 1 FROM {table} WHERE id > ? LIMIT 1", (row[0],)
            ).fetchone()
            has_due = conn.execute(
                "SELECT 1 FROM inflight WHERE topic = ? AND grp = ? AND delivered_at <= ? LIMIT 1",
                (topic, group, due_before),
            ).fetchone()
            if has_new is None and has_due is None:
                return []
        with self._write("read") as conn:
            records: list[Record] = []
            if has_due is not None:
                due = conn.execute(
                    "SELECT i.log_id, i.deliveries, l.key, l.payload FROM inflight i "
                    f"JOIN {table} l ON l.id = i.log_id "
                    "WHERE i.topic = ? AND i.grp = ? AND i.delivered_at <= ? "
                    "ORDER BY i.delivered_at, i.log_id LIMIT ?",
                    (topic, group, due_before, count),
                ).fetchall()
                conn.executemany(
                    "UPDATE inflight SET consumer = ?, delivered_at = ?, deliveries = ? "
                    "WHERE topic = ? AND grp = ? AND log_id = ?",
                    [(consumer, now, d + 1, topic, group, i) for i, d, _, _ in due],
                )
                records.extend(
                    Record(topic, str(i), key, bytes(payload), d + 1) for i, d, key, payload in due
                )
            room = count - len(records)
            if room > 0:
                # Re-read the cursor inside the write transaction: another process may have
                # moved it since the look above.
                cursor = conn.execute(
                    "SELECT cursor FROM groups WHERE topic = ? AND grp = ?", (topic, group)
                ).fetchone()[0]
                new = conn.execute(
                    f"SELECT id, key, payload FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                    (cursor, room),
                ).fetchall()
                if new:
                    conn.executemany(
                        "INSERT INTO inflight (topic, grp, log_id, consumer, delivered_at, "
                        "deliveries) VALUES (?, ?, ?, ?, ?, 1)",
                        [(topic, group, i, consumer, now) for i, _, _ in new],
                    )
                    conn.execute(
                        "UPDATE groups SET cursor = ? WHERE topic = ? AND grp = ?",
                        (new[-1][0], topic, group),
                    )
                    records.extend(Record(topic, str(i), key, bytes(p)) for i, key, p in new)
            return records

    def _no_group(self, topic: str, group: str) -> str:
        return (
            f"consumer group {group!r} does not exist on topic {topic!r} in the bus log "
            f"{self.path}; create it first (create_group, or Dispatcher.subscribe)"
        )

    def ack(self, topic: str, group: str, offsets: Sequence[str]) -> None:
        ids = [_offset(o) for o in offsets]
        if not ids:
            return
        with self._write("acknowledge") as conn:
            conn.executemany(
                "DELETE FROM inflight WHERE topic = ? AND grp = ? AND log_id = ?",
                [(topic, group, i) for i in ids],
            )

    def dead_letter(self, topic: str, group: str, record: Record, error: str) -> None:
        log_id = _offset(record.offset)
        with self._write("dead-letter a record") as conn:
            conn.execute(
                "DELETE FROM inflight WHERE topic = ? AND grp = ? AND log_id = ?",
                (topic, group, log_id),
            )
            conn.execute(
                "INSERT INTO dead_letters (topic, grp, log_id, key, payload, error, failed_at, "
                "deliveries) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    topic,
                    group,
                    log_id,
                    record.key,
                    record.payload,
                    clip_error(error),
                    time.time(),
                    record.deliveries,
                ),
            )

    def dead_letters(self, topic: str, group: str, *, limit: int = 100) -> list[DeadLetter]:
        with self._db("list dead letters") as conn:
            rows = conn.execute(
                "SELECT log_id, key, payload, error, failed_at, deliveries FROM dead_letters "
                "WHERE topic = ? AND grp = ? ORDER BY id LIMIT ?",
                (topic, group, limit),
            ).fetchall()
        return [
            DeadLetter(
                topic=topic,
                group=group,
                offset=str(log_id),
                key=key,
                payload=bytes(payload),
                error=error,
                failed_at=datetime.fromtimestamp(failed_at, UTC),
                deliveries=deliveries,
            )
            for log_id, key, payload, error, failed_at, deliveries in rows
        ]

    def replay(
        self, topic: str, *, from_offset: str | None = None, count: int = 1000
    ) -> list[Record]:
        after = 0 if from_offset is None else _offset(from_offset)
        with self._db("replay") as conn:
            table = self._table(conn, topic, create=False)
            if table is None:
                return []
            rows = conn.execute(
                f"SELECT id, key, payload FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                (after, count),
            ).fetchall()
        return [Record(topic, str(i), key, bytes(payload)) for i, key, payload in rows]

    def trim(self, older_than_s: float) -> int:
        if older_than_s < 0:
            raise ValueError("older_than_s must be >= 0")
        cutoff = time.time() - older_than_s
        with self._db("trim the log") as conn:
            topics = [row[0] for row in conn.execute("SELECT name FROM topics")]
        deleted = 0
        for topic in topics:
            while True:
                # Chunks of _TRIM_CHUNK rows, a transaction each: publishers wait milliseconds,
                # not the whole purge.
                with self._write("trim the log") as conn:
                    table = self._table(conn, topic, create=False)
                    limit = None if table is None else self._trim_limit(conn, topic, table)
                    if table is None or limit is None:
                        break
                    rows = conn.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table}"
                        " WHERE id < ? AND published_at < ? ORDER BY id LIMIT ?)",
                        (limit, cutoff, _TRIM_CHUNK),
                    ).rowcount
                deleted += rows
                if rows < _TRIM_CHUNK:
                    break
        return deleted

    @staticmethod
    def _trim_limit(conn: sqlite3.Connection, topic: str, table: str) -> int | None:
        """The first id ``trim`` must keep: the topic's newest record, the first one a group
        has not been handed, the first one in flight (delivered, not acknowledged)."""
        newest = conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
        if newest is None:
            return None
        keep = [int(newest)]
        handed = conn.execute("SELECT min(cursor) FROM groups WHERE topic = ?", (topic,))
        row = handed.fetchone()[0]
        if row is not None:
            keep.append(int(row) + 1)
        in_flight = conn.execute("SELECT min(log_id) FROM inflight WHERE topic = ?", (topic,))
        row = in_flight.fetchone()[0]
        if row is not None:
            keep.append(int(row))
        return min(keep)

    def pending(self, topic: str, group: str) -> int:
        with self._db("count pending records") as conn:
            # One read transaction, so the two counts are of the same snapshot.
            conn.execute("BEGIN")
            try:
                row = conn.execute(
                    "SELECT cursor FROM groups WHERE topic = ? AND grp = ?", (topic, group)
                ).fetchone()
                if row is None:
                    raise BusError(self._no_group(topic, group))
                table = self._table(conn, topic, create=False)
                undelivered = 0
                if table is not None:
                    undelivered = conn.execute(
                        f"SELECT COUNT(*) FROM {table} WHERE id > ?", (row[0],)
                    ).fetchone()[0]
                in_flight = conn.execute(
                    "SELECT COUNT(*) FROM inflight WHERE topic = ? AND grp = ?", (topic, group)
                ).fetchone()[0]
            finally:
                conn.execute("COMMIT")
        return int(undelivered) + int(in_flight)

    # -- idempotency ---------------------------------------------------------------------------

    def mark_processed(self, group: str, keys: Sequence[str]) -> None:
        if not keys:
            return
        with self._write("remember processed keys") as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO processed (grp, key) VALUES (?, ?)",
                [(group, key) for key in keys],
            )

    def ack_processed(
        self, topic: str, group: str, offsets: Sequence[str], keys: Sequence[str]
    ) -> None:
        ids = [_offset(o) for o in offsets]
        if not ids and not keys:
            return
        # One transaction: the keys are remembered exactly when the records are acknowledged.
        with self._write("acknowledge processed records") as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO processed (grp, key) VALUES (?, ?)",
                [(group, key) for key in keys],
            )
            conn.executemany(
                "DELETE FROM inflight WHERE topic = ? AND grp = ? AND log_id = ?",
                [(topic, group, i) for i in ids],
            )

    def is_processed(self, group: str, key: str) -> bool:
        with self._db("look up a processed key") as conn:
            row = conn.execute(
                "SELECT 1 FROM processed WHERE grp = ? AND key = ?", (group, key)
            ).fetchone()
        return row is not None

    def processed_keys(self, group: str, keys: Sequence[str]) -> set[str]:
        unique = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._db("look up processed keys") as conn:
            for start in range(0, len(unique), _IN_CHUNK):
                chunk = unique[start : start + _IN_CHUNK]
                marks = ", ".join("?" * len(chunk))
                found.update(
                    row[0]
                    for row in conn.execute(
                        f"SELECT key FROM processed WHERE grp = ? AND key IN ({marks})",
                        (group, *chunk),
                    )
                )
        return found

    # -- lifecycle -----------------------------------------------------------------------------

    def ping(self) -> None:
        with self._db("reach the bus log") as conn:
            conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # Closing is best effort: every commit is already in the WAL.
            with suppress(sqlite3.Error):
                self._conn.close()
        # Readers blocked in read() return at once instead of waiting out their block_ms.
        self._waker.notify()

    def __repr__(self) -> str:
        return f"EmbeddedBus({str(self.path)!r})"
