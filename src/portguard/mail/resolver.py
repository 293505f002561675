"""DNS for the authentication analyser: offline (``NullResolver``), fixed answers for tests
(``StaticResolver``), or real DNS through dnspython (``DnsResolver``, short timeouts, cached)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

__all__ = ["DnsResolver", "NullResolver", "StaticResolver"]


class NullResolver:
    """Offline: every name has no records."""

    def txt(self, name: str) -> list[str]:
        return []

    def a(self, name: str) -> list[str]:
        return []

    def mx(self, name: str) -> list[str]:
        return []


class StaticResolver:
    """Answers from a table: ``{("txt", "example.com"): ["v=spf1 -all"], ...}``."""

    def __init__(self, records: Mapping[tuple[str, str], Sequence[str]]) -> None:
        self.records = {
            (k.lower(), n.lower().rstrip(".")): list(v) for (k, n), v in records.items()
        }

    def _get(self, kind: str, name: str) -> list[str]:
        return list(self.records.get((kind, name.lower().rstrip(".")), []))

    def txt(self, name: str) -> list[str]:
        return self._get("txt", name)

    def a(self, name: str) -> list[str]:
        return self._get("a", name)

    def mx(self, name: str) -> list[str]:
        return self._get("mx", name)


class DnsResolver:
    """Real DNS (dnspython) with a timeout and a small TTL cache; failures answer nothing."""

    def __init__(self, timeout_s: float = 2.0, cache_s: float = 300.0) -> None:
        import dns.resolver

        self._r = dns.resolver.Resolver()
        self._r.lifetime = timeout_s
        self._cache: dict[tuple[str, str], tuple[float, list[str]]] = {}
        self._cache_s = cache_s
        self._lock = threading.Lock()

    def _query(self, kind: str, name: str) -> list[str]:
        key = (kind, name.lower())
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
        try:
            answer = self._r.resolve(name, kind.upper())
            if kind == "txt":
                out = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
            elif kind == "mx":
                out = [str(r.exchange).rstrip(".") for r in answer]
            else:
                out = [r.to_text() for r in answer]
        except Exception:
            out = []
        with self._lock:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = (now + self._cache_s, out)
        return out

    def txt(self, name: str) -> list[str]:
        return self._query("txt", name)

    def a(self, name: str) -> list[str]:
        return self._query("a", name) + self._query("aaaa", name)

    def mx(self, name: str) -> list[str]:
        return self._query("mx", name)
