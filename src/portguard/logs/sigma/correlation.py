"""Sigma correlation rules over time windows: ``event_count``, ``value_count`` and ``temporal``.

A correlation consumes the matches of the rules it references (by id or name), keyed by its
``group-by`` fields (through its field aliases), and fires when its condition holds inside its
timespan. After firing, that group's window starts afresh, so one burst gives one alert. Time is
the records' own time (replayed logs correlate as they happened); records without one use the
time they were seen. The state is plain data per correlation and group.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)

from portguard.core.clock import utcnow
from portguard.core.types import Severity
from portguard.logs.mapping import LogRecord
from portguard.logs.sigma.compiler import Unsupported
from portguard.logs.sigma.loader import _LEVELS, CompiledRule

__all__ = ["CorrelationHit", "CorrelationSpec", "Correlator", "compile_correlation"]

_OPS: dict[SigmaCorrelationConditionOperator, Callable[[Any, Any], bool]] = {
    SigmaCorrelationConditionOperator.LT: operator.lt,
    SigmaCorrelationConditionOperator.LTE: operator.le,
    SigmaCorrelationConditionOperator.GT: operator.gt,
    SigmaCorrelationConditionOperator.GTE: operator.ge,
    SigmaCorrelationConditionOperator.EQ: operator.eq,
    SigmaCorrelationConditionOperator.NEQ: operator.ne,
}

#: Records kept per group as evidence.
MAX_EVIDENCE = 20


@dataclass(slots=True)
class CorrelationSpec:
    id: str
    title: str
    type: str  # event_count | value_count | temporal
    level: str
    severity: Severity
    tags: tuple[str, ...]
    #: Referenced rule ids, in order.
    rule_ids: tuple[str, ...]
    #: Per referenced rule id: the event field for each group-by name.
    group_fields: dict[str, tuple[str, ...]]
    timespan_s: float
    op: Callable[[Any, Any], bool]
    count: float
    value_field: str | None
    path: str

    @property
    def attack(self) -> tuple[str, ...]:
        return tuple(t for t in self.tags if t.startswith("attack."))


@dataclass(frozen=True, slots=True)
class CorrelationHit:
    spec: CorrelationSpec
    group: tuple[str, ...]
    records: tuple[LogRecord, ...]
    value: float


def compile_correlation(
    rule: SigmaCorrelationRule, known: dict[str, CompiledRule], path: str
) -> CorrelationSpec:
    kind = rule.type
    if kind not in (
        SigmaCorrelationType.EVENT_COUNT,
        SigmaCorrelationType.VALUE_COUNT,
        SigmaCorrelationType.TEMPORAL,
    ):
        raise Unsupported(f"correlation type {kind.name.lower()}")
    if not isinstance(rule.condition, SigmaCorrelationCondition):
        raise Unsupported("extended (boolean) correlation conditions")
    refs = [r.reference for r in rule.rules or []]
    rule_ids: list[str] = []
    for ref in refs:
        target = known.get(ref)
        if target is None:
            raise Unsupported(
                f"references rule {ref!r}, which is not loaded (or is itself a correlation)"
            )
        rule_ids.append(target.id)
        if not rule.generate:
            target.output = False
    group_by = list(rule.group_by or [])
    group_fields: dict[str, tuple[str, ...]] = {}
    for ref, rid in zip(refs, rule_ids, strict=True):
        names: list[str] = []
        for g in group_by:
            alias = rule.aliases.aliases.get(g)
            mapped = None
            if alias is not None:
                mapped = next((f for r, f in alias.mapping.items() if r.reference == ref), None)
                if mapped is None:
                    mapped = next(
                        (
                            f
                            for r, f in alias.mapping.items()
                            if known.get(r.reference) is known[ref]
                        ),
                        None,
                    )
            names.append(mapped or g)
        group_fields[rid] = tuple(names)
    level = rule.level.name.lower() if rule.level is not None else "medium"
    cond = rule.condition
    field_ref = cond.fieldref if isinstance(cond.fieldref, str) else None
    if kind is SigmaCorrelationType.VALUE_COUNT and field_ref is None:
        raise Unsupported("value_count over several fields")
    return CorrelationSpec(
        id=str(rule.id) if rule.id else (rule.name or rule.title),
        title=rule.title,
        type=kind.name.lower(),
        level=level,
        severity=_LEVELS.get(level, Severity.MEDIUM),
        tags=tuple(f"{t.namespace}.{t.name}" for t in rule.tags),
        rule_ids=tuple(rule_ids),
        group_fields=group_fields,
        timespan_s=float(rule.timespan.seconds),
        op=_OPS[cond.op],
        count=float(cond.count),
        value_field=field_ref,
        path=path,
    )


@dataclass(slots=True)
class _Window:
    #: (time, rule id, value, record)
    items: deque[tuple[float, str, str | None, LogRecord]] = field(default_factory=deque)


class Correlator:
    """Feeds rule matches to the correlations that reference them."""

    def __init__(self, specs: list[CorrelationSpec], *, max_groups: int = 100_000) -> None:
        self.specs = specs
        self.max_groups = max_groups
        self._by_rule: dict[str, list[CorrelationSpec]] = {}
        for spec in specs:
            for rid in dict.fromkeys(spec.rule_ids):
                self._by_rule.setdefault(rid, []).append(spec)
        self._windows: dict[tuple[str, tuple[str, ...]], _Window] = {}

    def wants(self, rule_id: str) -> bool:
        return rule_id in self._by_rule

    def feed(self, rule_id: str, record: LogRecord) -> list[CorrelationHit]:
        hits: list[CorrelationHit] = []
        when = (record.time or utcnow()).timestamp() if record.time else utcnow().timestamp()
        fields = {k.lower(): v for k, v in record.fields.items()}
        for spec in self._by_rule.get(rule_id, ()):
            names = spec.group_fields[rule_id]
            group = tuple(str(fields.get(n.lower(), "")) for n in names)
            key = (spec.id, group)
            window = self._windows.get(key)
            if window is None:
                if len(self._windows) >= self.max_groups:
                    self._expire(when)
                window = self._windows[key] = _Window()
            value = None
            if spec.value_field is not None:
                raw = fields.get(spec.value_field.lower())
                if raw is None:
                    continue  # value_count counts values; a record without one adds nothing
                value = str(raw)
            items = window.items
            items.append((when, rule_id, value, record))
            while items and items[0][0] < when - spec.timespan_s:
                items.popleft()
            measure = self._measure(spec, items)
            if spec.op(measure, spec.count) and (spec.type == "temporal" or measure > 0):
                evidence = tuple(i[3] for i in list(items)[-MAX_EVIDENCE:])
                hits.append(CorrelationHit(spec, group, evidence, measure))
                items.clear()
        return hits

    @staticmethod
    def _measure(spec: CorrelationSpec, items: deque[tuple[float, str, str | None, Any]]) -> float:
        if spec.type == "event_count":
            return float(len(items))
        if spec.type == "value_count":
            return float(len({i[2] for i in items}))
        # temporal: every referenced rule seen in the window
        seen = {i[1] for i in items}
        return float(len(seen)) if len(seen) == len(set(spec.rule_ids)) else 0.0

    def _expire(self, now: float) -> None:
        longest = max((s.timespan_s for s in self.specs), default=0.0)
        stale = [
            k for k, w in self._windows.items() if not w.items or w.items[-1][0] < now - longest
        ]
        for k in stale:
            del self._windows[k]
        if len(self._windows) >= self.max_groups:  # still full: drop the oldest half
            for k in list(self._windows)[: self.max_groups // 2]:
                del self._windows[k]


def record_time(record: LogRecord) -> datetime:
    return record.time or utcnow()
