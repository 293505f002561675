"""``GET /api/v1/stream``: server-sent events for the console (new alerts and changed incidents,
vessel positions, security levels and asset states), so screens update without reloads.

The stream reads only what every process shares (the database) and this process's runtime
objects in ``ctx.extras`` (``maritime``, ``port_model``, ``infra`` when present), so it works the
same whether the consumers run in this process or in workers. Events (``data`` is JSON):

- ``hello``: ``{"server_time"}`` once per connection.
- ``alerts``: a list of new alerts (compact: id, rule, domain, severity, title, TLP, times,
  incident, location), only those the caller may read (TLP, as ``GET /api/v1/alerts``).
- ``incidents``: a list of incidents created or changed (``IncidentRead`` shape).
- ``vessels``: ``{"t", "v": [[mmsi, lat, lon, cog, sog, heading, t, name, ship_type], ...]}``
  for the vessels that reported since the previous ``vessels`` event (all of them first).
- ``levels``: ``{facility_id: level}`` when an ISPS level changes (and once at the start).
- ``assets``: ``{asset_id: {"state", "since"}}`` from the infrastructure watch when it changes.

A connection lives at most ``MAX_LIFETIME_S``; the browser's ``EventSource`` reconnects on its
own (``retry``) and resumes from ``Last-Event-ID``. The bound keeps server shutdown quick
(uvicorn waits for open responses) and re-checks the session token on each reconnection, so a
revoked or expired session stops receiving data within that time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from portguard.core.auth import Permission
from portguard.core.clock import utcnow
from portguard.core.http import AppContext, Ctx, Principal, require
from portguard.incidents.models import AlertRecord, Incident
from portguard.incidents.schemas import IncidentRead
from portguard.maritime.service import MaritimeWatch
from portguard.portmodel import current_security_levels

__all__ = ["MAX_LIFETIME_S", "StreamState", "router"]

router = APIRouter(prefix="/api/v1", tags=["console"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]

#: A connection ends after this long; the browser reconnects and resumes (see module doc).
MAX_LIFETIME_S = 30.0
#: Rows committed late (a transaction that started before a later one) are looked for this far
#: behind the cursor, and de-duplicated by id.
_OVERLAP = timedelta(seconds=3)
#: A reconnection resumes at most this far back.
_MAX_RESUME = timedelta(minutes=10)
_BATCH = 500
_KEEPALIVE_S = 15.0


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def _alert_json(r: AlertRecord) -> dict[str, Any]:
    payload = r.payload or {}
    return {
        "id": r.id,
        "rule_id": r.rule_id,
        "domain": r.domain,
        "severity": r.severity,
        "title": r.title,
        "tlp": r.tlp,
        "observed_at": _iso(r.observed_at),
        "last_seen": _iso(r.last_seen),
        "count": r.count,
        "incident_id": r.incident_id,
        "location": payload.get("location"),
    }


def _finite(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else round(x, 5)


class _Seen:
    """A bounded set of keys already sent (oldest forgotten first)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._d: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def add(self, key: str) -> bool:
        """True if ``key`` is new."""
        if key in self._d:
            return False
        self._d[key] = None
        if len(self._d) > self.size:
            self._d.popitem(last=False)
        return True


class StreamState:
    """One connection's cursors; ``poll()`` returns the events due now (blocking I/O: run it in a
    thread)."""

    def __init__(
        self,
        ctx: AppContext,
        principal: Principal,
        *,
        since: datetime | None = None,
        vessels: bool = True,
    ) -> None:
        self.ctx = ctx
        self.principal = principal
        now = utcnow()
        start = max(since, now - _MAX_RESUME) if since else now
        self.alert_cursor = start
        self.incident_cursor = start
        self.vessels = vessels and principal.can(Permission.ALERTS_READ)
        self._alerts = _Seen()
        self._incidents = _Seen()
        self._reports: np.ndarray[Any, np.dtype[np.int64]] = np.zeros(0, dtype=np.int64)
        self._names: dict[int, str | None] = {}
        self._levels: dict[str, int] | None = None
        self._assets: dict[str, Any] | None = None
        self._polls = 0

    @property
    def last_event_id(self) -> str:
        return f"{self.alert_cursor.timestamp():.6f}"

    def _readable(self, tlp: str) -> bool:
        return self.principal.may_read(tlp, owner=None, home=self.ctx.settings.organisation)

    def poll(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        with self.ctx.db.session() as session:
            if self.principal.can(Permission.ALERTS_READ):
                alerts = self._new_alerts(session)
                if alerts:
                    out.append(("alerts", alerts))
            if self.principal.can(Permission.INCIDENTS_READ):
                incidents = self._changed_incidents(session)
                if incidents:
                    out.append(("incidents", incidents))
            if self._polls % 5 == 0 and self.principal.can(Permission.PORTMODEL_READ):
                model = self.ctx.extras.get("port_model")
                if model is not None:
                    levels = current_security_levels(session=session, model=model)
                    if levels != self._levels:
                        self._levels = levels
                        out.append(("levels", levels))
        if self.vessels:
            v = self._vessels()
            if v is not None:
                out.append(("vessels", v))
        if self._polls % 2 == 0:
            a = self._asset_states()
            if a is not None:
                out.append(("assets", a))
        self._polls += 1
        return out

    def _new_alerts(self, session: Any) -> list[dict[str, Any]]:
        rows = list(
            session.execute(
                select(AlertRecord)
                .where(AlertRecord.received_at > self.alert_cursor)
                .order_by(AlertRecord.received_at)
                .limit(_BATCH)
            ).scalars()
        )
        # Late commits: ids received just behind the cursor that were not sent yet.
        late_ids = [
            i
            for i in session.execute(
                select(AlertRecord.id).where(
                    AlertRecord.received_at > self.alert_cursor - _OVERLAP,
                    AlertRecord.received_at <= self.alert_cursor,
                )
            ).scalars()
            if i not in self._alerts
        ]
        if late_ids:
            rows += list(
                session.execute(
                    select(AlertRecord).where(AlertRecord.id.in_(late_ids[:_BATCH]))
                ).scalars()
            )
        out = []
        for r in rows:
            if not self._alerts.add(r.id):
                continue
            if self._readable(r.tlp):
                out.append(_alert_json(r))
        if rows:
            self.alert_cursor = max(self.alert_cursor, *(r.received_at for r in rows))
        return out

    def _changed_incidents(self, session: Any) -> list[dict[str, Any]]:
        rows = list(
            session.execute(
                select(Incident)
                .where(Incident.updated_at > self.incident_cursor - _OVERLAP)
                .order_by(Incident.updated_at)
                .limit(_BATCH)
            ).scalars()
        )
        fresh = [r for r in rows if self._incidents.add(f"{r.id}@{r.updated_at.isoformat()}")]
        fresh = [r for r in fresh if self._readable(r.tlp)]
        if rows:
            self.incident_cursor = max(self.incident_cursor, *(r.updated_at for r in rows))
        if not fresh:
            return []
        counts = dict(
            session.execute(
                select(AlertRecord.incident_id, func.count())
                .where(AlertRecord.incident_id.in_([r.id for r in fresh]))
                .group_by(AlertRecord.incident_id)
            ).all()
        )
        return [
            IncidentRead.of(r, alert_count=counts.get(r.id, 0)).model_dump(mode="json")
            for r in fresh
        ]

    def _vessels(self) -> dict[str, Any] | None:
        watch = self.ctx.extras.get("maritime")
        if not isinstance(watch, MaritimeWatch):
            return None
        with watch.lock:
            pic = watch.pipeline.picture
            size = len(pic)
            n = pic.col("n").copy()
            prev = self._reports
            if prev.shape[0] < size:
                prev = np.concatenate((prev, np.full(size - prev.shape[0], -1, dtype=np.int64)))
            rows = np.flatnonzero(n != prev[:size])
            if rows.size == 0:
                return None
            self._reports = n
            cols = {
                k: pic.col(k)[rows].tolist()
                for k in ("mmsi", "lat", "lon", "cog", "sog", "heading", "t", "ship_type")
            }
            reg = watch.pipeline.registry
            clock = watch.pipeline.clock
            names: list[str | None] = []
            for m in cols["mmsi"]:
                info = reg.get(m)
                name = info.name if info else None
                if self._names.get(m, "") != name:
                    self._names[m] = name
                    names.append(name)
                else:
                    names.append(None)
        v = [
            [
                m,
                _finite(lat),
                _finite(lon),
                _finite(cog),
                _finite(sog),
                hd if hd < 360 else None,
                round(t, 1) if not math.isnan(t) else None,
                name,
                st if st >= 0 else None,
            ]
            for m, lat, lon, cog, sog, hd, t, name, st in zip(
                cols["mmsi"],
                cols["lat"],
                cols["lon"],
                cols["cog"],
                cols["sog"],
                cols["heading"],
                cols["t"],
                names,
                cols["ship_type"],
                strict=True,
            )
            if not (math.isnan(lat) or math.isnan(lon))
        ]
        return {"t": clock, "v": v}

    def _asset_states(self) -> dict[str, Any] | None:
        infra = self.ctx.extras.get("infra")
        states = getattr(infra, "states", None)
        if not callable(states) or not self.principal.can(Permission.ALERTS_READ):
            return None
        try:
            now = {
                k: {"state": v.get("state"), "since": v.get("since")} for k, v in states().items()
            }
        except Exception:  # another domain's runtime must never break the stream
            return None
        if now == self._assets:
            return None
        self._assets = now
        return now


def _since(last_event_id: str | None) -> datetime | None:
    if not last_event_id:
        return None
    try:
        return datetime.fromtimestamp(float(last_event_id), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return (f"{head}event: {event}\ndata: ").encode() + orjson.dumps(data) + b"\n\n"


@router.get("/stream", response_class=StreamingResponse)
async def stream(
    request: Request,
    ctx: Ctx,
    principal: Reader,
    vessels: bool = True,
    interval: Annotated[float, Query(ge=0.2, le=10.0)] = 1.0,
) -> StreamingResponse:
    """Server-sent events for the console: new alerts, changed incidents, vessel positions,
    security levels and asset states (see ``portguard.web.stream``)."""
    state = StreamState(
        ctx, principal, since=_since(request.headers.get("last-event-id")), vessels=vessels
    )

    async def events() -> AsyncIterator[bytes]:
        yield b"retry: 1000\n\n"
        yield _frame("hello", {"server_time": _iso(utcnow()), "max_lifetime_s": MAX_LIFETIME_S})
        end = time.monotonic() + MAX_LIFETIME_S
        quiet_since = time.monotonic()
        while time.monotonic() < end:
            for name, data in await run_in_threadpool(state.poll):
                yield _frame(name, data, state.last_event_id)
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since > _KEEPALIVE_S:
                yield b": keep-alive\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(interval)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
