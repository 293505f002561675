"""Load Sigma rules from files and folders with pySigma and compile each one once.

Every rule either compiles or is reported with its file, line and the reason (YAML error, an
unknown modifier, a feature the engine does not evaluate): nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from portguard.core.types import Severity
from portguard.logs.sigma.compiler import Anchors, Matcher, Unsupported, compile_condition

__all__ = ["CompiledRule", "RuleProblem", "RuleSet", "load_rules", "rule_files"]

_LEVELS = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule that did not load, and why."""

    path: str
    reason: str
    rule_id: str | None = None
    title: str | None = None
    #: ``file:line`` when pySigma knows the line.
    location: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "location": self.location or self.path,
            "rule_id": self.rule_id,
            "title": self.title,
            "reason": self.reason,
        }


@dataclass(slots=True)
class CompiledRule:
    id: str
    title: str
    level: str
    severity: Severity
    tags: tuple[str, ...]
    product: str | None
    category: str | None
    service: str | None
    matcher: Matcher
    anchors: Anchors
    path: str
    name: str | None = None
    description: str = ""
    status: str | None = None
    falsepositives: tuple[str, ...] = ()
    #: PortGuard extensions, from the rule's ``portguard:`` key (e.g. ``first_seen``).
    extensions: dict[str, Any] = field(default_factory=dict)
    #: False when only a correlation rule uses it (Sigma ``generate: false``).
    output: bool = True

    @property
    def attack(self) -> tuple[str, ...]:
        return tuple(t for t in self.tags if t.startswith("attack."))


@dataclass(slots=True)
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    correlations: list[Any] = field(default_factory=list)  # CorrelationSpec (correlation.py)
    problems: list[RuleProblem] = field(default_factory=list)
    files: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "files": self.files,
            "rules": len(self.rules),
            "correlations": len(self.correlations),
            "problems": len(self.problems),
        }


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """Rule files under ``paths`` (``*.yml``/``*.yaml``, recursively), sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.suffix in (".yml", ".yaml") and f.is_file())
            )
        elif p.exists():
            out.append(p)
        else:
            out.append(p)  # reported as unreadable by load_rules
    return out


def _loc(source: SigmaRuleLocation | None, path: Path) -> str:
    if source is None or source.line is None:
        return str(path)
    return f"{path}:{source.line}" + (f":{source.char}" if source.char is not None else "")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, SigmaError):
        text = text.split(" in file ")[0]
        return f"{type(exc).__name__}: {text}"
    return f"{type(exc).__name__}: {text}"


def _compile_rule(rule: SigmaRule, path: Path) -> CompiledRule:
    trees = [cond.parsed for cond in rule.detection.parsed_condition]
    matcher, anchors = compile_condition(trees)
    level = rule.level.name.lower() if rule.level is not None else "medium"
    custom = rule.custom_attributes or {}
    ext = custom.get("portguard")
    return CompiledRule(
        id=str(rule.id) if rule.id else (rule.name or f"{path.stem}"),
        title=rule.title or path.stem,
        level=level,
        severity=_LEVELS.get(level, Severity.MEDIUM),
        tags=tuple(f"{t.namespace}.{t.name}" for t in rule.tags),
        product=rule.logsource.product,
        category=rule.logsource.category,
        service=rule.logsource.service,
        matcher=matcher,
        anchors=anchors,
        path=str(path),
        name=rule.name,
        description=rule.description or "",
        status=rule.status.name.lower() if rule.status is not None else None,
        falsepositives=tuple(rule.falsepositives or ()),
        extensions=dict(ext) if isinstance(ext, dict) else {},
    )


def load_rules(paths: Sequence[Path]) -> RuleSet:
    """Load and compile every rule under ``paths``. Never raises on a bad rule or file."""
    from portguard.logs.sigma.correlation import compile_correlation

    result = RuleSet()
    collections: list[tuple[Path, SigmaCollection]] = []
    for path in rule_files(paths):
        result.files += 1
        try:
            text = path.read_text("utf-8")
            collection = SigmaCollection.from_yaml(
                text, collect_errors=True, source=SigmaRuleLocation(path)
            )
        except (OSError, UnicodeDecodeError) as exc:
            result.problems.append(RuleProblem(str(path), f"cannot read: {_describe(exc)}"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            loc = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            result.problems.append(RuleProblem(str(path), f"YAML error: {problem}", location=loc))
            continue
        except Exception as exc:  # pySigma may raise anything on hostile input: report it
            result.problems.append(RuleProblem(str(path), _describe(exc)))
            continue
        collections.append((path, collection))

    by_ref: dict[str, CompiledRule] = {}
    pending: list[tuple[Path, SigmaCorrelationRule]] = []
    for path, collection in collections:
        for rule in collection:
            rid = str(rule.id) if rule.id else None
            if rule.errors:
                for err in rule.errors:
                    result.problems.append(
                        RuleProblem(
                            str(path), _describe(err), rid, rule.title, _loc(err.source, path)
                        )
                    )
                continue
            if isinstance(rule, SigmaCorrelationRule):
                pending.append((path, rule))
                continue
            if not isinstance(rule, SigmaRule):
                result.problems.append(
                    RuleProblem(str(path), f"unsupported rule type {type(rule).__name__}", rid)
                )
                continue
            try:
                compiled = _compile_rule(rule, path)
            except Unsupported as exc:
                result.problems.append(
                    RuleProblem(str(path), f"unsupported: {exc}", rid, rule.title)
                )
                continue
            except Exception as exc:  # a pySigma error surfacing at condition parse time
                result.problems.append(RuleProblem(str(path), _describe(exc), rid, rule.title))
                continue
            result.rules.append(compiled)
            by_ref[compiled.id] = compiled
            if compiled.name:
                by_ref[compiled.name] = compiled

    for path, corr in pending:
        rid = str(corr.id) if corr.id else None
        try:
            result.correlations.append(compile_correlation(corr, by_ref, str(path)))
        except Unsupported as exc:
            result.problems.append(RuleProblem(str(path), f"unsupported: {exc}", rid, corr.title))
    return result
