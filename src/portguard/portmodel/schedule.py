"""Operating hours and planned windows (maintenance, shifts) of the port's assets and people.

Access control (badge hours, maintenance access) and critical infrastructure (operating schedules,
maintenance windows, operator shifts) read the same shapes, so they live in the port model.

``Hours.parse`` reads local-time day schedules::

    "always"                          every hour of every day
    "06:00-22:00"                     every day, 06:00 to 22:00 local time
    "mon-fri 07:00-18:00"             weekdays only
    "mon-fri 06:00-22:00; sat 08:00-12:00"
    "22:00-06:00"                     overnight: from 22:00 to 06:00 the next morning

Times are local to ``tz`` (Europe/Brussels by default): a schedule keeps its meaning across the
change to and from summer time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from portguard.core.clock import ensure_utc
from portguard.core.errors import ValidationError

__all__ = ["DEFAULT_TZ", "Hours", "PlannedWindow"]

DEFAULT_TZ: Final = "Europe/Brussels"
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _days(text: str, where: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip().lower()
        a, _, b = part.partition("-")
        if a not in _DAYS or (b and b not in _DAYS):
            raise ValidationError(f"unknown day(s) {part!r}; use mon..sun", location=where)
        i, j = _DAYS.index(a), _DAYS.index(b or a)
        k = i
        while True:
            out.add(k)
            if k == j:
                break
            k = (k + 1) % 7
    return frozenset(out)


def _clock(h: str, m: str, where: str) -> time:
    hh, mm = int(h), int(m)
    if hh == 24 and mm == 0:
        return time.max
    if not (0 <= hh < 24 and 0 <= mm < 60):
        raise ValidationError(f"not a time of day: {h}:{m}", location=where)
    return time(hh, mm)


@dataclass(frozen=True, slots=True)
class Hours:
    """Weekly local-time schedule: ``(days, start, end)`` spans; ``always`` if none given."""

    spans: tuple[tuple[frozenset[int], time, time], ...] = ()
    always: bool = True
    tz: str = DEFAULT_TZ
    text: str = "always"

    @classmethod
    def parse(cls, text: str | None, *, tz: str = DEFAULT_TZ, where: str = "hours") -> Hours:
        if text is None or text.strip().lower() in ("", "always", "24h", "24/7"):
            return cls(tz=tz)
        spans: list[tuple[frozenset[int], time, time]] = []
        for chunk in text.split(";"):
            chunk = chunk.strip()
            if not chunk:
                continue
            days_text, _, span = chunk.rpartition(" ")
            days = _days(days_text, where) if days_text.strip() else frozenset(range(7))
            for piece in span.split(","):
                m = _SPAN_RE.match(piece.strip())
                if not m:
                    raise ValidationError(
                        f"{piece!r} is not like 06:00-22:00 (optionally after days, "
                        "e.g. mon-fri 06:00-22:00)",
                        location=where,
                    )
                spans.append((days, _clock(m[1], m[2], where), _clock(m[3], m[4], where)))
        try:
            ZoneInfo(tz)
        except (KeyError, ValueError):
            raise ValidationError(f"unknown time zone {tz!r}", location=where) from None
        return cls(spans=tuple(spans), always=False, tz=tz, text=text.strip())

    def contains(self, at: datetime) -> bool:
        """Whether the instant ``at`` falls inside the schedule (in local time)."""
        if self.always:
            return True
        local = ensure_utc(at).astimezone(ZoneInfo(self.tz))
        day, now = local.weekday(), local.time().replace(tzinfo=None)
        for days, start, end in self.spans:
            if start <= end:
                if day in days and start <= now < end:
                    return True
            else:  # overnight: the evening part today, the morning part belongs to yesterday
                if day in days and now >= start:
                    return True
                if (day - 1) % 7 in days and now < end:
                    return True
        return False

    def __str__(self) -> str:
        return self.text


def _when(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return ensure_utc(value)
    try:
        return ensure_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        raise ValidationError(f"not an ISO-8601 time: {value!r}", location=where) from None


@dataclass(frozen=True, slots=True)
class PlannedWindow:
    """A planned period at some places for some people: a maintenance window, a shift.

    Empty ``places`` means everywhere; empty ``organisations``/``accounts``/``persons``/
    ``badges`` means for anyone."""

    start: datetime
    end: datetime
    places: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    persons: frozenset[str] = frozenset()
    badges: frozenset[str] = frozenset()
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, where: str = "window") -> PlannedWindow:
        if not isinstance(raw, Mapping):
            raise ValidationError("a window must be a mapping", location=where)
        known = {
            "start",
            "end",
            "places",
            "organisations",
            "accounts",
            "persons",
            "badges",
            "note",
        }
        unknown = set(raw) - known
        if unknown:
            raise ValidationError(
                f"unknown field(s) {sorted(unknown)}; use {', '.join(sorted(known))}",
                location=where,
            )
        if "start" not in raw or "end" not in raw:
            raise ValidationError("start and end are required", location=where)
        start, end = _when(raw["start"], f"{where}.start"), _when(raw["end"], f"{where}.end")
        if end <= start:
            raise ValidationError("end must be after start", location=where)

        def ids(key: str) -> frozenset[str]:
            v = raw.get(key) or []
            if isinstance(v, str):
                v = [v]
            return frozenset(str(x) for x in v)

        return cls(
            start=start,
            end=end,
            places=ids("places"),
            organisations=ids("organisations"),
            accounts=ids("accounts"),
            persons=ids("persons"),
            badges=ids("badges"),
            note=str(raw.get("note", "")),
        )

    def covers(
        self,
        at: datetime,
        *,
        places: Iterable[str] = (),
        organisation: str | None = None,
        account: str | None = None,
        person: str | None = None,
        badge: str | None = None,
        slack: timedelta = timedelta(0),
    ) -> bool:
        """Whether ``at`` (± ``slack``) is in the window, at one of ``places``, for this party."""
        if not (self.start - slack <= ensure_utc(at) < self.end + slack):
            return False
        if self.places and not (self.places & set(places)):
            return False
        who = (
            (self.organisations, organisation),
            (self.accounts, account),
            (self.persons, person),
            (self.badges, badge),
        )
        restricted = [(allowed, value) for allowed, value in who if allowed]
        if not restricted:
            return True
        return any(value is not None and value in allowed for allowed, value in restricted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "places": sorted(self.places),
            "organisations": sorted(self.organisations),
            "accounts": sorted(self.accounts),
            "persons": sorted(self.persons),
            "badges": sorted(self.badges),
            "note": self.note,
        }
