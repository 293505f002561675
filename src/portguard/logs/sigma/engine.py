"""Evaluate compiled Sigma rules on records, fast.

Two indexes keep the work per record small:

1. **Log source.** A record meets only the rules whose ``logsource`` can apply to it (a Sysmon
   image-load event never meets the 1,200 process-creation rules). The plan per log source is
   built on first use and cached.
2. **Anchors.** Per plan, every rule's anchors (literals one of which must be present for the rule
   to match, see ``compiler``) go into one hash table (whole values) and one Aho-Corasick
   automaton (substrings) per field. One pass over the record's values yields the candidate
   rules; only those, plus the few rules without anchors, run their full matcher.

A matcher that raises is counted and skipped: one broken rule never stops the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import ahocorasick

from portguard.logs.mapping import LogRecord, LogSource
from portguard.logs.sigma.compiler import EventView
from portguard.logs.sigma.loader import CompiledRule

__all__ = ["EngineStats", "SigmaEngine"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EngineStats:
    records: int = 0
    candidates: int = 0
    matches: int = 0
    rule_errors: int = 0
    errors_by_rule: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Plan:
    always: tuple[int, ...]
    exact: dict[str, dict[str, tuple[_Tag, ...]]]
    sub: dict[str, ahocorasick.Automaton]
    #: Substring anchors valid in any field (keywords), searched in all values at once.
    anywhere: ahocorasick.Automaton | None
    size: int
    #: Fields with an exact table or an automaton.
    fields: frozenset[str]
    #: Per anchored rule: the bit mask of its anchor groups (all must be hit).
    need: dict[int, int]


#: Joins a record's values for the keyword automaton; no anchor literal contains it.
_SEP = "\x00"


def _applies(rule: CompiledRule, src: LogSource) -> bool:
    if src.product is None:
        return True
    if rule.product is not None and rule.product != src.product:
        return False
    if rule.category is not None and rule.category not in src.categories:
        return False
    return rule.service is None or rule.service in src.services


#: (rule index, bit of the anchor group)
_Tag = tuple[int, int]


def _automaton(words: dict[str, list[_Tag]]) -> ahocorasick.Automaton:
    auto = ahocorasick.Automaton()
    for word, ids in words.items():
        auto.add_word(word, tuple(sorted(set(ids))))
    auto.make_automaton()
    return auto


class SigmaEngine:
    """Holds compiled rules; ``match(record)`` returns the rules that match, in load order."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = list(rules)
        self.stats = EngineStats()
        self._plans: dict[LogSource, _Plan] = {}

    def _plan(self, src: LogSource) -> _Plan:
        plan = self._plans.get(src)
        if plan is not None:
            return plan
        always: list[int] = []
        exact: dict[str, dict[str, list[_Tag]]] = {}
        sub: dict[str, dict[str, list[_Tag]]] = {}
        anywhere: dict[str, list[_Tag]] = {}
        need: dict[int, int] = {}
        size = 0
        for i, rule in enumerate(self.rules):
            if not _applies(rule, src):
                continue
            size += 1
            groups = [
                g for g in rule.anchors if all(a.literal and _SEP not in a.literal for a in g)
            ]
            if not groups:
                always.append(i)
                continue
            need[i] = (1 << len(groups)) - 1
            for bit, group in enumerate(groups):
                tag = (i, 1 << bit)
                for a in group:
                    if a.field is None:
                        anywhere.setdefault(a.literal, []).append(tag)
                    elif a.exact:
                        exact.setdefault(a.field.lower(), {}).setdefault(a.literal, []).append(tag)
                    else:
                        sub.setdefault(a.field.lower(), {}).setdefault(a.literal, []).append(tag)
        plan = _Plan(
            always=tuple(always),
            exact={f: {v: tuple(ids) for v, ids in t.items()} for f, t in exact.items()},
            sub={f: _automaton(words) for f, words in sub.items()},
            anywhere=_automaton(anywhere) if anywhere else None,
            size=size,
            fields=frozenset(exact) | frozenset(sub),
            need=need,
        )
        if len(self._plans) < 1000:
            self._plans[src] = plan
        return plan

    def candidates(self, view: EventView, src: LogSource) -> list[int]:
        """Indexes of the rules that may match (anchors present, or no anchors)."""
        plan = self._plan(src)
        exact, sub, fields = plan.exact, plan.sub, plan.fields
        tags: set[_Tag] = set()
        add = tags.update
        low = view.low
        for name, value in low.items():
            if name not in fields:
                continue
            table = exact.get(name)
            if table is not None:
                ids = table.get(value)
                if ids:
                    add(ids)
            auto = sub.get(name)
            if auto is not None and value:
                for _, ids in auto.iter(value):
                    add(ids)
        if plan.anywhere is not None:
            for _, ids in plan.anywhere.iter(_SEP.join(low.values())):
                add(ids)
        if not tags:
            return list(plan.always)
        masks: dict[int, int] = {}
        get = masks.get
        for rule, bit in tags:
            masks[rule] = get(rule, 0) | bit
        need = plan.need
        hits = [r for r, m in masks.items() if m == need[r]]
        hits.extend(plan.always)
        hits.sort()
        return hits

    def match(self, record: LogRecord) -> list[CompiledRule]:
        view = EventView(record.fields)
        return self.match_view(view, record.logsource)

    def match_view(self, view: EventView, src: LogSource) -> list[CompiledRule]:
        stats = self.stats
        stats.records += 1
        cands = self.candidates(view, src)
        stats.candidates += len(cands)
        out: list[CompiledRule] = []
        rules = self.rules
        for i in cands:
            rule = rules[i]
            try:
                if rule.matcher(view):
                    out.append(rule)
            except Exception as exc:  # isolation: a broken matcher costs its rule, not intake
                stats.rule_errors += 1
                stats.errors_by_rule[rule.id] = stats.errors_by_rule.get(rule.id, 0) + 1
                if stats.errors_by_rule[rule.id] == 1:
                    log.warning("sigma rule %s failed: %s", rule.id, type(exc).__name__)
        stats.matches += len(out)
        return out

    def plan_sizes(self) -> dict[str, int]:
        """Rules per log source seen so far."""
        return {
            f"{s.product}/{','.join(sorted(s.categories))}/{','.join(sorted(s.services))}": p.size
            for s, p in self._plans.items()
        }
