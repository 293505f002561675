"""Field mapping as data: how a raw record becomes the fields and log source Sigma rules expect.

The tables live in ``mapping.yaml`` beside this module (Windows channels and event ids per Sigma
log source, JSON dialects, syslog programs, derived fields). ``LogMapping`` reads them once;
``LogRecord`` is the normalised record every parser produces and the Sigma engine consumes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from portguard.core.errors import ConfigError

__all__ = ["LogMapping", "LogRecord", "LogSource", "flatten"]


@dataclass(frozen=True, slots=True)
class LogSource:
    """Which Sigma log sources a record belongs to. ``product`` None means unknown: the record
    meets every rule (the way a SIEM without log-source conditions would treat it)."""

    product: str | None = None
    categories: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()


@dataclass(slots=True)
class LogRecord:
    """One normalised log record: Sigma field names to values, plus where it came from."""

    fields: dict[str, Any]
    logsource: LogSource
    time: datetime | None = None
    #: File path, ``udp:host:port`` or ``tcp:host:port``.
    source: str = "-"
    #: Where in the source: ``line 12``, ``record 4711``, ``offset 4096``.
    position: str = "-"
    #: Set once the record becomes a core Event (evidence of an alert).
    event_id: str | None = field(default=None)


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted paths; lists of scalars stay lists."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


@dataclass(frozen=True, slots=True)
class _WinSource:
    categories: frozenset[str]
    services: frozenset[str]
    aliases: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class JsonProfile:
    name: str
    detect: str
    strip: tuple[str, ...]
    fields: dict[str, str]
    time: tuple[str, ...]
    product: str | None
    #: Field names without their spaces ("Threat Name" -> ThreatName), as Sigma rules write them.
    drop_spaces: bool = False


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace(" ", "T", 1) if "T" not in value else value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class LogMapping:
    """The mapping tables, indexed for lookups on the hot path."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        try:
            win = data.get("windows", {})
            by_channel: dict[str, set[str]] = {}
            for service, channels in win.get("services", {}).items():
                for channel in channels:
                    by_channel.setdefault(channel, set()).add(service)
            self._services_by_channel = {k: frozenset(v) for k, v in by_channel.items()}
            cats: dict[tuple[str, int], tuple[set[str], dict[str, str]]] = {}
            for category, sources in win.get("categories", {}).items():
                for src in sources:
                    for eid in src["event_ids"]:
                        entry = cats.setdefault((src["channel"], int(eid)), (set(), {}))
                        entry[0].add(category)
                        entry[1].update(src.get("aliases", {}))
            self._win_cats = cats
            self.profiles = [
                JsonProfile(
                    name=p["name"],
                    detect=p.get("detect", ""),
                    strip=tuple(p.get("strip", [])),
                    fields=dict(p.get("fields", {})),
                    time=tuple(p["time"]) if isinstance(p.get("time"), list) else (p["time"],),
                    product=p.get("product"),
                    drop_spaces=bool(p.get("drop_spaces", False)),
                )
                for p in data.get("json", {}).get("profiles", [])
            ]
            sys_ = data.get("syslog", {})
            self.syslog_default = dict(sys_.get("default", {}))
            self.syslog_apps: dict[str, dict[str, str]] = dict(sys_.get("apps", {}))
            self.kv_products: dict[str, dict[str, str]] = dict(sys_.get("kv_products", {}))
            enrich = data.get("enrich", {})
            self.tz = ZoneInfo(enrich.get("timezone", "UTC"))
            self.local_hour: str | None = enrich.get("local_hour")
            self.local_weekday: str | None = enrich.get("local_weekday")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"log mapping is malformed: {type(exc).__name__}: {exc}") from exc
        self._win_cache: dict[tuple[str, Any], _WinSource] = {}

    @classmethod
    @functools.cache
    def default(cls) -> LogMapping:
        text = resources.files("portguard.logs").joinpath("mapping.yaml").read_text("utf-8")
        return cls(yaml.safe_load(text))

    @classmethod
    def load(cls, path: Path) -> LogMapping:
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read log mapping {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"log mapping {path} is not a mapping")
        return cls(data)

    # -- Windows ---------------------------------------------------------------------------

    def _win(self, channel: str, event_id: Any) -> _WinSource:
        key = (channel, event_id)
        hit = self._win_cache.get(key)
        if hit is None:
            try:
                eid = int(event_id)
            except (TypeError, ValueError):
                eid = -1
            cats, aliases = self._win_cats.get((channel, eid), (set(), {}))
            hit = _WinSource(
                frozenset(cats),
                self._services_by_channel.get(channel, frozenset()),
                tuple(aliases.items()),
            )
            if len(self._win_cache) < 10_000:
                self._win_cache[key] = hit
        return hit

    def windows_record(self, fields: dict[str, Any]) -> LogSource:
        """The log source of a Windows event (by Channel and EventID); adds field aliases."""
        src = self._win(str(fields.get("Channel", "")), fields.get("EventID"))
        for alias, original in src.aliases:
            if alias not in fields and original in fields:
                fields[alias] = fields[original]
        return LogSource("windows", src.categories, src.services)

    # -- JSON ------------------------------------------------------------------------------

    def from_json(
        self, obj: Mapping[str, Any], default: LogSource | None = None
    ) -> tuple[dict[str, Any], LogSource, datetime | None]:
        """Fields, log source and time of a decoded JSON record (EVTX JSON, Winlogbeat, ECS or
        plain), per the first profile that applies."""
        flat = flatten(obj)
        profile = next(
            (
                p
                for p in self.profiles
                if not p.detect or any(k == p.detect or k.startswith(p.detect + ".") for k in flat)
            ),
            None,
        )
        if profile is None:
            return flat, default or LogSource(), None
        fields: dict[str, Any] = {}
        for path, value in flat.items():
            name = profile.fields.get(path)
            if name is None:
                name = path
                for prefix in profile.strip:
                    if path.startswith(prefix):
                        name = path[len(prefix) :]
                        parts = [p for p in name.split(".") if not p.startswith("#")]
                        name = parts[-1] if parts else name
                        break
                if profile.drop_spaces and " " in name:
                    name = name.replace(" ", "")
            fields.setdefault(name, value)
        when = next((_parse_time(fields.get(t)) for t in profile.time if t in fields), None)
        if profile.product == "windows" or ("Channel" in fields and "EventID" in fields):
            return fields, self.windows_record(fields), when
        return fields, default or LogSource(profile.product), when

    # -- syslog ----------------------------------------------------------------------------

    def syslog_source(self, app: str | None, kv: Mapping[str, str]) -> LogSource:
        for key, src in self.kv_products.items():
            if key in kv:
                return _logsource(src)
        if app:
            found = self.syslog_apps.get(app) or self.syslog_apps.get(app.lower())
            if found:
                return _logsource(found)
        return _logsource(self.syslog_default)

    # -- derived fields ----------------------------------------------------------------------

    def enrich(self, fields: dict[str, Any], when: datetime | None) -> None:
        if when is None:
            return
        local = when.astimezone(self.tz)
        if self.local_hour:
            fields.setdefault(self.local_hour, local.hour)
        if self.local_weekday:
            fields.setdefault(self.local_weekday, local.isoweekday())


def _logsource(src: Mapping[str, str]) -> LogSource:
    cat, svc = src.get("category"), src.get("service")
    return LogSource(
        src.get("product"),
        frozenset([cat]) if cat else frozenset(),
        frozenset([svc]) if svc else frozenset(),
    )
