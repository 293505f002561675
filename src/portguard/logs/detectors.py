"""Log detectors: records to Alerts. Pure, with explicit state (correlation windows, first-seen
keys), no I/O.

``LogDetector.process(record)`` runs, in isolation from one another:

* the Sigma rules (``SigmaEngine``), then the correlations fed by their matches;
* PortGuard's ``first_seen`` extension: a rule carrying ``portguard: {first_seen: [A, B]}``
  alerts only the first time a combination of those fields is seen (with ``learn_first: true``,
  the first combination per value of ``A`` is learnt silently: the operator's home country);
* the ISAC link: every IP, domain and file hash in the record is checked against the indicator
  index (``IndicatorLookup``, satisfied by ``portguard.intel.index.IndicatorIndex``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from portguard.core.clock import utcnow
from portguard.core.types import Alert, Domain, EntityKind, EntityRef, Severity
from portguard.logs.mapping import LogRecord
from portguard.logs.sigma.correlation import CorrelationHit, Correlator
from portguard.logs.sigma.engine import SigmaEngine
from portguard.logs.sigma.loader import CompiledRule, RuleSet

__all__ = [
    "INDICATOR_RULE_ID",
    "IndicatorLookup",
    "IndicatorMatch",
    "LogDetector",
    "entities_of",
    "trimmed",
]

log = logging.getLogger(__name__)

INDICATOR_RULE_ID = "logs.indicator_match"
MAX_FIELD_CHARS = 2_000
MAX_FIELDS = 200


class IndicatorMatch(Protocol):
    @property
    def indicator_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def how(self) -> str: ...


class IndicatorLookup(Protocol):
    """What the logs domain needs from the ISAC's indicator index. ``kind`` is one of ``ip``,
    ``domain``, ``hash``, ``url``."""

    def lookup(self, kind: str, value: str) -> Sequence[IndicatorMatch]: ...


# Field names (case-folded) that name entities, per kind.
_HOST = ("computer", "hostname", "workstationname", "host", "devname")
_ACCOUNT = ("user", "targetusername", "subjectusername", "username", "user.name", "accountname")
_IP = (
    "sourceip", "destinationip", "ipaddress", "srcip", "dstip", "remip", "src_ip", "dst_ip",
    "clientip", "source.ip", "destination.ip",
)  # fmt: skip
_DOMAIN = ("queryname", "destinationhostname", "domain", "url.domain")
_HASH_FIELDS = ("hashes", "hash", "sha256", "sha1", "md5", "imphash_ignored")
_HASH_RE = re.compile(r"\b([0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})\b")
_NOT_ACCOUNTS = {"-", "system", "local service", "network service", "n/a", ""}


def _ref(kind: EntityKind, value: str) -> EntityRef | None:
    try:
        return EntityRef(kind=kind, value=value)
    except ValueError:
        return None


def entities_of(fields: dict[str, Any]) -> tuple[EntityRef, ...]:
    """Hosts, accounts, IPs, domains and file hashes named in a record, for incident
    correlation. Accounts drop their ``DOMAIN\\`` prefix (the same person across sources)."""
    low = {k.lower(): str(v) for k, v in fields.items() if v is not None and v != ""}
    out: dict[str, EntityRef] = {}

    def add(ref: EntityRef | None) -> None:
        if ref is not None:
            out.setdefault(ref.key, ref)

    for k in _HOST:
        if k in low:
            add(_ref(EntityKind.HOST, low[k]))
    for k in _ACCOUNT:
        v = low.get(k, "").strip()
        name = v.rsplit("\\", 1)[-1].lower()
        if name and name not in _NOT_ACCOUNTS and not name.endswith("$"):
            add(_ref(EntityKind.ACCOUNT, name))
    for k in _IP:
        v = low.get(k, "").strip()
        try:
            ip = ipaddress.ip_address(v)
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_unspecified):
            add(_ref(EntityKind.IP, str(ip)))
    for k in _DOMAIN:
        if k in low and "." in low[k]:
            add(_ref(EntityKind.DOMAIN, low[k]))
    for k in _HASH_FIELDS:
        if k in low:
            for h in _HASH_RE.findall(low[k]):
                add(_ref(EntityKind.FILE_HASH, h))
    return tuple(out.values())


def trimmed(fields: dict[str, Any]) -> dict[str, Any]:
    """The record's fields, bounded for an alert's attributes."""
    out: dict[str, Any] = {}
    for i, (k, v) in enumerate(fields.items()):
        if i >= MAX_FIELDS:
            out["_truncated"] = True
            break
        if isinstance(v, str) and len(v) > MAX_FIELD_CHARS:
            v = v[:MAX_FIELD_CHARS] + "…"
        elif not isinstance(v, str | int | float | bool) and v is not None:
            v = str(v)[:MAX_FIELD_CHARS]
        out[str(k)[:200]] = v
    return out


def _identity(record: LogRecord) -> str:
    """What makes a record the same record when read twice (for fingerprints)."""
    f = record.fields
    if "EventRecordID" in f:
        return f"{f.get('Computer', '')}|{f.get('Channel', '')}|{f['EventRecordID']}"
    return f"{record.source}|{record.position}|{record.time.isoformat() if record.time else ''}"


def _fp(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass
class DetectorStats:
    records: int = 0
    alerts: int = 0
    failures: dict[str, int] = field(default_factory=dict)


class LogDetector:
    """Sigma rules + correlations + first-seen + indicator checks over a stream of records."""

    def __init__(
        self, ruleset: RuleSet, *, indicator_lookup: IndicatorLookup | None = None
    ) -> None:
        self.ruleset = ruleset
        self.engine = SigmaEngine(ruleset.rules)
        self.correlator = Correlator(list(ruleset.correlations))
        self.indicator_lookup = indicator_lookup
        self.stats = DetectorStats()
        #: first_seen state: rule id -> seen combinations; and learnt first keys.
        self.seen: dict[str, set[tuple[str, ...]]] = {}
        self.learnt: dict[str, set[str]] = {}

    def process(self, record: LogRecord) -> list[tuple[Alert, LogRecord | None]]:
        """Alerts for one record, each with the record it names (None: several, see attrs)."""
        self.stats.records += 1
        out: list[tuple[Alert, LogRecord | None]] = []
        for rule in self.engine.match(record):
            if self.correlator.wants(rule.id):
                for hit in self._guard("correlation", self.correlator.feed, rule.id, record) or []:
                    out.append((self.correlation_alert(hit), None))
            if not rule.output or not self._first_seen(rule, record):
                continue
            out.append((self.rule_alert(rule, record), record))
        if self.indicator_lookup is not None:
            for alert in self._guard("indicators", self._indicators, record) or []:
                out.append((alert, record))
        self.stats.alerts += len(out)
        return out

    def _guard(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # isolation: one failing detector stops nothing else
            self.stats.failures[what] = self.stats.failures.get(what, 0) + 1
            log.warning("logs detector %s failed: %s", what, type(exc).__name__)
            return None

    def _first_seen(self, rule: CompiledRule, record: LogRecord) -> bool:
        spec = rule.extensions.get("first_seen")
        if not spec:
            return True
        names = spec.get("fields", []) if isinstance(spec, dict) else list(spec)
        low = {k.lower(): v for k, v in record.fields.items()}
        key = tuple(str(low.get(str(n).lower(), "")).lower() for n in names)
        seen = self.seen.setdefault(rule.id, set())
        if key in seen:
            return False
        seen.add(key)
        if isinstance(spec, dict) and spec.get("learn_first") and key:
            learnt = self.learnt.setdefault(rule.id, set())
            if key[0] not in learnt:
                learnt.add(key[0])
                return False
        return True

    def rule_alert(self, rule: CompiledRule, record: LogRecord) -> Alert:
        src = "/".join(x or "*" for x in (rule.product, rule.category, rule.service))
        return Alert(
            rule_id=rule.id,
            domain=Domain.LOGS,
            severity=rule.severity,
            title=rule.title[:500],
            why=(
                f"Sigma rule {rule.title!r} ({rule.level}, log source {src}) matched "
                f"{record.source} {record.position}. {rule.description}"
            )[:10_000],
            observed_at=record.time or utcnow(),
            evidence=(record.event_id,) if record.event_id else (),
            entities=entities_of(record.fields),
            fingerprint=_fp(rule.id, _identity(record)),
            attributes={
                "sigma": {
                    "id": rule.id,
                    "title": rule.title,
                    "level": rule.level,
                    "status": rule.status,
                    "path": rule.path,
                    "falsepositives": list(rule.falsepositives),
                },
                "attack": list(rule.attack),
                "tags": list(rule.tags),
                "event": trimmed(record.fields),
                "source": record.source,
                "position": record.position,
            },
        )

    def correlation_alert(self, hit: CorrelationHit) -> Alert:
        spec = hit.spec
        last = hit.records[-1]
        ents: dict[str, EntityRef] = {}
        for r in hit.records:
            for e in entities_of(r.fields):
                ents.setdefault(e.key, e)
        return Alert(
            rule_id=spec.id,
            domain=Domain.LOGS,
            severity=spec.severity,
            title=spec.title[:500],
            why=(
                f"Sigma correlation {spec.title!r} ({spec.type}) held for group "
                f"{', '.join(hit.group) or '-'}: value {hit.value:g} within "
                f"{spec.timespan_s:g} s over {len(hit.records)} matching records."
            ),
            observed_at=last.time or utcnow(),
            evidence=tuple(r.event_id for r in hit.records if r.event_id),
            entities=tuple(list(ents.values())[:1000]),
            fingerprint=_fp(spec.id, *hit.group, _identity(hit.records[0])),
            attributes={
                "sigma": {
                    "id": spec.id,
                    "title": spec.title,
                    "level": spec.level,
                    "type": spec.type,
                    "path": spec.path,
                },
                "attack": list(spec.attack),
                "tags": list(spec.tags),
                "group": list(hit.group),
                "event": trimmed(last.fields),
                "events": [trimmed(r.fields) for r in hit.records[-5:]],
            },
        )

    def _indicators(self, record: LogRecord) -> list[Alert]:
        lookup = self.indicator_lookup
        assert lookup is not None
        alerts: list[Alert] = []
        for ent in entities_of(record.fields):
            kind = {"ip": "ip", "domain": "domain", "file_hash": "hash"}.get(ent.kind.value)
            if kind is None:
                continue
            matches = lookup.lookup(kind, ent.value)
            if not matches:
                continue
            names = ", ".join(sorted({m.name for m in matches}))[:300]
            alerts.append(
                Alert(
                    rule_id=INDICATOR_RULE_ID,
                    domain=Domain.LOGS,
                    severity=Severity.HIGH,
                    title=f"Log event names an ISAC indicator: {ent.kind.value} {ent.value}"[:500],
                    why=f"{ent.kind.value} {ent.value} in {record.source} {record.position} "
                    f"matches indicator(s) {names}.",
                    observed_at=record.time or utcnow(),
                    evidence=(record.event_id,) if record.event_id else (),
                    entities=entities_of(record.fields),
                    fingerprint=_fp(INDICATOR_RULE_ID, ent.key, _identity(record)),
                    attributes={
                        "indicators": [
                            {"id": m.indicator_id, "name": m.name, "how": m.how} for m in matches
                        ][:50],
                        "observable": ent.key,
                        "event": trimmed(record.fields),
                    },
                )
            )
        return alerts
