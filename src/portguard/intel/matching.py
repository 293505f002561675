"""Pure building blocks of indicator matching: observable normalisation, CIDR tables, and the
compiler from simple STIX patterns to (kind, operator, value) terms.

No I/O, no database, no web framework: ``index`` and ``warninglists`` build on this.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "KINDS",
    "CidrTable",
    "Term",
    "compile_pattern",
    "ip_key",
    "like_to_regex",
    "normalise",
    "normalise_domain",
    "normalise_url",
    "quote",
]

#: Observable kinds the index knows.
KINDS = ("domain", "ip", "url", "hash", "email")

T = TypeVar("T")


def normalise_domain(value: str) -> str:
    v = value.strip().lower().rstrip(".")
    if not v.isascii():
        with contextlib.suppress(UnicodeError):
            v = v.encode("idna").decode("ascii")
    return v


_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def normalise_url(value: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, ``/`` for an empty path."""
    v = value.strip()
    if "://" not in v:
        v = "http://" + v
    try:
        parts = urlsplit(v)
        host = normalise_domain(parts.hostname or "")
        port = parts.port
    except ValueError:
        return v.lower()
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc += f":{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}:{parts.password or ''}@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def url_host(url: str) -> str:
    try:
        return normalise_domain(urlsplit(url if "://" in url else "http://" + url).hostname or "")
    except ValueError:
        return ""


def normalise(kind: str, value: str) -> str:
    if kind == "domain":
        return normalise_domain(value)
    if kind == "url":
        return normalise_url(value)
    if kind == "ip":
        return str(ipaddress.ip_network(value.strip(), strict=False)).removesuffix(
            "/32" if ":" not in value else "/128"
        )
    return value.strip().lower()


def ip_key(value: str) -> tuple[int, int] | None:
    """(version, integer) of an IP address string, None when it is not one."""
    if ":" not in value:
        try:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, value), "big")
        except OSError:
            return None
    try:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, value), "big")
    except OSError:
        return None


class CidrTable(Generic[T]):
    """Networks bucketed by prefix length: a lookup masks the address once per length present
    (at most 33 for IPv4), so overlapping networks all match and cost stays flat in size."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[int, int], dict[int, list[T]]] = {}
        self._lengths: dict[int, list[int]] | None = None

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())

    def add(self, network: str, item: T) -> None:
        net = ipaddress.ip_network(network.strip(), strict=False)
        key = (net.version, net.prefixlen)
        self._buckets.setdefault(key, {}).setdefault(int(net.network_address), []).append(item)
        self._lengths = None

    def discard(self, network: str, item: T) -> None:
        net = ipaddress.ip_network(network.strip(), strict=False)
        bucket = self._buckets.get((net.version, net.prefixlen))
        if bucket is None:
            return
        items = bucket.get(int(net.network_address))
        if items and item in items:
            items.remove(item)
            if not items:
                del bucket[int(net.network_address)]

    def _order(self) -> dict[int, list[int]]:
        self._lengths = {
            4: sorted((pl for v, pl in self._buckets if v == 4), reverse=True),
            6: sorted((pl for v, pl in self._buckets if v == 6), reverse=True),
        }
        return self._lengths

    def lookup(self, version: int, address: int) -> Iterator[tuple[int, T]]:
        """(prefix length, item) of every network containing the address, longest first."""
        bits = 32 if version == 4 else 128
        lengths = self._lengths if self._lengths is not None else self._order()
        for pl in lengths.get(version, ()):
            bucket = self._buckets[(version, pl)]
            hit = bucket.get(address >> (bits - pl) << (bits - pl))
            if hit:
                for item in hit:
                    yield pl, item

    def contains(self, value: str) -> bool:
        key = ip_key(value.split("/")[0])
        return key is not None and next(self.lookup(*key), None) is not None


@dataclass(frozen=True, slots=True)
class Term:
    """One comparison of a simple pattern: ``kind`` is an index kind (or ``substring:<kind>``),
    ``value`` the normalised literal."""

    kind: str
    value: str


_STRING = r"'((?:[^'\\]|\\.)*)'"
_COMPARISON = re.compile(
    r"\s*([a-z0-9-]+):([A-Za-z0-9_.\-]+(?:\.'[^']+')?)\s*(=|ISSUBSET|LIKE)\s*" + _STRING + r"\s*"
)
_SIMPLE = re.compile(r"^\[(domain-name|url|email-addr|ipv4-addr|ipv6-addr):value = '([^'\\]*)'\]$")
_HASH_PATH = re.compile(r"^hashes\.(?:'([^']+)'|([A-Za-z0-9-]+))$")
_HASHES = {"MD5", "SHA-1", "SHA-256", "SHA-512", "SHA1", "SHA256", "SHA512", "SHA3-256"}


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def quote(value: str) -> str:
    """A STIX pattern string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _term(obj: str, path: str, op: str, raw: str) -> Term | None:
    value = _unescape(raw)
    if op == "LIKE":
        kind = {"domain-name": "domain", "url": "url", "email-addr": "email"}.get(obj)
        if kind is None or path != "value" or "_" in value:
            return None
        return Term("substring:" + kind, value.lower())
    if obj in ("domain-name", "url", "email-addr") and path == "value" and op == "=":
        kind = {"domain-name": "domain", "url": "url", "email-addr": "email"}[obj]
        return Term(kind, normalise(kind, value))
    if obj in ("ipv4-addr", "ipv6-addr") and path == "value":
        try:
            net = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            return None
        if net.num_addresses == 1:
            return Term("ip", str(net.network_address))
        return Term("cidr", str(net))
    if obj == "file" and op == "=":
        m = _HASH_PATH.match(path)
        if m and (m.group(1) or m.group(2) or "").upper() in _HASHES:
            return Term("hash", value.strip().lower())
    return None


def compile_pattern(pattern: str) -> list[Term] | None:
    """The terms of a *simple* pattern: observations and comparisons joined only by ``OR``, each
    an equality (or ISSUBSET, or LIKE) on a kind the index knows. None means compound: the
    caller evaluates it with stix2-matcher."""
    s = pattern.strip()
    fast = _SIMPLE.match(s)
    if fast is not None and "\\" not in s:
        term = _term(fast.group(1), "value", "=", fast.group(2))
        return [term] if term is not None else None
    terms: list[Term] = []
    pos = 0
    expect_open = True
    while pos < len(s):
        if expect_open:
            if s[pos] != "[":
                return None
            pos += 1
            expect_open = False
        m = _COMPARISON.match(s, pos)
        if not m:
            return None
        term = _term(m.group(1), m.group(2), m.group(3), m.group(4))
        if term is None:
            return None
        terms.append(term)
        pos = m.end()
        if s.startswith("OR", pos):
            pos += 2
            continue
        if pos < len(s) and s[pos] == "]":
            pos += 1
            while pos < len(s) and s[pos].isspace():
                pos += 1
            if pos == len(s):
                break
            if not s.startswith("OR", pos):
                return None
            pos += 2
            while pos < len(s) and s[pos].isspace():
                pos += 1
            expect_open = True
            continue
        return None
    return terms or None


def like_to_regex(like: str) -> re.Pattern[str]:
    parts = like.split("%")
    return re.compile("^" + ".*".join(re.escape(p) for p in parts) + "$", re.DOTALL)


def longest_literal(like: str) -> str:
    return max(like.split("%"), key=len)
