"""Access events in: the vendor-neutral record format, as JSON objects, JSON lines or CSV.

One record is one thing a door controller saw::

    {"time": "2026-11-02T03:14:05Z", "reader": "berendrecht-lock-reader-control",
     "type": "badge", "badge": "B-40411", "result": "granted", "direction": "in",
     "controller": "ctl-berendrecht", "id": "000123"}

=============  ==========================================================================
field          meaning
=============  ==========================================================================
time           ISO 8601 with a zone (naive = UTC); required
reader         port-model id of the reader or gate (or a reader of the config); required
type           ``badge`` (a read), ``door_open``, ``door_forced``, ``door_held``,
               ``person_count``; default ``badge``
badge          badge id (required for ``badge``)
result         ``granted`` or ``denied`` (``badge``; default ``granted``)
direction      ``in`` or ``out`` (optional; anti-passback needs it)
escort         badge id of the escort (visitors at ISPS level 2 and 3)
count          people counted (``person_count``, optionally ``door_open``)
duration_s     seconds the door stayed open (``door_held``)
rex            true when a ``door_open`` came from a request-to-exit button
controller     the controller's name (source); ``id`` its own event number
=============  ==========================================================================

CSV files carry the same fields as columns (header row). Parsers do no I/O and never raise on
bad records: each becomes a problem with its location (``file:line``), counted by reason. The
event id is derived from (controller, id), or from the record's content when it has no id, so a
record sent twice is one event (the bus consumers skip the repeat).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import orjson

from portguard.access.readers import Readers
from portguard.core.clock import ensure_utc
from portguard.core.intake import IntakeReport, RecordRefused, collect
from portguard.core.types import Domain, EntityKind, EntityRef, Event, Location

__all__ = ["EVENT_TYPES", "IntakeReport", "parse_csv", "parse_json_lines", "parse_records"]

EVENT_TYPES: Final = ("badge", "door_open", "door_forced", "door_held", "person_count")
_FIELDS: Final = frozenset(
    {
        "time",
        "reader",
        "type",
        "badge",
        "result",
        "direction",
        "escort",
        "count",
        "duration_s",
        "rex",
        "controller",
        "id",
    }
)


_Bad = RecordRefused


def _event_id(controller: str, rec: Mapping[str, Any]) -> str:
    if rec.get("id") not in (None, ""):
        basis = f"{controller}|{rec['id']}".encode()
    else:
        basis = orjson.dumps({k: rec[k] for k in sorted(rec)}, default=str)
    return "acc-" + hashlib.blake2b(basis, digest_size=16).hexdigest()


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    if not isinstance(value, str) or not value:
        raise _Bad("malformed", "time is required (ISO 8601)")
    try:
        return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise _Bad("malformed", f"time {value!r} is not ISO 8601") from None


def _int(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise _Bad("malformed", f"{name} must be a whole number") from None
    if n < 0 or n > 100_000:
        raise _Bad("malformed", f"{name} out of range")
    return n


def _record_to_event(
    rec: Mapping[str, Any], readers: Readers, now: datetime, max_future: timedelta, source: str
) -> Event:
    if not isinstance(rec, Mapping):
        raise _Bad("malformed", "a record must be a JSON object")
    unknown = set(rec) - _FIELDS
    if unknown:
        raise _Bad("malformed", f"unknown field(s) {sorted(unknown)}")
    at = _time(rec.get("time"))
    if at - now > max_future:
        raise _Bad("future", f"time {at.isoformat()} is in the future (controller clock ahead?)")
    reader_id = str(rec.get("reader") or "")
    if not reader_id:
        raise _Bad("malformed", "reader is required")
    reader = readers.get(reader_id)
    if reader is None:
        raise _Bad("unknown_reader", f"unknown reader {reader_id!r}")
    kind = str(rec.get("type") or "badge")
    if kind not in EVENT_TYPES:
        raise _Bad("malformed", f"type {kind!r} is not one of {', '.join(EVENT_TYPES)}")
    attrs: dict[str, Any] = {"reader": reader_id}
    entities: list[EntityRef] = []
    badge = str(rec.get("badge") or "").strip()
    if kind == "badge" and not badge:
        raise _Bad("malformed", "a badge read needs a badge")
    if badge:
        if len(badge) > 100:
            raise _Bad("malformed", "badge longer than 100 characters")
        entities.append(EntityRef(kind=EntityKind.BADGE, value=badge))
        attrs["badge"] = badge
    result = str(rec.get("result") or "granted").lower()
    if result not in ("granted", "denied"):
        raise _Bad("malformed", f"result must be granted or denied, got {result!r}")
    if kind == "badge":
        attrs["result"] = result
    direction = rec.get("direction")
    if direction not in (None, ""):
        if direction not in ("in", "out"):
            raise _Bad("malformed", f"direction must be in or out, got {direction!r}")
        attrs["direction"] = direction
    escort = str(rec.get("escort") or "").strip()
    if escort:
        attrs["escort"] = escort[:100]
    for name in ("count", "duration_s"):
        n = _int(rec.get(name), name)
        if n is not None:
            attrs[name] = n
    if str(rec.get("rex", "")).lower() in ("1", "true", "yes"):
        attrs["rex"] = True
    controller = str(rec.get("controller") or reader_id)[:100]
    attrs["controller"] = controller
    return Event(
        id=_event_id(controller, rec),
        observed_at=at,
        received_at=now,
        source=f"access:{source}"[:200],
        domain=Domain.ACCESS,
        kind=f"access.{kind}",
        entities=tuple(entities),
        location=Location(asset_id=reader_id, zone_id=reader.facility),
        attributes=attrs,
        raw_ref=f"{source}:{rec.get('id')}"[:2048] if rec.get("id") not in (None, "") else None,
    )


def parse_records(
    records: Iterable[tuple[str, Any]],
    *,
    readers: Readers,
    now: datetime,
    max_future_s: float = 300.0,
    source: str = "api",
) -> IntakeReport:
    """``(location, record)`` pairs to Events; every refusal counted with its location."""
    limit = timedelta(seconds=max_future_s)
    return collect(records, lambda rec: _record_to_event(rec, readers, now, limit, source))


def parse_json_lines(
    text: str, *, readers: Readers, now: datetime, max_future_s: float = 300.0, source: str = "-"
) -> IntakeReport:
    """JSON lines: one record per line; blank lines and ``#`` comments skipped."""
    pairs: list[tuple[str, Any]] = []
    bad: list[tuple[str, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        try:
            pairs.append((f"{source}:{n}", orjson.loads(s)))
        except orjson.JSONDecodeError as exc:
            bad.append((f"{source}:{n}", f"not JSON: {exc}"))
    report = parse_records(
        pairs, readers=readers, now=now, max_future_s=max_future_s, source=source
    )
    for where, message in bad:
        report.refuse("malformed", where, message)
    return report


def parse_csv(
    text: str, *, readers: Readers, now: datetime, max_future_s: float = 300.0, source: str = "-"
) -> IntakeReport:
    """CSV with a header row naming the record fields."""
    reader = csv.DictReader(io.StringIO(text))
    pairs: list[tuple[str, Any]] = []
    report = IntakeReport()
    for raw in reader:
        where = f"{source}:{reader.line_num}"
        if None in raw:
            report.refuse("malformed", where, "more cells than columns")
            continue
        pairs.append((where, {k.strip(): v for k, v in raw.items() if k and v not in (None, "")}))
    parsed = parse_records(
        pairs, readers=readers, now=now, max_future_s=max_future_s, source=source
    )
    parsed.rejected.update(report.rejected)
    parsed.problems[:0] = report.problems
    return parsed
