"""Infrastructure events in: OT commands, asset states and planned passages as JSON records
(objects, JSON lines or CSV with the same columns).

=============  ==========================================================================
field          meaning
=============  ==========================================================================
time           ISO 8601 with a zone (naive = UTC); required
asset          port-model id of the lock, bridge, road or tunnel; required
type           ``command``, ``state`` or ``passage`` (a planned vessel passage); required
command        what was commanded (``open_gate``, ``raise_bridge``...) (``command``)
component      the part acted on or reporting (``gate-north``, ``leaf-1``)
account        the operator account that sent the command
station        where from: the control room id (port model) or console name
host, ip       the engineering workstation / HMI that sent it
state          ``open``, ``closed``, ``moving``, ``maintenance`` or ``fault`` (``state``)
mmsi, eta      the vessel and its expected time at the asset (``passage``)
source, id     the reporting system and its own event number (de-duplication)
=============  ==========================================================================
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

import orjson

from portguard.core.clock import ensure_utc
from portguard.core.intake import IntakeReport, RecordRefused, collect
from portguard.core.types import Domain, EntityKind, EntityRef, Event, Location
from portguard.portmodel import PortModel

__all__ = ["EVENT_TYPES", "STATES", "IntakeReport", "parse_infra_records", "parse_infra_text"]

EVENT_TYPES: Final = ("command", "state", "passage")
STATES: Final = ("open", "closed", "moving", "maintenance", "fault")
_FIELDS: Final = frozenset(
    {"time", "asset", "type", "command", "component", "account", "station", "host", "ip",
     "state", "mmsi", "eta", "source", "id"}
)  # fmt: skip
_ASSET_KINDS: Final = frozenset({"lock", "bridge", "road", "critical_infrastructure", "gate"})


_Bad = RecordRefused


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise _Bad("malformed", f"{name} is required (ISO 8601)")
    try:
        return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise _Bad("malformed", f"{name} {value!r} is not ISO 8601") from None


def _text(rec: dict[str, Any], key: str, limit: int = 200) -> str | None:
    v = rec.get(key)
    if v in (None, ""):
        return None
    s = str(v).strip()
    if len(s) > limit:
        raise _Bad("malformed", f"{key} longer than {limit} characters")
    return s


def _to_event(
    rec: Any, model: PortModel, now: datetime, max_future: timedelta, source: str
) -> Event:
    if not isinstance(rec, dict):
        raise _Bad("malformed", "a record must be a JSON object")
    unknown = set(rec) - _FIELDS
    if unknown:
        raise _Bad("malformed", f"unknown field(s) {sorted(unknown)}")
    at = _time(rec.get("time"), "time")
    if at - now > max_future:
        raise _Bad("future", f"time {at.isoformat()} is in the future (clock ahead?)")
    asset_id = _text(rec, "asset")
    if not asset_id:
        raise _Bad("malformed", "asset is required")
    f = model.get(asset_id)
    if f is None or f.kind.value not in _ASSET_KINDS:
        raise _Bad("unknown_asset", f"unknown asset {asset_id!r}")
    kind = _text(rec, "type")
    if kind not in EVENT_TYPES:
        raise _Bad("malformed", f"type must be one of {', '.join(EVENT_TYPES)}")
    attrs: dict[str, Any] = {"asset": asset_id}
    ents: list[EntityRef] = [EntityRef(kind=EntityKind.ASSET, value=asset_id)]
    for key in ("command", "component", "station", "host"):
        v = _text(rec, key)
        if v:
            attrs[key] = v
    if kind == "command" and "command" not in attrs:
        raise _Bad("malformed", "a command record needs command")
    account = _text(rec, "account")
    if account:
        attrs["account"] = account
        ents.append(EntityRef(kind=EntityKind.ACCOUNT, value=account))
    if attrs.get("host"):
        ents.append(EntityRef(kind=EntityKind.HOST, value=attrs["host"]))
    ip = _text(rec, "ip")
    if ip:
        ents.append(EntityRef(kind=EntityKind.IP, value=ip))  # ValueError if not an IP
        attrs["ip"] = ents[-1].value
    if kind == "state":
        state = (_text(rec, "state") or "").lower()
        if state not in STATES:
            raise _Bad("malformed", f"state must be one of {', '.join(STATES)}")
        attrs["state"] = state
    if kind == "passage":
        mmsi = _text(rec, "mmsi")
        if not mmsi:
            raise _Bad("malformed", "a passage needs mmsi")
        ents.append(EntityRef(kind=EntityKind.MMSI, value=mmsi))
        attrs["mmsi"] = mmsi
        attrs["eta"] = _time(rec.get("eta") or rec.get("time"), "eta").isoformat()
    src = _text(rec, "source") or "infra"
    ident = rec.get("id")
    basis = (
        f"{src}|{ident}".encode()
        if ident not in (None, "")
        else orjson.dumps({k: rec[k] for k in sorted(rec)}, default=str)
    )
    return Event(
        id="inf-" + hashlib.blake2b(basis, digest_size=16).hexdigest(),
        observed_at=at,
        received_at=now,
        source=f"infra:{src}"[:200],
        domain=Domain.INFRA,
        kind=f"infra.{kind}",
        entities=tuple(dict.fromkeys(ents)),
        location=Location(asset_id=asset_id),
        attributes=attrs,
        raw_ref=f"{source}:{ident}" if ident not in (None, "") else None,
    )


def parse_infra_records(
    records: Iterable[tuple[str, Any]],
    *,
    model: PortModel,
    now: datetime,
    max_future_s: float = 300.0,
    source: str = "api",
) -> IntakeReport:
    limit = timedelta(seconds=max_future_s)
    return collect(records, lambda rec: _to_event(rec, model, now, limit, source))


def parse_infra_text(
    text: str,
    *,
    fmt: str,
    model: PortModel,
    now: datetime,
    max_future_s: float = 300.0,
    source: str = "-",
) -> IntakeReport:
    """JSON lines (``jsonl``) or CSV (``csv``) text."""
    pairs: list[tuple[str, Any]] = []
    pre = IntakeReport()
    if fmt == "jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            try:
                pairs.append((f"{source}:{n}", orjson.loads(s)))
            except orjson.JSONDecodeError as exc:
                pre.refuse("malformed", f"{source}:{n}", f"not JSON: {exc}")
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        for raw in reader:
            where = f"{source}:{reader.line_num}"
            if None in raw:
                pre.refuse("malformed", where, "more cells than columns")
                continue
            pairs.append((where, {k.strip(): v for k, v in raw.items() if k and v}))
    else:
        pre.refuse("malformed", source, f"unknown format {fmt!r}; use jsonl or csv")
    report = parse_infra_records(
        pairs, model=model, now=now, max_future_s=max_future_s, source=source
    )
    report.rejected.update(pre.rejected)
    report.problems[:0] = pre.problems
    return report
