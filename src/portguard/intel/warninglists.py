"""MISP warninglists: known-good values an indicator must not block (top sites, banks, cloud
ranges, RFC 1918, empty-file hashes...).

``Warninglists.builtin()`` is a small hand-curated set that ships with PortGuard (special-use
address ranges, empty-file hashes, very common domains and URL shorteners);
``Warninglists.load(path)`` reads the full MISP set (a directory of ``*.json`` lists, as in the
MISP/misp-warninglists repository) or one list file. List types follow MISP: ``string`` (exact),
``hostname`` (the value or any sub-domain), ``substring``, ``cidr``, ``regex``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick  # type: ignore[import-not-found,import-untyped,unused-ignore]

from portguard.core.errors import ValidationError
from portguard.intel.matching import CidrTable, ip_key, normalise_domain, url_host
from portguard.intel.warninglists_builtin import BUILTIN

__all__ = ["WarningList", "Warninglists"]

# MISP attribute types, grouped by the index kind they apply to.
_ATTRS = {
    "domain": {"domain", "hostname", "domain|ip", "hostname|port"},
    "url": {"url", "uri"},
    "ip": {"ip-src", "ip-dst", "domain|ip", "ip-src|port", "ip-dst|port"},
    "hash": {"md5", "sha1", "sha224", "sha256", "sha512", "filename|md5", "filename|sha1"},
    "email": {"email-src", "email-dst", "target-email", "email"},
}


@dataclass(frozen=True)
class WarningList:
    name: str
    type: str
    kinds: frozenset[str]
    values: tuple[str, ...]

    @classmethod
    def from_misp(cls, data: dict[str, Any], *, source: str = "") -> WarningList:
        try:
            attrs = set(data["matching_attributes"])
            kinds = frozenset(k for k, a in _ATTRS.items() if attrs & a)
            return cls(str(data["name"]), str(data["type"]), kinds, tuple(map(str, data["list"])))
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"not a MISP warninglist ({exc})", location=source) from None


class Warninglists:
    """Compiled lists; ``check(kind, value)`` names the lists that contain the value."""

    def __init__(self, lists: Iterable[WarningList] = ()) -> None:
        self.lists: list[WarningList] = []
        self._exact: dict[str, dict[str, set[str]]] = {k: {} for k in _ATTRS}
        self._hosts: dict[str, set[str]] = {}
        self._cidrs: CidrTable[str] = CidrTable()
        self._needles: dict[str, dict[str, set[str]]] = {}
        self._substr: dict[str, ahocorasick.Automaton] = {}
        self._regex: dict[str, list[tuple[re.Pattern[str], str]]] = {k: [] for k in _ATTRS}
        for wl in lists:
            self.add(wl)

    def __len__(self) -> int:
        return len(self.lists)

    @classmethod
    def builtin(cls) -> Warninglists:
        return cls(WarningList(n, t, frozenset(k), tuple(v)) for n, t, k, v in BUILTIN)

    @classmethod
    def load(cls, path: Path, *, with_builtin: bool = True) -> Warninglists:
        wls = cls.builtin() if with_builtin else cls()
        files = sorted(path.glob("*/list.json")) + sorted(path.glob("*.json"))
        if path.is_file():
            files = [path]
        if not files:
            raise ValidationError("no MISP warninglists (*.json) found", location=str(path))
        for f in files:
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValidationError(f"cannot read warninglist: {exc}", location=str(f)) from None
            wls.add(WarningList.from_misp(data, source=str(f)))
        return wls

    def add(self, wl: WarningList) -> None:
        self.lists.append(wl)
        for kind in wl.kinds:
            for raw in wl.values:
                value = raw.strip()
                if not value:
                    continue
                if wl.type == "cidr":
                    if kind == "ip":
                        try:
                            self._cidrs.add(value, wl.name)
                        except ValueError:
                            continue
                elif wl.type == "hostname" and kind in ("domain", "url"):
                    self._hosts.setdefault(normalise_domain(value), set()).add(wl.name)
                elif wl.type == "substring":
                    self._needles.setdefault(kind, {}).setdefault(value.lower(), set()).add(wl.name)
                elif wl.type == "regex":
                    try:
                        self._regex[kind].append((re.compile(value), wl.name))
                    except re.error:
                        continue
                else:
                    key = normalise_domain(value) if kind == "domain" else value.lower()
                    self._exact[kind].setdefault(key, set()).add(wl.name)
        self._substr.clear()  # rebuilt on the next check

    def _automaton(self, kind: str) -> ahocorasick.Automaton | None:
        needles = self._needles.get(kind)
        if not needles:
            return None
        auto = self._substr.get(kind)
        if auto is None:
            auto = ahocorasick.Automaton()
            for needle, names in needles.items():
                auto.add_word(needle, tuple(sorted(names)))
            auto.make_automaton()
            self._substr[kind] = auto
        return auto

    def check(self, kind: str, value: str) -> list[str]:
        """Names of the warninglists that contain ``value`` (a normalised observable)."""
        found: set[str] = set()
        v = value.lower()
        found |= self._exact.get(kind, {}).get(v, set())
        if kind in ("domain", "url"):
            host = v if kind == "domain" else url_host(v)
            if kind == "url":
                found |= self._exact["domain"].get(host, set())
            h = host
            while h:
                found |= self._hosts.get(h, set())
                dot = h.find(".")
                h = h[dot + 1 :] if dot >= 0 else ""
        if kind == "ip":
            key = ip_key(v.split("/")[0])
            if key is not None:
                found |= {name for _, name in self._cidrs.lookup(*key)}
        auto = self._automaton(kind)
        if auto is not None:
            for _, names in auto.iter(v):
                found |= set(names)
        for rx, name in self._regex.get(kind, ()):
            if rx.search(value):
                found.add(name)
        return sorted(found)
