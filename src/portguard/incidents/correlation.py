"""Correlation rules as data: which keys of an alert (its entities, asset and zone) join it to an
open incident, within which time window, and which cross-domain patterns (``hybrid_rules``) make
an incident a hybrid threat. Loaded from YAML; every problem names its location.

Person resolution: given the port model's ``Directory``, an alert naming an e-mail address, a
badge or an account of a known person also carries the key ``person:<id>``, so the phishing
recipient, the badge holder and the operator who sent a command meet in one incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from portguard.core.errors import ValidationError
from portguard.core.types import Alert, Domain, EntityKind, Severity
from portguard.incidents.models import Category
from portguard.portmodel.directory import Directory

__all__ = ["CorrelationRule", "CorrelationRules", "HybridRule", "HybridStep", "parse_duration"]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
LOCATION_KINDS = ("asset", "zone")


def parse_duration(value: Any, *, where: str) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    m = _DURATION_RE.match(str(value))
    if not m:
        raise ValidationError(f"duration {value!r} is not like 90s, 30m, 6h or 2d", location=where)
    return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})


@dataclass(frozen=True)
class CorrelationRule:
    id: str
    description: str
    keys: frozenset[str]
    window: timedelta


@dataclass(frozen=True)
class HybridStep:
    """One kind of alert a hybrid pattern needs: by domain, rule id prefix and/or category."""

    domain: str | None = None
    #: A rule id, or a prefix ending in ``*`` (``infra.command.*``).
    rule: str | None = None
    category: str | None = None

    def matches(self, domain: str, rule_id: str, category: str | None) -> bool:
        if self.domain is not None and domain != self.domain:
            return False
        if self.rule is not None:
            if self.rule.endswith("*"):
                if not rule_id.startswith(self.rule[:-1]):
                    return False
            elif rule_id != self.rule:
                return False
        return self.category is None or category == self.category


@dataclass(frozen=True)
class HybridRule:
    """A cross-domain pattern: alerts matching every step, sharing one key of the ``share``
    kinds, within ``window``, make the incident hybrid, tagged ``tag``, at least ``severity``."""

    id: str
    description: str
    steps: tuple[HybridStep, ...]
    share: frozenset[str]
    window: timedelta
    severity: Severity
    tag: str


@dataclass(frozen=True)
class CorrelationRules:
    rules: tuple[CorrelationRule, ...]
    open_min_severity: Severity = Severity.MEDIUM
    ignore_keys: frozenset[str] = frozenset()
    hybrid_min_domains: int = 2
    hybrid_severity_raise: int = 1
    category_by_domain: dict[str, str] = field(default_factory=dict)
    hybrid_rules: tuple[HybridRule, ...] = ()
    #: An alert sharing keys with several open incidents merges them into the oldest.
    merge_incidents: bool = True
    source: str = "<built-in>"

    @property
    def max_window(self) -> timedelta:
        return max((r.window for r in self.rules), default=timedelta(0))

    def keys_for(self, alert: Alert, directory: Directory | None = None) -> dict[str, timedelta]:
        """The correlation keys of ``alert``, each with the window its rule allows; with a
        directory, ``person:<id>`` for every person its entities name."""
        candidates: list[tuple[str, str]] = [(e.kind.value, e.key) for e in alert.entities]
        if alert.location is not None:
            if alert.location.asset_id:
                candidates.append(("asset", f"asset:{alert.location.asset_id}"))
            if alert.location.zone_id:
                candidates.append(("zone", f"zone:{alert.location.zone_id}"))
        if directory is not None and len(directory):
            have = {key for _, key in candidates}
            for pid in sorted(directory.persons_for(alert.entities)):
                if f"person:{pid}" not in have:
                    candidates.append(("person", f"person:{pid}"))
        return self._windows(candidates)

    def keys_from_payload(
        self, payload: dict[str, Any], directory: Directory | None = None
    ) -> set[str]:
        """The keys of a stored alert (its JSON payload), without re-validating it."""
        candidates: list[tuple[str, str]] = []
        for e in payload.get("entities") or ():
            candidates.append((str(e["kind"]), f"{e['kind']}:{e['value']}"))
        loc = payload.get("location") or {}
        if loc.get("asset_id"):
            candidates.append(("asset", f"asset:{loc['asset_id']}"))
        if loc.get("zone_id"):
            candidates.append(("zone", f"zone:{loc['zone_id']}"))
        if directory is not None and len(directory):
            for _, key in list(candidates):
                pid = directory.resolve(key)
                if pid is not None:
                    candidates.append(("person", f"person:{pid}"))
        return set(self._windows(candidates))

    def _windows(self, candidates: list[tuple[str, str]]) -> dict[str, timedelta]:
        out: dict[str, timedelta] = {}
        for kind, key in candidates:
            if key in self.ignore_keys:
                continue
            for rule in self.rules:
                if kind in rule.keys and rule.window > out.get(key, timedelta(0)):
                    out[key] = rule.window
        return out

    def category_for(self, alert: Alert) -> str:
        if alert.category and alert.category in Category.__members__.values():
            return alert.category
        return self.category_by_domain.get(alert.domain.value, Category.CYBER_ATTACK.value)

    @classmethod
    def builtin(cls) -> CorrelationRules:
        text = resources.files("portguard.incidents").joinpath("rules/default.yaml").read_text()
        return cls.from_yaml(text, source="<built-in>")

    @classmethod
    def load(cls, path: Path | None) -> CorrelationRules:
        if path is None:
            return cls.builtin()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(
                f"cannot read correlation rules: {exc}", location=str(path)
            ) from None
        return cls.from_yaml(text, source=str(path))

    @classmethod
    def from_yaml(cls, text: str, *, source: str) -> CorrelationRules:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            raise ValidationError(f"not valid YAML: {exc}", location=where) from None
        return cls.from_dict(doc, source=source)

    @classmethod
    def from_dict(cls, doc: Any, *, source: str) -> CorrelationRules:
        problems: list[str] = []
        if not isinstance(doc, dict):
            raise ValidationError("must be a mapping with a 'rules' list", location=source)
        allowed_top = {
            "open_min_severity",
            "ignore_keys",
            "rules",
            "hybrid",
            "category_by_domain",
            "hybrid_rules",
            "merge_incidents",
        }
        for k in doc:
            if k not in allowed_top:
                problems.append(f"{source}: unknown key {k!r} (allowed: {sorted(allowed_top)})")
        valid_kinds = {k.value for k in EntityKind} | set(LOCATION_KINDS)
        rules: list[CorrelationRule] = []
        raw_rules = doc.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            problems.append(f"{source}: 'rules' must be a non-empty list")
            raw_rules = []
        seen: set[str] = set()
        for i, raw in enumerate(raw_rules):
            where = f"{source}: rules[{i}]"
            if not isinstance(raw, dict):
                problems.append(f"{where}: must be a mapping")
                continue
            rid = str(raw.get("id", "")).strip()
            if not rid:
                problems.append(f"{where}: 'id' is required")
            elif rid in seen:
                problems.append(f"{where}: duplicate id {rid!r}")
            seen.add(rid)
            keys = raw.get("keys")
            if not isinstance(keys, list) or not keys:
                problems.append(f"{where}: 'keys' must be a non-empty list")
                keys = []
            bad = [k for k in keys if k not in valid_kinds]
            if bad:
                problems.append(
                    f"{where}: unknown key kind(s) {bad}; use {', '.join(sorted(valid_kinds))}"
                )
            try:
                window = parse_duration(raw.get("window", "24h"), where=f"{where}.window")
            except ValidationError as exc:
                problems.append(str(exc))
                window = timedelta(0)
            extra = set(raw) - {"id", "description", "keys", "window"}
            if extra:
                problems.append(f"{where}: unknown field(s) {sorted(extra)}")
            rules.append(
                CorrelationRule(
                    id=rid,
                    description=str(raw.get("description", "")),
                    keys=frozenset(str(k) for k in keys),
                    window=window,
                )
            )
        try:
            open_min = Severity.parse(doc.get("open_min_severity", "medium"))
        except ValueError as exc:
            problems.append(f"{source}: open_min_severity: {exc}")
            open_min = Severity.MEDIUM
        hybrid = doc.get("hybrid") or {}
        if not isinstance(hybrid, dict):
            problems.append(f"{source}: 'hybrid' must be a mapping")
            hybrid = {}
        min_domains = hybrid.get("min_domains", 2)
        raise_by = hybrid.get("severity_raise", 1)
        if not isinstance(min_domains, int) or min_domains < 2:
            problems.append(f"{source}: hybrid.min_domains must be an integer >= 2")
            min_domains = 2
        if not isinstance(raise_by, int) or not 0 <= raise_by <= 4:
            problems.append(f"{source}: hybrid.severity_raise must be an integer 0-4")
            raise_by = 1
        cats = doc.get("category_by_domain") or {}
        if not isinstance(cats, dict):
            problems.append(f"{source}: 'category_by_domain' must be a mapping")
            cats = {}
        domains = {d.value for d in Domain}
        categories = {c.value for c in Category}
        for d, c in cats.items():
            if d not in domains:
                problems.append(f"{source}: category_by_domain: unknown domain {d!r}")
            if c not in categories:
                problems.append(
                    f"{source}: category_by_domain.{d}: unknown category {c!r}; "
                    f"use one of {', '.join(sorted(categories))}"
                )
        ignore = doc.get("ignore_keys") or []
        if not isinstance(ignore, list):
            problems.append(f"{source}: 'ignore_keys' must be a list of kind:value strings")
            ignore = []
        merge = doc.get("merge_incidents", True)
        if not isinstance(merge, bool):
            problems.append(f"{source}: merge_incidents must be true or false")
            merge = True
        hybrid_rules = _hybrid_rules(doc.get("hybrid_rules") or [], source, valid_kinds, problems)
        if problems:
            raise ValidationError(
                "invalid correlation rules:\n  " + "\n  ".join(problems), location=source
            )
        return cls(
            rules=tuple(rules),
            open_min_severity=open_min,
            ignore_keys=frozenset(str(k) for k in ignore),
            hybrid_min_domains=min_domains,
            hybrid_severity_raise=raise_by,
            category_by_domain={str(k): str(v) for k, v in cats.items()},
            hybrid_rules=hybrid_rules,
            merge_incidents=merge,
            source=source,
        )


def _hybrid_rules(
    raw_rules: Any, source: str, valid_kinds: set[str], problems: list[str]
) -> tuple[HybridRule, ...]:
    if not isinstance(raw_rules, list):
        problems.append(f"{source}: 'hybrid_rules' must be a list")
        return ()
    domains = {d.value for d in Domain}
    out: list[HybridRule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        where = f"{source}: hybrid_rules[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        extra = set(raw) - {"id", "description", "steps", "share", "window", "severity", "tag"}
        if extra:
            problems.append(f"{where}: unknown field(s) {sorted(extra)}")
        rid = str(raw.get("id", "")).strip()
        if not rid or rid in seen:
            problems.append(f"{where}: 'id' is required and unique")
        seen.add(rid)
        steps: list[HybridStep] = []
        raw_steps = raw.get("steps")
        if not isinstance(raw_steps, list) or len(raw_steps) < 2:
            problems.append(f"{where}: 'steps' must list at least two kinds of alert")
            raw_steps = []
        for j, st in enumerate(raw_steps):
            if not isinstance(st, dict) or set(st) - {"domain", "rule", "category"}:
                problems.append(
                    f"{where}.steps[{j}]: a mapping of domain, rule and/or category ({{}}: any "
                    f"alert), got {st!r}"
                )
                continue
            if "domain" in st and st["domain"] not in domains:
                problems.append(f"{where}.steps[{j}]: unknown domain {st['domain']!r}")
            steps.append(
                HybridStep(
                    domain=st.get("domain"),
                    rule=None if st.get("rule") is None else str(st["rule"]),
                    category=None if st.get("category") is None else str(st["category"]),
                )
            )
        share = raw.get("share")
        if not isinstance(share, list) or not share:
            problems.append(f"{where}: 'share' must list key kinds (person, asset, ip...)")
            share = []
        bad = [k for k in share if k not in valid_kinds]
        if bad:
            problems.append(f"{where}: unknown key kind(s) {bad}")
        try:
            window = parse_duration(raw.get("window", "24h"), where=f"{where}.window")
        except ValidationError as exc:
            problems.append(str(exc))
            window = timedelta(0)
        try:
            severity = Severity.parse(raw.get("severity", "high"))
        except ValueError as exc:
            problems.append(f"{where}.severity: {exc}")
            severity = Severity.HIGH
        out.append(
            HybridRule(
                id=rid,
                description=str(raw.get("description", "")),
                steps=tuple(steps),
                share=frozenset(str(k) for k in share),
                window=window,
                severity=severity,
                tag=str(raw.get("tag") or rid),
            )
        )
    return tuple(out)
