"""Incident state changes. Keyword-only functions that receive their session (dispatch style).

``ingest_alert`` is the heart: de-duplicate, store, correlate into an open incident or open a new
one, keep the timeline. Everything an analyst does goes through here and into the audit log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, defer, selectinload

from portguard.core import audit
from portguard.core.clock import ensure_utc, utcnow
from portguard.core.db import take_write_lock
from portguard.core.errors import ConflictError, NotFoundError, ValidationError
from portguard.core.ids import new_id
from portguard.core.types import TLP, Alert, Severity
from portguard.incidents.correlation import CorrelationRules, HybridRule
from portguard.incidents.models import (
    OPEN_STATUSES,
    AlertRecord,
    Category,
    Incident,
    IncidentKey,
    Status,
    Task,
    TimelineEntry,
)
from portguard.portmodel.directory import Directory

__all__ = [
    "IngestOutcome",
    "add_note",
    "add_task",
    "assign",
    "complete_task",
    "count_open_incidents",
    "get_incident",
    "ingest_alert",
    "ingest_alerts",
    "list_alerts",
    "list_incidents",
    "transition",
    "update_incident",
]

ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.TRIAGE, Status.CONTAINED, Status.RESOLVED}),
    Status.TRIAGE: frozenset({Status.CONTAINED, Status.RESOLVED}),
    Status.CONTAINED: frozenset({Status.RESOLVED, Status.TRIAGE}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.TRIAGE}),
    Status.CLOSED: frozenset({Status.TRIAGE}),
}

SYSTEM_ACTOR = "system:correlation"


@dataclass(frozen=True)
class IngestOutcome:
    alert_id: str
    outcome: Literal["new", "deduplicated", "duplicate_id"]
    incident_id: str | None
    incident_created: bool = False


def _timeline(
    session: Session,
    incident: Incident,
    *,
    kind: str,
    actor: str,
    text: str,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        TimelineEntry(
            incident_id=incident.id,
            at=at or utcnow(),
            kind=kind,
            actor=actor,
            text=text,
            data=data or {},
        )
    )


#: (database URL, year) -> the number the next reference probably takes. Checked against the
#: table (two unique-index lookups) before use, so another process, a rolled-back transaction or
#: a recreated database never leads to a wrong reference; only the first reference of a year in
#: a process scans the year's incidents.
_REF_HINTS: dict[tuple[str, int], int] = {}
_REF_LOCK = threading.Lock()


def _ref_exists(session: Session, ref: str, taken: set[str]) -> bool:
    if ref in taken:
        return True
    return session.execute(select(Incident.id).where(Incident.ref == ref)).first() is not None


def _next_ref(session: Session, at: datetime, taken: set[str] | None = None) -> str:
    """``INC-<year>-<n>``, n from 0001 and growing past 9999 (compared as numbers)."""
    prefix = f"INC-{at.year}-"
    hint_key = (str(session.get_bind().engine.url), at.year)
    with _REF_LOCK:
        n = _REF_HINTS.get(hint_key)
    taken = taken or set()
    if n is not None and (n == 1 or _ref_exists(session, f"{prefix}{n - 1:04d}", taken)):
        while _ref_exists(session, f"{prefix}{n:04d}", taken):
            n += 1
    else:
        refs = [
            r
            for (r,) in session.execute(select(Incident.ref).where(Incident.ref.like(f"{prefix}%")))
        ]
        refs += [r for r in taken if r.startswith(prefix)]
        numbers = [int(r.removeprefix(prefix)) for r in refs if r.removeprefix(prefix).isdigit()]
        n = max(numbers, default=0) + 1
    with _REF_LOCK:
        _REF_HINTS[hint_key] = n + 1
    return f"{prefix}{n:04d}"


class _Ctx:
    """What one ingestion batch knows, loaded in a few indexed queries instead of several per
    alert: which alert ids exist, the latest alert per dedup key, and every correlation-key row
    of the open incidents for the batch's keys (plus rows the batch adds). The batch runs with
    autoflush off, so these caches are the source of truth for rows not yet flushed."""

    def __init__(
        self,
        session: Session,
        alerts: Sequence[Alert],
        rules: CorrelationRules,
        dedup_window: timedelta,
        directory: Directory | None,
    ) -> None:
        self.session = session
        self.keys_of = {a.id: rules.keys_for(a, directory) for a in alerts}
        self.dkeys = {a.id: a.dedup_key()[:700] for a in alerts}
        ids = list(self.keys_of)
        self.existing: dict[str, str | None] = {}
        for chunk in _chunks(ids):
            for aid, inc_id in session.execute(
                select(AlertRecord.id, AlertRecord.incident_id).where(AlertRecord.id.in_(chunk))
            ):
                self.existing[aid] = inc_id
        self.dedup: dict[str, AlertRecord] = {}
        if dedup_window > timedelta(0) and alerts:
            since = min(a.observed_at for a in alerts) - dedup_window
            for chunk in _chunks(sorted(set(self.dkeys.values()))):
                for rec in session.execute(
                    select(AlertRecord)
                    .options(defer(AlertRecord.payload))
                    .where(AlertRecord.dedup_key.in_(chunk), AlertRecord.last_seen >= since)
                ).scalars():
                    self._remember(rec)
        self.rows: dict[str, dict[str, IncidentKey]] = {}
        self.incidents: dict[str, Incident] = {}
        #: Incidents opened in this batch: none of their key rows can be in the database yet.
        self.created: set[str] = set()
        #: References given out in this batch (perhaps not flushed yet).
        self.refs: set[str] = set()
        #: ``incident.create`` audit entries to write once the batch is flushed.
        self.audits: list[tuple[str, dict[str, Any]]] = []
        all_keys = sorted({k for keys in self.keys_of.values() for k in keys})
        open_ = [s.value for s in OPEN_STATUSES]
        oldest = min((a.observed_at for a in alerts), default=utcnow()) - rules.max_window
        # Two indexed lookups (keys by key, incidents by id): a join lets the planner scan the
        # open incidents by status instead, which is all of them at scale.
        found: list[IncidentKey] = []
        for chunk in _chunks(all_keys):
            found += session.execute(
                select(IncidentKey).where(
                    IncidentKey.key.in_(chunk), IncidentKey.last_seen >= oldest
                )
            ).scalars()
        for chunk in _chunks(sorted({r.incident_id for r in found})):
            for incident in session.execute(
                select(Incident).where(Incident.id.in_(chunk), Incident.status.in_(open_))
            ).scalars():
                self.incidents[incident.id] = incident
        for row in found:
            if row.incident_id in self.incidents:
                self.rows.setdefault(row.key, {})[row.incident_id] = row

    def _remember(self, rec: AlertRecord) -> None:
        have = self.dedup.get(rec.dedup_key)
        if have is None or ensure_utc(have.last_seen) <= ensure_utc(rec.last_seen):
            self.dedup[rec.dedup_key] = rec

    def prior(self, dkey: str, observed: datetime, window: timedelta) -> AlertRecord | None:
        rec = self.dedup.get(dkey)
        if rec is None or ensure_utc(rec.last_seen) < observed - window:
            return None
        return rec

    def add_record(self, rec: AlertRecord) -> None:
        self.existing[rec.id] = rec.incident_id
        self._remember(rec)

    def key_row(self, incident: Incident, key: str) -> IncidentKey | None:
        row = self.rows.get(key, {}).get(incident.id)
        if row is not None or incident.id in self.created:
            return row
        # Not loaded (older than the window, or the incident is not open): ask. Rows this batch
        # added are always in ``rows``, so the query (no autoflush) cannot miss one.
        return self.session.get(IncidentKey, (incident.id, key))

    def add_key(self, row: IncidentKey, incident: Incident) -> None:
        self.rows.setdefault(row.key, {})[row.incident_id] = row
        self.incidents[incident.id] = incident

    def drop_incident(self, incident_id: str) -> None:
        for rows in self.rows.values():
            rows.pop(incident_id, None)

    def find(
        self, keys: dict[str, timedelta], observed: datetime
    ) -> tuple[Incident | None, list[Incident]]:
        """The open incident sharing most keys with the alert inside each key's window."""
        score: dict[str, tuple[int, datetime]] = {}
        open_ = {s.value for s in OPEN_STATUSES}
        for key, window in keys.items():
            for incident_id, row in self.rows.get(key, {}).items():
                inc = self.incidents.get(incident_id)
                if inc is None or inc.status not in open_:
                    continue
                last_seen = ensure_utc(row.last_seen)
                if abs(observed - last_seen) > window:
                    continue
                n, latest = score.get(incident_id, (0, last_seen))
                score[incident_id] = (n + 1, max(latest, last_seen))
        if not score:
            return None, []
        ranked = sorted(score, key=lambda i: score[i], reverse=True)
        found = [self.incidents[i] for i in ranked]
        return found[0], found[1:]


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _attach(
    session: Session,
    incident: Incident,
    record: AlertRecord,
    alert: Alert,
    keys: dict[str, timedelta],
    rules: CorrelationRules,
    directory: Directory | None = None,
    ctx: _Ctx | None = None,
) -> None:
    record.incident_id = incident.id
    observed = alert.observed_at
    incident.last_seen = max(ensure_utc(incident.last_seen), observed)
    incident.first_seen = min(ensure_utc(incident.first_seen), observed)
    incident.updated_at = utcnow()
    if int(alert.severity) > incident.severity:
        incident.severity = int(alert.severity)
    if TLP(alert.tlp).rank > TLP(incident.tlp).rank:
        incident.tlp = alert.tlp.value
    domains = set(incident.domains)
    domains.add(alert.domain.value)
    incident.domains = sorted(domains)
    for key in keys:
        row = (
            ctx.key_row(incident, key)
            if ctx is not None
            else session.get(IncidentKey, (incident.id, key))
        )
        if row is None:
            row = IncidentKey(incident_id=incident.id, key=key, last_seen=observed)
            session.add(row)
            if ctx is not None:
                ctx.add_key(row, incident)
        elif ensure_utc(row.last_seen) < observed:
            row.last_seen = observed
    _timeline(
        session,
        incident,
        kind="alert",
        actor=SYSTEM_ACTOR,
        at=observed,
        text=f"[{alert.domain.value}] {alert.title}",
        data={
            "alert_id": alert.id,
            "rule_id": alert.rule_id,
            "severity": str(alert.severity),
            "why": alert.why,
            "keys": sorted(keys),
        },
    )
    _mark_hybrid(session, incident, domains, rules, observed)
    if rules.hybrid_rules:
        _apply_hybrid_rules(session, incident, alert, domains, rules, directory)


def _mark_hybrid(
    session: Session, incident: Incident, domains: set[str], rules: CorrelationRules, at: datetime
) -> None:
    if incident.hybrid or len(domains) < rules.hybrid_min_domains:
        return
    incident.hybrid = True
    incident.tags = sorted({*incident.tags, "hybrid"})
    before = Severity(incident.severity)
    incident.severity = min(int(Severity.CRITICAL), incident.severity + rules.hybrid_severity_raise)
    _timeline(
        session,
        incident,
        kind="correlation",
        actor=SYSTEM_ACTOR,
        at=at,
        text=(
            f"Hybrid threat: alerts from {len(domains)} domains ({', '.join(sorted(domains))});"
            f" severity raised from {before} to {Severity(incident.severity)}"
        ),
    )


def _mergeable(incident: Incident) -> bool:
    """Open, and not yet a NIS2 case (a reported incident keeps its identity)."""
    return (
        incident.status in {s.value for s in OPEN_STATUSES}
        and not incident.significant
        and not incident.submissions
    )


def _merge(
    session: Session,
    target: Incident,
    other: Incident,
    rules: CorrelationRules,
    at: datetime,
    directory: Directory | None,
    ctx: _Ctx | None = None,
) -> None:
    """Fold ``other`` into ``target``: its alerts, keys and alert timeline move over; ``other``
    is closed with a pointer to ``target``. Audited."""
    session.flush()
    session.execute(
        update(AlertRecord).where(AlertRecord.incident_id == other.id).values(incident_id=target.id)
    )
    moved = list(
        session.execute(select(IncidentKey).where(IncidentKey.incident_id == other.id)).scalars()
    )
    if ctx is not None:
        ctx.drop_incident(other.id)
    for row in moved:
        mine = (
            ctx.key_row(target, row.key)
            if ctx is not None
            else session.get(IncidentKey, (target.id, row.key))
        )
        if mine is None:
            mine = IncidentKey(incident_id=target.id, key=row.key, last_seen=row.last_seen)
            session.add(mine)
            if ctx is not None:
                ctx.add_key(mine, target)
        elif ensure_utc(mine.last_seen) < ensure_utc(row.last_seen):
            mine.last_seen = row.last_seen
        session.delete(row)
    session.flush()
    for t in list(other.timeline):
        if t.kind in ("alert", "correlation"):
            _timeline(
                session,
                target,
                kind=t.kind,
                actor=t.actor,
                at=t.at,
                text=t.text,
                data={**t.data, "merged_from": other.ref},
            )
    target.first_seen = min(ensure_utc(target.first_seen), ensure_utc(other.first_seen))
    target.last_seen = max(ensure_utc(target.last_seen), ensure_utc(other.last_seen))
    target.severity = max(target.severity, other.severity)
    if TLP(other.tlp).rank > TLP(target.tlp).rank:
        target.tlp = other.tlp
    domains = set(target.domains) | set(other.domains)
    target.domains = sorted(domains)
    target.tags = sorted(set(target.tags) | (set(other.tags) - {"merged"}))
    target.updated_at = utcnow()
    now = utcnow()
    other.status = Status.CLOSED.value
    other.resolved_at = other.closed_at = other.updated_at = now
    other.tags = sorted({*other.tags, "merged"})
    _timeline(
        session,
        other,
        kind="merged",
        actor=SYSTEM_ACTOR,
        at=now,
        text=f"Merged into {target.ref}: an alert tied the two together",
        data={"incident_id": target.id},
    )
    _timeline(
        session,
        target,
        kind="merged",
        actor=SYSTEM_ACTOR,
        at=at,
        text=f"Merged {other.ref} ({other.title}) into this incident",
        data={"incident_id": other.id},
    )
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="incident.merge",
        target=f"incident:{target.ref}",
        details={"merged": other.ref},
    )
    _mark_hybrid(session, target, domains, rules, at)
    if rules.hybrid_rules:
        _apply_hybrid_rules(session, target, None, domains, rules, directory, at=at)


def _apply_hybrid_rules(
    session: Session,
    incident: Incident,
    alert: Alert | None,
    domains: set[str],
    rules: CorrelationRules,
    directory: Directory | None,
    *,
    at: datetime | None = None,
) -> None:
    """Fire the hybrid rules whose every step an alert of this incident now matches, sharing a
    key. Cheap when nothing can fire: a rule is only looked at when the new alert matches one of
    its steps and the incident already has alerts of every domain the rule names. Without an
    alert (after a merge), every rule is looked at over the whole incident."""
    for rule in rules.hybrid_rules:
        if rule.tag in incident.tags:
            continue
        if alert is not None and not any(
            s.matches(alert.domain.value, alert.rule_id, alert.category) for s in rule.steps
        ):
            continue
        if any(s.domain is not None and s.domain not in domains for s in rule.steps):
            continue
        observed = alert.observed_at if alert is not None else (at or utcnow())
        session.flush()
        query = select(
            AlertRecord.id,
            AlertRecord.domain,
            AlertRecord.rule_id,
            AlertRecord.payload,
            AlertRecord.observed_at,
        ).where(AlertRecord.incident_id == incident.id)
        if alert is not None:
            query = query.where(
                AlertRecord.observed_at >= observed - rule.window,
                AlertRecord.observed_at <= observed + rule.window,
            )
        rows = session.execute(query).all()
        found = _match_hybrid(rule, rows, rules, directory)
        if found is None:
            continue
        key, alert_ids = found
        before = Severity(incident.severity)
        incident.hybrid = True
        incident.tags = sorted({*incident.tags, "hybrid", rule.tag})
        incident.severity = max(incident.severity, int(rule.severity))
        _timeline(
            session,
            incident,
            kind="correlation",
            actor=SYSTEM_ACTOR,
            at=observed,
            text=(
                f"Hybrid pattern {rule.id}: {len(alert_ids)} alerts share {key}"
                + (
                    f"; severity raised from {before} to {Severity(incident.severity)}"
                    if incident.severity != before
                    else ""
                )
            ),
            data={"hybrid_rule": rule.id, "key": key, "alert_ids": alert_ids},
        )


def _match_hybrid(
    rule: HybridRule,
    rows: Sequence[Any],
    rules: CorrelationRules,
    directory: Directory | None,
) -> tuple[str, list[str]] | None:
    """A key of the rule's kinds and one distinct alert per step that all carry it."""
    per_step: list[list[tuple[str, set[str], datetime]]] = [[] for _ in rule.steps]
    for alert_id, domain, rule_id, payload, observed_at in rows:
        matched = [
            i
            for i, step in enumerate(rule.steps)
            if step.matches(domain, rule_id, payload.get("category"))
        ]
        if not matched:
            continue
        keys = {
            k
            for k in rules.keys_from_payload(payload, directory)
            if k.split(":", 1)[0] in rule.share
        }
        for i in matched:
            per_step[i].append((alert_id, keys, ensure_utc(observed_at)))
    if any(not candidates for candidates in per_step):
        return None
    shared = set().union(*(k for _, k, _ in per_step[0]))
    for key in sorted(shared):
        chosen = _assign(per_step, key, 0, [], rule.window)
        if chosen is not None:
            return key, [a for a, _ in chosen]
    return None


def _assign(
    per_step: list[list[tuple[str, set[str], datetime]]],
    key: str,
    i: int,
    taken: list[tuple[str, datetime]],
    window: timedelta,
) -> list[tuple[str, datetime]] | None:
    """One distinct alert per step carrying ``key``, all within ``window`` of each other."""
    if i == len(per_step):
        return taken
    for alert_id, keys, at in per_step[i]:
        if key not in keys or any(alert_id == a for a, _ in taken):
            continue
        if any(abs(at - t) > window for _, t in taken):
            continue
        found = _assign(per_step, key, i + 1, [*taken, (alert_id, at)], window)
        if found is not None:
            return found
    return None


def ingest_alert(
    *,
    session: Session,
    alert: Alert,
    rules: CorrelationRules,
    dedup_window: timedelta = timedelta(hours=1),
    directory: Directory | None = None,
) -> IngestOutcome:
    """Take in one alert. Idempotent by alert id: the same alert twice changes nothing.

    With a ``directory``, alerts naming a known person's e-mail address, badge or account also
    carry ``person:<id>`` and correlate through it.

    Ingestion is serialised across workers (correlation must see every incident the previous
    alert opened): an advisory lock on PostgreSQL, the write lock on SQLite.
    """
    return ingest_alerts(
        session=session,
        alerts=[alert],
        rules=rules,
        dedup_window=dedup_window,
        directory=directory,
    )[0]


def ingest_alerts(
    *,
    session: Session,
    alerts: Sequence[Alert],
    rules: CorrelationRules,
    dedup_window: timedelta = timedelta(hours=1),
    directory: Directory | None = None,
) -> list[IngestOutcome]:
    """``ingest_alert`` for a batch, in the caller's one transaction: the lock is taken once and
    the commit (the expensive part on every engine) is shared. Same results as one by one."""
    _serialise(session)
    with session.no_autoflush:
        ctx = _Ctx(session, alerts, rules, dedup_window, directory)
        out = [_ingest(session, a, rules, dedup_window, directory, ctx) for a in alerts]
    session.flush()
    for target, details in ctx.audits:
        audit.record(
            session, actor=SYSTEM_ACTOR, action="incident.create", target=target, details=details
        )
    return out


def _serialise(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7312002)"))
    else:
        take_write_lock(session, Incident.__tablename__)


def _ingest(
    session: Session,
    alert: Alert,
    rules: CorrelationRules,
    dedup_window: timedelta,
    directory: Directory | None,
    ctx: _Ctx,
) -> IngestOutcome:
    if alert.id in ctx.existing:
        return IngestOutcome(alert.id, "duplicate_id", ctx.existing[alert.id])
    dkey = ctx.dkeys[alert.id]
    observed = alert.observed_at
    if dedup_window > timedelta(0):
        prior = ctx.prior(dkey, observed, dedup_window)
        if prior is not None:
            prior.count += 1
            if ensure_utc(prior.last_seen) < observed:
                prior.last_seen = observed
            if prior.incident_id:
                inc = session.get(Incident, prior.incident_id)
                if inc is not None and ensure_utc(inc.last_seen) < observed:
                    inc.last_seen = observed
            return IngestOutcome(alert.id, "deduplicated", prior.incident_id)

    record = AlertRecord(
        id=alert.id,
        rule_id=alert.rule_id,
        domain=alert.domain.value,
        severity=int(alert.severity),
        title=alert.title,
        tlp=alert.tlp.value,
        observed_at=observed,
        received_at=utcnow(),
        last_seen=observed,
        dedup_key=dkey,
        count=1,
        payload=alert.model_dump(mode="json"),
    )
    session.add(record)
    keys = ctx.keys_of[alert.id]

    # An alert may name its incident (NIS2 overdue alerts, analyst additions).
    named = alert.attributes.get("incident_id")
    if isinstance(named, str):
        incident = session.get(Incident, named)
        if incident is not None:
            _attach(session, incident, record, alert, keys, rules, directory, ctx)
            ctx.add_record(record)
            return IngestOutcome(alert.id, "new", incident.id)

    incident, others = ctx.find(keys, observed)
    merging: list[Incident] = []
    if incident is not None and others and rules.merge_incidents:
        # The alert ties several open incidents together: they are one incident. Keep the
        # oldest (its reference is the one people already use) and fold the others into it.
        group = [incident, *(o for o in others if _mergeable(o))]
        group.sort(key=lambda i: (ensure_utc(i.created_at), i.ref))
        incident, merging = group[0], group[1:]
        others = [o for o in others if o not in group]
    created = False
    if incident is None and alert.severity >= rules.open_min_severity:
        now = utcnow()
        incident = Incident(
            id=new_id(),
            ref=_next_ref(session, now, ctx.refs),
            title=alert.title,
            summary=alert.why,
            status=Status.NEW.value,
            severity=int(alert.severity),
            category=rules.category_for(alert),
            tlp=alert.tlp.value,
            first_seen=observed,
            last_seen=observed,
            created_at=now,
            updated_at=now,
            domains=[],
            tags=[],
            hybrid=False,
            significant=False,
        )
        session.add(incident)
        ctx.created.add(incident.id)
        ctx.refs.add(incident.ref)
        _timeline(
            session,
            incident,
            kind="created",
            actor=SYSTEM_ACTOR,
            at=now,
            text=f"Incident opened from alert {alert.rule_id}",
        )
        # Written after the batch: each audit entry flushes the session (the hash chain reads
        # the previous entry), and a flush per new incident would cost more than the batch.
        ctx.audits.append((f"incident:{incident.ref}", {"alert_id": alert.id}))
        created = True
    if incident is not None:
        _attach(session, incident, record, alert, keys, rules, directory, ctx)
        for other in merging:
            _merge(session, incident, other, rules, observed, directory, ctx)
        for other in others:
            _timeline(
                session,
                incident,
                kind="related",
                actor=SYSTEM_ACTOR,
                at=observed,
                text=f"Alert {alert.id} also shares keys with {other.ref}",
                data={"incident_id": other.id},
            )
    ctx.add_record(record)
    return IngestOutcome(alert.id, "new", incident.id if incident else None, created)


def get_incident(*, session: Session, incident_id: str) -> Incident:
    """By id or by reference (INC-2026-0001)."""
    q = select(Incident).options(
        selectinload(Incident.alerts),
        selectinload(Incident.timeline),
        selectinload(Incident.tasks),
        selectinload(Incident.submissions),
        selectinload(Incident.intermediate_requests),
    )
    if incident_id.upper().startswith("INC-"):
        q = q.where(Incident.ref == incident_id.upper())
    else:
        q = q.where(Incident.id == incident_id)
    incident = session.execute(q).scalar_one_or_none()
    if incident is None:
        raise NotFoundError(f"no incident {incident_id!r}")
    return incident


def list_incidents(
    *,
    session: Session,
    status: Sequence[str] | None = None,
    min_severity: Severity | None = None,
    category: str | None = None,
    hybrid: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Incident]:
    q = select(Incident)
    if status:
        q = q.where(Incident.status.in_(list(status)))
    if min_severity is not None:
        q = q.where(Incident.severity >= int(min_severity))
    if category:
        q = q.where(Incident.category == category)
    if hybrid is not None:
        q = q.where(Incident.hybrid == hybrid)
    q = q.order_by(Incident.last_seen.desc(), Incident.id.desc()).limit(limit).offset(offset)
    return list(session.execute(q).scalars())


def count_open_incidents(*, session: Session) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Incident)
            .where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        ).scalar_one()
    )


def list_alerts(
    *,
    session: Session,
    incident_id: str | None = None,
    domain: str | None = None,
    min_severity: Severity | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AlertRecord]:
    q = select(AlertRecord)
    if incident_id:
        q = q.where(AlertRecord.incident_id == incident_id)
    if domain:
        q = q.where(AlertRecord.domain == domain)
    if min_severity is not None:
        q = q.where(AlertRecord.severity >= int(min_severity))
    if since is not None:
        q = q.where(AlertRecord.observed_at >= since)
    q = (
        q.order_by(AlertRecord.observed_at.desc(), AlertRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.execute(q).scalars())


def transition(*, session: Session, incident: Incident, to: Status | str, actor: str) -> Incident:
    try:
        target = Status(to)
    except ValueError:
        raise ValidationError(
            f"unknown status {to!r}; use one of {', '.join(s.value for s in Status)}"
        ) from None
    current = Status(incident.status)
    if target == current:
        return incident
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
        raise ConflictError(
            f"{incident.ref} is {current.value}; it can move to {allowed}, not {target.value}"
        )
    now = utcnow()
    incident.status = target.value
    incident.updated_at = now
    if target == Status.RESOLVED:
        incident.resolved_at = now
    elif target == Status.CLOSED:
        incident.closed_at = now
    elif target == Status.TRIAGE and current in (Status.RESOLVED, Status.CLOSED):
        incident.resolved_at = None
        incident.closed_at = None
    _timeline(
        session,
        incident,
        kind="status",
        actor=actor,
        at=now,
        text=f"Status {current.value} → {target.value}",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.status",
        target=f"incident:{incident.ref}",
        details={"from": current.value, "to": target.value},
    )
    return incident


def assign(*, session: Session, incident: Incident, assignee: str | None, actor: str) -> Incident:
    before = incident.assignee
    incident.assignee = assignee
    incident.updated_at = utcnow()
    _timeline(
        session,
        incident,
        kind="assign",
        actor=actor,
        text=f"Assigned to {assignee}" if assignee else "Unassigned",
    )
    audit.record(
        session,
        actor=actor,
        action="incident.assign",
        target=f"incident:{incident.ref}",
        details={"from": before, "to": assignee},
    )
    return incident


_EDITABLE = {
    "title",
    "summary",
    "severity",
    "category",
    "tlp",
    "impact",
    "affected_services",
    "financial_loss_eur",
    "threat_type",
    "root_cause",
    "mitigation_applied",
    "mitigation_ongoing",
    "cross_border_details",
}


def update_incident(
    *, session: Session, incident: Incident, changes: dict[str, Any], actor: str
) -> Incident:
    """Change descriptive fields (the ones NIS2 reports are written from)."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationError(f"cannot change {sorted(unknown)}; editable: {sorted(_EDITABLE)}")
    applied: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "severity":
            value = int(Severity.parse(value))
        elif field == "category":
            try:
                value = Category(value).value
            except ValueError:
                raise ValidationError(
                    f"unknown category {value!r}; use one of {', '.join(c.value for c in Category)}"
                ) from None
        elif field == "tlp":
            value = TLP.parse(value).value
        if getattr(incident, field) != value:
            setattr(incident, field, value)
            applied[field] = value
    if applied:
        incident.updated_at = utcnow()
        shown = {k: (str(Severity(v)) if k == "severity" else v) for k, v in applied.items()}
        _timeline(
            session,
            incident,
            kind="update",
            actor=actor,
            text="Updated " + ", ".join(sorted(applied)),
            data=shown,
        )
        audit.record(
            session,
            actor=actor,
            action="incident.update",
            target=f"incident:{incident.ref}",
            details=shown,
        )
    return incident


def add_note(*, session: Session, incident: Incident, text: str, actor: str) -> None:
    text = text.strip()
    if not text:
        raise ValidationError("a note cannot be empty")
    incident.updated_at = utcnow()
    _timeline(session, incident, kind="note", actor=actor, text=text)
    audit.record(session, actor=actor, action="incident.note", target=f"incident:{incident.ref}")


def add_task(
    *,
    session: Session,
    incident: Incident,
    title: str,
    actor: str,
    assignee: str | None = None,
    due_at: datetime | None = None,
) -> Task:
    title = title.strip()
    if not title:
        raise ValidationError("a task needs a title")
    task = Task(incident_id=incident.id, title=title, assignee=assignee, due_at=due_at)
    session.add(task)
    session.flush()
    _timeline(session, incident, kind="task", actor=actor, text=f"Task added: {title}")
    audit.record(
        session,
        actor=actor,
        action="incident.task.add",
        target=f"incident:{incident.ref}",
        details={"task_id": task.id},
    )
    return task


def complete_task(*, session: Session, incident: Incident, task_id: str, actor: str) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.incident_id != incident.id:
        raise NotFoundError(f"no task {task_id!r} on {incident.ref}")
    if not task.done:
        task.done = True
        task.done_at = utcnow()
        _timeline(session, incident, kind="task", actor=actor, text=f"Task done: {task.title}")
        audit.record(
            session,
            actor=actor,
            action="incident.task.done",
            target=f"incident:{incident.ref}",
            details={"task_id": task.id},
        )
    return task
