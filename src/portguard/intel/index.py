"""The indicator index: the read-only lookup every detector calls (the one module of ``intel``
other domains may import; no web framework, no database).

Simple STIX patterns compile into per-kind hash tables (domains with a parent-domain walk,
normalised URLs, hashes, e-mail addresses) and CIDR tables; ``LIKE`` substrings go to an
Aho-Corasick automaton; anything compound is evaluated with stix2-matcher. Every lookup is
filtered by TLP for a viewer (by default the organisation that runs PortGuard), and skips
indicators that are revoked, not yet valid or past ``valid_until``.

The app keeps it live: ``apply(indicator, sharing)`` after each stored indicator version,
``remove(indicator_id)`` on revocation (``IntelHub`` does both and polls the store, so several
processes stay in step).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ahocorasick  # type: ignore[import-not-found,import-untyped,unused-ignore]

from portguard.core.types import TLP
from portguard.intel.matching import (
    CidrTable,
    compile_pattern,
    ip_key,
    like_to_regex,
    longest_literal,
    normalise_domain,
    normalise_url,
    url_host,
)
from portguard.intel.tlp import Sharing, Viewer, readable_sharing
from portguard.intel.warninglists import Warninglists

__all__ = ["IndicatorIndex", "Match", "Sharing", "Viewer"]

_OBJECT_TYPE = {
    "domain": "domain-name",
    "url": "url",
    "email": "email-addr",
    "hash": "file",
}


def _epoch(value: Any) -> float | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value).replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True, slots=True)
class Match:
    """One indicator that matched one observable."""

    indicator_id: str
    name: str
    #: The observable kind looked up: domain, ip, url, hash, email.
    kind: str
    #: The observable as looked up (normalised).
    observable: str
    #: What in the indicator matched it: the value, a parent domain, a CIDR, a substring.
    matched: str
    #: exact | parent | cidr | substring | pattern
    how: str
    tlp: TLP
    owner: str
    confidence: int | None
    valid_until: datetime | None
    #: False when the indicator is on a warninglist: alert on it, never block with it.
    block: bool
    warninglists: tuple[str, ...]


@dataclass(eq=False, slots=True)
class _Indicator:
    id: str
    name: str
    pattern: str
    sharing: Sharing
    valid_from: float | None
    valid_until: float | None
    confidence: int | None
    conflicts: tuple[str, ...]
    terms: list[tuple[str, str]] = field(default_factory=list)
    visible: bool = True  # to the index's default viewer

    def live(self, now: float) -> bool:
        if self.valid_until is not None and now >= self.valid_until:
            return False
        return self.valid_from is None or now >= self.valid_from

    def match(self, kind: str, observable: str, matched: str, how: str) -> Match:
        vu = self.valid_until
        return Match(
            indicator_id=self.id,
            name=self.name,
            kind=kind,
            observable=observable,
            matched=matched,
            how=how,
            tlp=self.sharing.tlp,
            owner=self.sharing.owner,
            confidence=self.confidence,
            valid_until=datetime.fromtimestamp(vu, UTC) if vu is not None else None,
            block=not self.conflicts,
            warninglists=self.conflicts,
        )


def _any_live(hits: list[_Indicator], now: float) -> bool:
    for i in hits:
        if (
            i.visible
            and (i.valid_until is None or now < i.valid_until)
            and (i.valid_from is None or now >= i.valid_from)
        ):
            return True
    return False


class IndicatorIndex:
    """Thread-safe for one writer and many readers (writers take a lock; readers see either
    the old or the new entry, never a half-built one)."""

    def __init__(
        self,
        *,
        viewer: Viewer,
        warninglists: Warninglists | None = None,
        now: Any = time.time,
    ) -> None:
        self.viewer = viewer
        self.warninglists = warninglists if warninglists is not None else Warninglists.builtin()
        self._now = now
        self._lock = threading.Lock()
        self._by_id: dict[str, _Indicator] = {}
        self._exact: dict[str, dict[str, list[_Indicator]]] = {
            k: {} for k in ("domain", "url", "hash", "email", "ip")
        }
        self._cidrs: CidrTable[_Indicator] = CidrTable()
        self._like: dict[str, dict[str, list[_Indicator]]] = {}
        self._auto: dict[str, ahocorasick.Automaton] = {}
        self._compound: list[_Indicator] = []
        # Per kind, the keys that have a live, visible indicator, and the epoch interval during
        # which that snapshot holds (until the next valid_from/valid_until). Bulk lookups test
        # set membership instead of checking each indicator's validity. Cleared on any change.
        self._live: dict[str, tuple[frozenset[str], float, float]] = {}

    # -- keeping it live ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def set_viewer(self, viewer: Viewer) -> None:
        """Change the default viewer (e.g. after a membership change)."""
        with self._lock:
            self._live = {}
            self.viewer = viewer
            for ind in self._by_id.values():
                ind.visible = readable_sharing(viewer, ind.sharing)

    def apply(self, indicator: Mapping[str, Any], sharing: Sharing) -> list[str]:
        """Index (or re-index) one indicator version; returns the warninglists it hits. Revoked
        or non-STIX-pattern indicators are removed instead."""
        ind_id = str(indicator["id"])
        if indicator.get("revoked") or indicator.get("pattern_type", "stix") != "stix":
            self.remove(ind_id)
            return []
        pattern = str(indicator.get("pattern", ""))
        terms = compile_pattern(pattern)
        conflicts: set[str] = set()
        compiled: list[tuple[str, str]] = []
        for term in terms or ():
            kind = "ip" if term.kind == "cidr" else term.kind
            if not kind.startswith("substring:"):
                conflicts.update(self.warninglists.check(kind, term.value))
            compiled.append((term.kind, term.value))
        conf = indicator.get("confidence")
        ind = _Indicator(
            id=ind_id,
            name=str(indicator.get("name") or pattern)[:300],
            pattern=pattern,
            sharing=sharing,
            valid_from=_epoch(indicator.get("valid_from")),
            valid_until=_epoch(indicator.get("valid_until")),
            confidence=int(conf) if isinstance(conf, int) else None,
            conflicts=tuple(sorted(conflicts)),
            terms=compiled,
            visible=readable_sharing(self.viewer, sharing),
        )
        with self._lock:
            self._remove_locked(ind_id)
            self._by_id[ind_id] = ind
            if terms is None:
                self._compound.append(ind)
            for kind, value in compiled:
                if kind == "cidr":
                    self._cidrs.add(value, ind)
                elif kind.startswith("substring:"):
                    self._like.setdefault(kind[10:], {}).setdefault(value, []).append(ind)
                    self._auto.pop(kind[10:], None)
                else:
                    self._exact[kind].setdefault(value, []).append(ind)
            self._live = {}
        return list(ind.conflicts)

    def remove(self, indicator_id: str) -> bool:
        with self._lock:
            return self._remove_locked(indicator_id)

    def _remove_locked(self, indicator_id: str) -> bool:
        self._live = {}
        ind = self._by_id.pop(indicator_id, None)
        if ind is None:
            return False
        if ind in self._compound:
            self._compound.remove(ind)
        for kind, value in ind.terms:
            if kind == "cidr":
                self._cidrs.discard(value, ind)
            elif kind.startswith("substring:"):
                bucket = self._like.get(kind[10:], {})
                self._drop(bucket, value, ind)
                self._auto.pop(kind[10:], None)
            else:
                self._drop(self._exact[kind], value, ind)
        return True

    @staticmethod
    def _drop(table: dict[str, list[_Indicator]], key: str, ind: _Indicator) -> None:
        items = table.get(key)
        if items is None:
            return
        rest = [i for i in items if i is not ind]
        if rest:
            table[key] = rest
        else:
            del table[key]

    def conflicts(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(indicator id, pattern, warninglists) of every indicator that may not block."""
        return [(i.id, i.pattern, i.conflicts) for i in self._by_id.values() if i.conflicts]

    # -- lookups ------------------------------------------------------------------------------

    def _ok(self, ind: _Indicator, viewer: Viewer | None, now: float) -> bool:
        if viewer is None or viewer is self.viewer:
            if not ind.visible:
                return False
        elif not readable_sharing(viewer, ind.sharing):
            return False
        return ind.live(now)

    def lookup_domain(self, value: str, *, viewer: Viewer | None = None) -> list[Match]:
        """Indicators for the domain or any of its parent domains, plus substrings/patterns."""
        d = normalise_domain(value)
        now = self._now()
        out: list[Match] = []
        table = self._exact["domain"]
        h = d
        while h:
            hits = table.get(h)
            if hits:
                how = "exact" if h == d else "parent"
                out.extend(i.match("domain", d, h, how) for i in hits if self._ok(i, viewer, now))
            dot = h.find(".")
            h = h[dot + 1 :] if dot >= 0 else ""
        self._extra("domain", d, viewer, now, out)
        return out

    def lookup_url(self, value: str, *, viewer: Viewer | None = None) -> list[Match]:
        """Indicators for the URL, and for its host (domain or IP)."""
        u = normalise_url(value)
        now = self._now()
        out = [
            i.match("url", u, u, "exact")
            for i in self._exact["url"].get(u, ())
            if self._ok(i, viewer, now)
        ]
        self._extra("url", u, viewer, now, out)
        host = url_host(u).strip("[]")
        if host:
            out.extend(
                self.lookup_ip(host, viewer=viewer)
                if ip_key(host)
                else self.lookup_domain(host, viewer=viewer)
            )
        return out

    def lookup_ip(self, value: str, *, viewer: Viewer | None = None) -> list[Match]:
        v = value.strip()
        key = ip_key(v)
        if key is None:
            return []
        if key[0] == 6:
            v = str(ipaddress.ip_address(v))
        now = self._now()
        out = [
            i.match("ip", v, v, "exact")
            for i in self._exact["ip"].get(v, ())
            if self._ok(i, viewer, now)
        ]
        for pl, i in self._cidrs.lookup(*key):
            if self._ok(i, viewer, now):
                out.append(i.match("ip", v, self._cidr_text(i, key[0], key[1], pl), "cidr"))
        return out

    @staticmethod
    def _cidr_text(ind: _Indicator, version: int, address: int, pl: int) -> str:
        for kind, value in ind.terms:
            if kind == "cidr" and value.endswith(f"/{pl}"):
                return value
        return f"/{pl}"

    def lookup_hash(self, value: str, *, viewer: Viewer | None = None) -> list[Match]:
        h = value.strip().lower()
        now = self._now()
        return [
            i.match("hash", h, h, "exact")
            for i in self._exact["hash"].get(h, ())
            if self._ok(i, viewer, now)
        ]

    def lookup_email(self, value: str, *, viewer: Viewer | None = None) -> list[Match]:
        """Indicators for the address, and for its domain."""
        e = value.strip().lower()
        now = self._now()
        out = [
            i.match("email", e, e, "exact")
            for i in self._exact["email"].get(e, ())
            if self._ok(i, viewer, now)
        ]
        self._extra("email", e, viewer, now, out)
        _, _, domain = e.rpartition("@")
        if domain:
            out.extend(self.lookup_domain(domain, viewer=viewer))
        return out

    def lookup(self, kind: str, value: str, *, viewer: Viewer | None = None) -> list[Match]:
        """Dispatch on ``kind``: domain, ip, url, hash, email."""
        fn = {
            "domain": self.lookup_domain,
            "ip": self.lookup_ip,
            "url": self.lookup_url,
            "hash": self.lookup_hash,
            "email": self.lookup_email,
        }.get(kind)
        if fn is None:
            raise ValueError(f"unknown observable kind {kind!r}; use domain, ip, url, hash, email")
        return fn(value, viewer=viewer)

    def live_keys(self, kind: str) -> frozenset[str]:
        """The exact keys of ``kind`` with a live indicator the default viewer may use."""
        now = self._now()
        cached = self._live.get(kind)
        if cached is not None and cached[1] <= now < cached[2]:
            return cached[0]
        with self._lock:
            keys: set[str] = set()
            lo, hi = float("-inf"), float("inf")
            for key, hits in self._exact[kind].items():
                for i in hits:
                    # The snapshot changes when any indicator starts or stops being valid.
                    for edge in (i.valid_from, i.valid_until):
                        if edge is not None:
                            if edge > now:
                                hi = min(hi, edge)
                            else:
                                lo = max(lo, edge)
                if _any_live(hits, now):
                    keys.add(key)
            snapshot = frozenset(keys)
            self._live[kind] = (snapshot, lo, hi)
        return snapshot

    def count_hits(self, kind: str, values: Iterable[str]) -> int:
        """How many of ``values`` (already normalised) hit an exact entry or, for domains, a
        parent: the batch path for bulk checks and benchmarks (default viewer, live only)."""
        live = self.live_keys(kind)
        if kind != "domain":
            return sum(map(live.__contains__, values))
        n = 0
        for v in values:
            h = v
            while True:
                if h in live:
                    n += 1
                    break
                dot = h.find(".")
                if dot < 0:
                    break
                h = h[dot + 1 :]
        return n

    # -- substrings and compound patterns -----------------------------------------------------

    def _automaton(self, kind: str) -> ahocorasick.Automaton | None:
        auto = self._auto.get(kind)
        if auto is None:
            needles = self._like.get(kind)
            if not needles:
                return None
            auto = ahocorasick.Automaton()
            for like, inds in needles.items():
                lit = longest_literal(like)
                entry = auto.get(lit, []) if lit in auto else []
                auto.add_word(lit, [*entry, (like_to_regex(like), like, inds)])
            auto.make_automaton()
            self._auto[kind] = auto
        return auto

    def _extra(
        self, kind: str, value: str, viewer: Viewer | None, now: float, out: list[Match]
    ) -> None:
        auto = self._automaton(kind) if self._like.get(kind) else None
        if auto is not None:
            seen: set[str] = set()
            for _, entries in auto.iter(value):
                for rx, like, inds in entries:
                    if like in seen or not rx.match(value):
                        continue
                    seen.add(like)
                    for i in inds:
                        if self._ok(i, viewer, now):
                            out.append(i.match(kind, value, like, "substring"))
        if self._compound and kind in _OBJECT_TYPE:
            self._compound_match(kind, value, viewer, now, out)

    def _compound_match(
        self, kind: str, value: str, viewer: Viewer | None, now: float, out: list[Match]
    ) -> None:
        from stix2matcher.matcher import match as stix_match  # type: ignore[import-not-found,import-untyped,unused-ignore]

        obj_type = _OBJECT_TYPE[kind]
        sco_id = obj_type + "--00000000-0000-4000-8000-000000000001"
        obj: dict[str, Any] = {"type": obj_type, "id": sco_id, "value": value}
        if kind == "hash":
            hashes = {"MD5": value, "SHA-1": value, "SHA-256": value, "SHA-512": value}
            obj = {"type": "file", "id": sco_id, "hashes": hashes}
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        observed = {
            "type": "observed-data",
            "spec_version": "2.1",
            "id": "observed-data--00000000-0000-4000-8000-000000000000",
            "created": stamp,
            "modified": stamp,
            "first_observed": stamp,
            "last_observed": stamp,
            "number_observed": 1,
            "object_refs": [sco_id],
        }
        bundle = {"type": "bundle", "id": "bundle--" + sco_id[-36:], "objects": [observed, obj]}
        for i in list(self._compound):
            if obj_type not in i.pattern or not self._ok(i, viewer, now):
                continue
            try:
                hit = stix_match(i.pattern, [bundle], stix_version="2.1")
            except Exception:  # noqa: S112  (a pattern the matcher cannot run never matches)
                continue
            if hit:
                out.append(i.match(kind, value, i.pattern, "pattern"))
