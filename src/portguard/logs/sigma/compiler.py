"""Compile a parsed Sigma detection (pySigma's condition tree) into a Python matcher.

A matcher is a closure over an ``EventView`` (the record's field values as strings, field names
case-folded, plus a lower-cased copy: Sigma compares strings without case unless ``|cased``).
Besides the matcher, compilation derives the rule's *anchors*: literals of which at least one
must occur in the record for the rule to possibly match (``None`` when no such set exists, e.g.
a rule made only of a regular expression or a negation). The engine feeds all anchors of all
rules to one Aho-Corasick automaton per field, so a record meets only the rules whose anchors it
contains.

Regular expressions run on RE2 (linear time, no catastrophic backtracking); a pattern RE2 cannot
run (look-around, back-references) is an unsupported feature, reported at load.
"""

from __future__ import annotations

import importlib
import ipaddress
import operator
import re
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import re2
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

__all__ = ["MAX_REGEX_INPUT", "Anchor", "EventView", "Matcher", "Unsupported", "compile_condition"]

#: Longest value a regular expression or wildcard pattern looks at (RE2 is linear, this bounds
#: the constant).
MAX_REGEX_INPUT = 65_536


class Unsupported(Exception):
    """The rule uses something the engine does not evaluate; the message says what."""


class EventView:
    """A record as the matchers see it. ``raw``/``low`` map case-folded field names to the value
    as a string / lower-cased string."""

    __slots__ = ("low", "raw")

    def __init__(self, fields: dict[str, Any]) -> None:
        raw: dict[str, str] = {}
        names = _LOWER_NAMES
        for name, value in fields.items():
            key = names.get(name)
            if key is None:
                key = name.lower()
                if len(names) < 100_000:
                    names[name] = key
            if type(value) is str:
                raw[key] = value
            elif value is None:
                continue
            elif isinstance(value, bool):
                raw[key] = "true" if value else "false"
            elif isinstance(value, list | tuple):
                raw[key] = ", ".join(str(v) for v in value)
            else:
                raw[key] = str(value)
        self.raw = raw
        self.low = {k: v.lower() for k, v in raw.items()}


#: Field names seen, case-folded once (they repeat from record to record).
_LOWER_NAMES: dict[str, str] = {}

Matcher = Callable[[EventView], bool]


@dataclass(frozen=True, slots=True)
class Anchor:
    """A literal that must occur in a field (``field`` None: in any field). ``exact``: the whole
    lower-cased value equals it (else: it is a substring)."""

    field: str | None
    literal: str
    exact: bool


#: Groups of anchors, all of which must be met (in each group, one anchor): empty = none known.
Anchors = tuple[frozenset[Anchor], ...]


# -- strings ----------------------------------------------------------------------------------


def _parts(value: SigmaString) -> list[str | SpecialChars]:
    out: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise Unsupported(f"placeholder %{part.name}% (needs a processing pipeline)")
        out.append(part)
    return out


@dataclass(frozen=True, slots=True)
class _StrTest:
    """A simple string test, kept as data so that sibling tests on one field merge."""

    field: str | None
    kind: str  # eq | contains | startswith | endswith | regex | any
    literal: str
    cased: bool


def _str_test(field: str | None, value: SigmaString) -> _StrTest:
    cased = isinstance(value, SigmaCasedString)
    parts = _parts(value)
    norm = [p if isinstance(p, SpecialChars) else (p if cased else p.lower()) for p in parts]
    star = SpecialChars.WILDCARD_MULTI
    if field is None:  # keywords: implicitly "contains"
        if not norm or norm[0] != star:
            norm.insert(0, star)
        if norm[-1] != star:
            norm.append(star)
    lits = [p for p in norm if isinstance(p, str)]
    if not norm:
        return _StrTest(field, "eq", "", cased)
    if all(p == star for p in norm):
        return _StrTest(field, "any", "", cased)
    if len(norm) == 1 and isinstance(norm[0], str):
        return _StrTest(field, "eq", norm[0], cased)
    if len(lits) == 1 and SpecialChars.WILDCARD_SINGLE not in norm:
        lit = lits[0]
        shape = tuple(p == star for p in norm)
        kind = {
            (True, False, True): "contains",
            (False, True): "startswith",
            (True, False): "endswith",
        }.get(shape)
        if kind:
            return _StrTest(field, kind, lit, cased)
    pattern = "".join(
        ".*" if p == star else "." if p == SpecialChars.WILDCARD_SINGLE else re.escape(str(p))
        for p in norm
    )
    return _StrTest(field, "regex", pattern, cased)


def _compile_tests(tests: list[_StrTest]) -> tuple[Matcher, Anchors]:
    """OR of string tests on one field (or all keywords), merged into one check per kind."""
    field = tests[0].field
    cased = tests[0].cased
    by_kind: dict[str, list[str]] = {}
    for t in tests:
        by_kind.setdefault(t.kind, []).append(t.literal)
    checks: list[Callable[[str], bool]] = []
    anchors: set[Anchor] | None = set()
    for kind, lits in by_kind.items():
        if kind == "eq":
            eq = frozenset(lits)
            checks.append(eq.__contains__)
        elif kind == "contains":
            if len(lits) == 1:
                checks.append(_contains_one(lits[0]))
            else:
                checks.append(_contains_any(tuple(lits)))
        elif kind == "startswith":
            checks.append(_startswith(tuple(lits)))
        elif kind == "endswith":
            checks.append(_endswith(tuple(lits)))
        elif kind == "any":
            checks.append(_anything)
            anchors = None
        else:
            checks.append(_wildcards("|".join(f"(?:{p})" for p in lits)))
        if anchors is not None and kind != "any":
            for lit in lits:
                best = lit if kind != "regex" else _longest_literal_of_wildcard(lit)
                if not best:
                    anchors = None
                    break
                anchors.add(Anchor(field, best if not cased else best.lower(), kind == "eq"))
    check = checks[0] if len(checks) == 1 else (lambda v: any(c(v) for c in checks))
    return _bind(field, check, cased), (frozenset(anchors),) if anchors else ()


def _startswith(prefixes: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda v: v.startswith(prefixes)


def _endswith(suffixes: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda v: v.endswith(suffixes)


def _anything(_: str) -> bool:
    return True


def _wildcards(pattern: str) -> Callable[[str], bool]:
    # Built from literals and ".*"/"." only (no nested quantifiers): linear enough for re.
    rx = re.compile(pattern, re.DOTALL)
    return lambda v: rx.fullmatch(v[:MAX_REGEX_INPUT]) is not None


def _contains_one(lit: str) -> Callable[[str], bool]:
    return lambda v: lit in v


def _contains_any(lits: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda v: any(s in v for s in lits)


def _longest_literal_of_wildcard(pattern: str) -> str:
    """The longest literal run of a wildcard pattern already turned into a regex."""
    runs = re.split(r"\.\*|(?<!\\)\.", pattern)
    best = max((re.sub(r"\\(.)", r"\1", r) for r in runs), key=len, default="")
    return best


def _bind(field: str | None, check: Callable[[str], bool], cased: bool) -> Matcher:
    if field is None:
        if cased:
            return lambda ev: any(check(v) for v in ev.raw.values())
        return lambda ev: any(check(v) for v in ev.low.values())
    key = field.lower()
    if cased:

        def cased_match(ev: EventView) -> bool:
            v = ev.raw.get(key)
            return v is not None and check(v)

        return cased_match

    def match(ev: EventView) -> bool:
        v = ev.low.get(key)
        return v is not None and check(v)

    return match


# -- other value types --------------------------------------------------------------------------

_CMP = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}


def _to_number(text: str) -> float | None:
    try:
        return float(int(text, 0)) if text[:2].lower() == "0x" else float(text)
    except ValueError:
        return None


_sre: Any = importlib.import_module("re._parser")
_src: Any = importlib.import_module("re._constants")


def _required(items: Any) -> frozenset[str] | None:
    """Literals one of which any match of the parsed regex sequence ``items`` contains."""
    options: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            options.append(frozenset(["".join(run).lower()]))
            run.clear()

    for op, av in items:
        if op is _src.LITERAL:
            run.append(chr(av))
            continue
        flush()
        inner: frozenset[str] | None = None
        if op is _src.SUBPATTERN:
            inner = _required(av[-1])
        elif op is _src.BRANCH:
            alts = [_required(a) for a in av[1]]
            if all(a is not None for a in alts):
                inner = frozenset().union(*(a for a in alts if a is not None))
        elif op in (_src.MAX_REPEAT, _src.MIN_REPEAT) and av[0] >= 1:
            inner = _required(av[2])
        if inner:
            options.append(inner)
    flush()
    options = [o for o in options if all(o)]
    if not options:
        return None
    return max(options, key=lambda o: (min(len(x) for x in o), -len(o)))


def _regex_anchors(field: str | None, pattern: str) -> Anchors:
    try:
        lits = _required(_sre.parse(pattern))
    except Exception:  # Python's parser disagrees with RE2 on a construct: no anchors
        return ()
    if not lits:
        return ()
    return (frozenset(Anchor(field, lit, False) for lit in lits),)


def _regex(field: str | None, value: SigmaRegularExpression) -> Matcher:
    flags = ""
    if SigmaRegularExpressionFlag.IGNORECASE in value.flags:
        flags += "i"
    if SigmaRegularExpressionFlag.MULTILINE in value.flags:
        flags += "m"
    if SigmaRegularExpressionFlag.DOTALL in value.flags:
        flags += "s"
    pattern = str(value.regexp)
    try:
        rx = re2.compile(f"(?{flags}){pattern}" if flags else pattern)
    except re2.error as exc:
        raise Unsupported(
            f"regular expression {pattern[:80]!r} cannot run in linear time (RE2: {exc}); "
            "rewrite it without look-around or back-references"
        ) from None
    search = rx.search
    if field is None:
        return lambda ev: any(search(v[:MAX_REGEX_INPUT]) for v in ev.raw.values())
    key = field.lower()

    def match(ev: EventView) -> bool:
        v = ev.raw.get(key)
        return v is not None and search(v[:MAX_REGEX_INPUT]) is not None

    return match


def _cidr(key: str, value: SigmaCIDRExpression) -> Matcher:
    net = value.network

    def match(ev: EventView) -> bool:
        v = ev.raw.get(key)
        if not v:
            return False
        try:
            return ipaddress.ip_address(v.strip()) in net
        except ValueError:
            return False

    return match


def _compare(key: str, value: SigmaCompareExpression) -> Matcher:
    op = _CMP[value.op]
    number = float(value.number.number)

    def match(ev: EventView) -> bool:
        v = ev.raw.get(key)
        if v is None:
            return False
        n = _to_number(v.strip())
        return n is not None and bool(op(n, number))

    return match


def _fieldref(key: str, value: SigmaFieldReference) -> Matcher:
    other = value.field.lower()

    def match(ev: EventView) -> bool:
        a, b = ev.low.get(key), ev.low.get(other)
        if a is None or b is None:
            return False
        if value.starts_with:
            return a.startswith(b)
        if value.ends_with:
            return a.endswith(b)
        return a == b

    return match


def _leaf(field: str | None, value: SigmaType) -> tuple[Matcher, Anchors] | _StrTest:
    if isinstance(value, SigmaString):
        return _str_test(field, value)
    if isinstance(value, SigmaExpansion):
        return _or([_leaf(field, v) for v in value.values])
    if isinstance(value, SigmaBool):
        return _StrTest(field, "eq", "true" if value.boolean else "false", False)
    if isinstance(value, SigmaNumber):
        return _number(field, value)
    if isinstance(value, SigmaRegularExpression):
        return _regex(field, value), _regex_anchors(field, str(value.regexp))
    if field is None:
        raise Unsupported(f"keyword of type {type(value).__name__} (needs a field)")
    key = field.lower()
    if isinstance(value, SigmaNull):
        return (lambda ev: not ev.raw.get(key)), ()
    if isinstance(value, SigmaExists):
        want = bool(value.exists)
        return (lambda ev: (key in ev.raw) is want), ()
    if isinstance(value, SigmaCIDRExpression):
        return _cidr(key, value), ()
    if isinstance(value, SigmaCompareExpression):
        return _compare(key, value), ()
    if isinstance(value, SigmaFieldReference):
        return _fieldref(key, value), ()
    raise Unsupported(f"value type {type(value).__name__} on field {field!r}")


def _number(field: str | None, value: SigmaNumber) -> tuple[Matcher, Anchors] | _StrTest:
    num = value.number
    text = str(num)
    if field is None:
        return _StrTest(None, "contains", text, False)
    key = field.lower()
    target = float(num)

    def match(ev: EventView) -> bool:
        v = ev.raw.get(key)
        if v is None:
            return False
        if v == text:
            return True
        n = _to_number(v.strip())
        return n is not None and n == target

    return match, (frozenset([Anchor(field, text, True)]),) if isinstance(num, int) else ()


# -- boolean structure --------------------------------------------------------------------------

Compiled = tuple[Matcher, Anchors] | _StrTest


def _finish(item: Compiled) -> tuple[Matcher, Anchors]:
    if isinstance(item, _StrTest):
        return _compile_tests([item])
    return item


def _or(items: Iterable[Compiled]) -> tuple[Matcher, Anchors]:
    groups: dict[tuple[str | None, bool], list[_StrTest]] = {}
    others: list[tuple[Matcher, Anchors]] = []
    for item in items:
        if isinstance(item, _StrTest):
            groups.setdefault((item.field, item.cased), []).append(item)
        else:
            others.append(item)
    parts = [_compile_tests(tests) for tests in groups.values()] + others
    if len(parts) == 1:
        return parts[0]
    fns = tuple(p[0] for p in parts)
    union: set[Anchor] = set()
    for _, part_groups in parts:
        if not part_groups:
            return (lambda ev: any(f(ev) for f in fns)), ()
        union |= max(part_groups, key=_score)
    return (lambda ev: any(f(ev) for f in fns)), (frozenset(union),)


def _score(anchors: AbstractSet[Anchor]) -> tuple[int, int]:
    """How selective an anchor set is: its shortest literal (longer is rarer), then fewer."""
    return (min((len(a.literal) for a in anchors), default=0), -len(anchors))


def _and(items: Iterable[Compiled]) -> tuple[Matcher, Anchors]:
    parts = [_finish(i) for i in items]
    # Anchored (literal) tests first: they are the cheap ones that usually fail.
    parts.sort(key=lambda p: not p[1])
    fns = tuple(p[0] for p in parts)
    anchors = tuple(dict.fromkeys(g for p in parts for g in p[1]))
    if len(fns) == 2:
        f0, f1 = fns
        return (lambda ev: f0(ev) and f1(ev)), anchors
    return (lambda ev: all(f(ev) for f in fns)), anchors


def _node(node: Any) -> Compiled:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _leaf(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        return _leaf(None, node.value)
    if isinstance(node, ConditionOR):
        return _or(_node(a) for a in node.args)
    if isinstance(node, ConditionAND):
        return _and(_node(a) for a in node.args)
    if isinstance(node, ConditionNOT):
        inner, _ = _finish(_node(node.args[0]))
        return (lambda ev: not inner(ev)), ()
    if node is None:
        raise Unsupported("the condition is empty")
    if isinstance(node, ConditionItem):
        raise Unsupported(f"condition element {type(node).__name__}")
    raise Unsupported(f"condition element {type(node).__name__}")


def compile_condition(trees: list[Any], *, max_groups: int = 2) -> tuple[Matcher, Anchors]:
    """Compile a rule's parsed conditions (several conditions are OR-ed). Keeps the
    ``max_groups`` most selective anchor groups."""
    if len(trees) == 1:
        matcher, groups = _finish(_node(trees[0]))
    else:
        matcher, groups = _or(_node(t) for t in trees)
    return matcher, tuple(sorted(groups, key=_score, reverse=True)[:max_groups])
