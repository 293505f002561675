"""Access detectors: access Events + explicit state → Findings. Pure: no I/O, no clock.

Every detector is configurable per facility and per ISPS level (``AccessConfig.get``). Each runs
in isolation: one that raises is counted and logged, the others carry on. ``AccessState`` holds
everything they remember (last read per badge, who is inside, recent grants and denials per
reader) and can be snapshotted and restored, so a worker can be restarted or partitioned by
badge.

Rule ids (``access.<rule>``)::

    badge.unknown  badge.revoked  badge.expired  badge.beyond_clearance  badge.out_of_hours
    badge.impossible_travel  badge.antipassback  badge.probing
    door.tailgating  door.forced  door.held_open
    level.closed_access_point  level.escort_required  level.responders_only
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from portguard.access.config import AccessConfig
from portguard.access.credentials import Credential
from portguard.access.readers import ReaderInfo, Readers, distance_m
from portguard.core.types import Event

__all__ = ["RULE_IDS", "AccessDetectors", "AccessState", "Finding"]

log = logging.getLogger(__name__)

RULE_IDS: Final = {
    "unknown_badge": "access.badge.unknown",
    "revoked_badge": "access.badge.revoked",
    "expired_badge": "access.badge.expired",
    "beyond_clearance": "access.badge.beyond_clearance",
    "out_of_hours": "access.badge.out_of_hours",
    "impossible_travel": "access.badge.impossible_travel",
    "antipassback": "access.badge.antipassback",
    "probing": "access.badge.probing",
    "tailgating": "access.door.tailgating",
    "forced_door": "access.door.forced",
    "held_open": "access.door.held_open",
    "closed_access_point": "access.level.closed_access_point",
    "escort_required": "access.level.escort_required",
    "responders_only": "access.level.responders_only",
}
_SEVERITIES: Final = ("info", "low", "medium", "high", "critical")
_SEEN_IDS: Final = 200_000


@dataclass(frozen=True, slots=True)
class Finding:
    detector: str
    severity: str
    title: str
    why: str
    at: datetime
    reader: ReaderInfo
    level: int
    badge: str | None = None
    credential: Credential | None = None
    evidence: tuple[str, ...] = ()
    #: Identifies the episode: the same episode seen again gives the same fingerprint.
    episode: str = ""
    badges: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rule_id(self) -> str:
        return RULE_IDS[self.detector]


@dataclass
class AccessState:
    """What the detectors remember. Plain data: ``snapshot()``/``restore()`` round-trip it."""

    #: badge -> (reader id, time, event id) of its last granted read.
    last_read: dict[str, tuple[str, datetime, str]] = field(default_factory=dict)
    #: (badge, facility or reader) -> time of the entry not yet followed by an exit.
    inside: dict[tuple[str, str], datetime] = field(default_factory=dict)
    #: reader -> times of recent granted reads (tailgating).
    grants: dict[str, deque[datetime]] = field(default_factory=dict)
    #: reader -> (time, badge, event id) of recent denials (probing).
    denials: dict[str, deque[tuple[datetime, str, str]]] = field(default_factory=dict)
    #: reader -> time the current probing episode started (one alert per episode).
    probing_since: dict[str, datetime] = field(default_factory=dict)
    #: Recent event ids, to count duplicates that reach the detectors twice.
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def snapshot(self) -> dict[str, Any]:
        return {
            "last_read": {b: [r, t.isoformat(), e] for b, (r, t, e) in self.last_read.items()},
            "inside": [[b, p, t.isoformat()] for (b, p), t in self.inside.items()],
            "grants": {r: [t.isoformat() for t in q] for r, q in self.grants.items()},
            "denials": {
                r: [[t.isoformat(), b, e] for t, b, e in q] for r, q in self.denials.items()
            },
            "probing_since": {r: t.isoformat() for r, t in self.probing_since.items()},
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> AccessState:
        t = datetime.fromisoformat
        return cls(
            last_read={b: (r, t(ts), e) for b, (r, ts, e) in data.get("last_read", {}).items()},
            inside={(b, p): t(ts) for b, p, ts in data.get("inside", [])},
            grants={r: deque(t(x) for x in q) for r, q in data.get("grants", {}).items()},
            denials={
                r: deque((t(ts), b, e) for ts, b, e in q)
                for r, q in data.get("denials", {}).items()
            },
            probing_since={r: t(ts) for r, ts in data.get("probing_since", {}).items()},
        )


def _sev(value: Any, shift: int = 0) -> str:
    i = _SEVERITIES.index(str(value).lower()) + shift
    return _SEVERITIES[max(0, min(len(_SEVERITIES) - 1, i))]


def _hour(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H")


class AccessDetectors:
    """Runs every enabled detector on each access Event. Not thread-safe: one consumer feeds
    it (the service holds a lock for readers)."""

    def __init__(
        self,
        config: AccessConfig,
        readers: Readers,
        credentials: Mapping[str, Credential],
        *,
        levels: Mapping[str, int] | None = None,
        state: AccessState | None = None,
    ) -> None:
        self.config = config
        self.readers = readers
        self.credentials = credentials
        self.levels: dict[str, int] = dict(levels or {})
        self.state = state or AccessState()
        self.errors: Counter[str] = Counter()
        self.findings: Counter[str] = Counter()
        self.duplicates = 0
        self.events = 0
        self.ignored = 0
        enabled = set(config.enabled)
        badge_checks: list[tuple[str, Callable[..., Finding | None]]] = [
            ("unknown_badge", self._unknown),
            ("revoked_badge", self._revoked),
            ("expired_badge", self._expired),
            ("beyond_clearance", self._clearance),
            ("out_of_hours", self._hours),
            ("closed_access_point", self._closed_point),
            ("escort_required", self._escort),
            ("responders_only", self._responders),
            ("impossible_travel", self._travel),
            ("antipassback", self._antipassback),
            ("probing", self._probing),
        ]
        self._badge_checks = [(n, f) for n, f in badge_checks if n in enabled]
        self._enabled = enabled

    def level_at(self, reader: ReaderInfo) -> int:
        if reader.facility is None:
            return 1
        return self.levels.get(reader.facility, 1)

    def _p(self, det: str, key: str, reader: ReaderInfo, level: int) -> Any:
        return self.config.get(det, key, places=reader.places, level=level)

    def _finding(
        self,
        det: str,
        ev: Event,
        reader: ReaderInfo,
        level: int,
        title: str,
        why: str,
        *,
        shift: int = 0,
        episode: str | None = None,
        cred: Credential | None = None,
        evidence: tuple[str, ...] | None = None,
        badges: tuple[str, ...] = (),
        **attrs: Any,
    ) -> Finding:
        badge = ev.attributes.get("badge")
        return Finding(
            detector=det,
            severity=_sev(self._p(det, "severity", reader, level), shift),
            title=title,
            why=why,
            at=ev.observed_at,
            reader=reader,
            level=level,
            badge=badge,
            credential=cred,
            evidence=evidence if evidence is not None else (ev.id,),
            episode=episode if episode is not None else f"{badge or ''}|{_hour(ev.observed_at)}",
            badges=badges,
            attributes=attrs,
        )

    # -- entry -----------------------------------------------------------------------------

    def process(self, ev: Event) -> list[Finding]:
        """The findings of one access Event (other domains' events are ignored)."""
        if not ev.kind.startswith("access."):
            self.ignored += 1
            return []
        st = self.state
        if ev.id in st.seen:
            self.duplicates += 1
            return []
        st.seen[ev.id] = None
        if len(st.seen) > _SEEN_IDS:
            st.seen.popitem(last=False)
        self.events += 1
        reader = self.readers.get(str(ev.attributes.get("reader", "")))
        if reader is None:
            self.ignored += 1
            return []
        level = self.level_at(reader)
        out: list[Finding] = []
        kind = ev.kind[len("access.") :]
        if kind == "badge":
            badge = str(ev.attributes.get("badge", ""))
            cred = self.credentials.get(badge)
            granted = ev.attributes.get("result", "granted") == "granted"
            for name, check in self._badge_checks:
                self._run(name, check, out, ev, reader, level, badge, cred, granted)
            if granted:
                q = st.grants.setdefault(reader.id, deque(maxlen=64))
                q.append(ev.observed_at)
        elif kind in ("door_open", "person_count"):
            if "tailgating" in self._enabled:
                self._run("tailgating", self._tailgating, out, ev, reader, level)
        elif kind == "door_forced":
            if "forced_door" in self._enabled:
                out.append(
                    self._finding(
                        "forced_door",
                        ev,
                        reader,
                        level,
                        f"Door forced open at {reader.name}",
                        f"The controller reported the door at {reader.name} opened without "
                        "a badge or exit request (forced).",
                        episode=f"forced|{ev.id}",
                    )
                )
        elif kind == "door_held" and "held_open" in self._enabled:
            self._run("held_open", self._held, out, ev, reader, level)
        for f in out:
            self.findings[f.detector] += 1
        return out

    def _run(self, name: str, check: Callable[..., Any], out: list[Finding], *args: Any) -> None:
        try:
            f = check(*args)
        except Exception:  # isolation: one broken detector never stops the others
            self.errors[name] += 1
            log.exception("access detector %s failed", name)
            return
        if f is not None:
            out.append(f)

    # -- badge detectors ---------------------------------------------------------------------

    def _unknown(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if cred is not None:
            return None
        verb = "opened" if ok else "was refused at"
        return self._finding(
            "unknown_badge",
            ev,
            r,
            lv,
            f"Unknown badge {badge} at {r.name}",
            f"Badge {badge} is not a known credential and {verb} {r.name}"
            + (" (the controller let it through: its list is out of step)" if ok else "."),
            shift=0 if ok else -1,
        )

    def _revoked(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if cred is None or not cred.revoked:
            return None
        return self._finding(
            "revoked_badge",
            ev,
            r,
            lv,
            f"Revoked badge {badge} used at {r.name}",
            f"Badge {badge} of {cred.holder or 'unknown holder'} is revoked and was "
            + ("accepted" if ok else "refused")
            + f" at {r.name}.",
            shift=0 if ok else -1,
            cred=cred,
        )

    def _expired(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if cred is None or cred.revoked or not ok or cred.valid_at(ev.observed_at):
            return None
        return self._finding(
            "expired_badge",
            ev,
            r,
            lv,
            f"Expired badge {badge} used at {r.name}",
            f"Badge {badge} is valid from {cred.valid_from} until {cred.valid_until}; it "
            f"opened {r.name} at {ev.observed_at.isoformat()}.",
            cred=cred,
        )

    def _clearance(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if cred is None or cred.revoked or not ok or cred.cleared_for(r.places):
            return None
        return self._finding(
            "beyond_clearance",
            ev,
            r,
            lv,
            f"Badge used beyond clearance at {r.name}",
            f"Badge {badge} ({cred.holder or 'unknown holder'}) has no clearance for "
            f"{', '.join(r.places)}; cleared for "
            f"{', '.join(sorted(cred.clearances)) or 'nothing'}.",
            cred=cred,
        )

    def _in_maintenance(self, ev: Event, r: ReaderInfo, cred: Credential) -> bool:
        return any(
            w.covers(
                ev.observed_at,
                places=r.places,
                organisation=cred.organisation,
                person=cred.person_id,
                badge=cred.badge,
            )
            for w in self.config.maintenance
        )

    def _hours(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if cred is None or cred.revoked or not ok:
            return None
        facility_hours = self.config.hours(str(self._p("out_of_hours", "hours", r, lv)))
        own = self.config.hours(cred.hours) if cred.hours else None
        inside = facility_hours.contains(ev.observed_at) and (
            own is None or own.contains(ev.observed_at)
        )
        if inside or self._in_maintenance(ev, r, cred):
            return None
        allowed = [f"facility at level {lv}: {facility_hours}"]
        if own is not None:
            allowed.append(f"badge: {own}")
        return self._finding(
            "out_of_hours",
            ev,
            r,
            lv,
            f"Badge used out of its allowed hours at {r.name}",
            f"Badge {badge} ({cred.holder or 'unknown holder'}) opened {r.name} at "
            f"{ev.observed_at.isoformat()}, outside the allowed hours ({'; '.join(allowed)}) "
            "and outside any planned maintenance window.",
            cred=cred,
        )

    def _closed_point(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if r.closed_at_level is None or lv < r.closed_at_level:
            return None
        return self._finding(
            "closed_access_point",
            ev,
            r,
            lv,
            f"Badge used at an access point closed at ISPS level {lv}: {r.name}",
            f"{r.name} closes from ISPS level {r.closed_at_level}; the facility is at level "
            f"{lv}, and badge {badge} was presented there "
            + ("and accepted (the controller was not reconfigured)." if ok else "."),
            cred=cred,
        )

    def _escort(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if lv < 2 or cred is None or not cred.visitor or not ok or ev.attributes.get("escort"):
            return None
        return self._finding(
            "escort_required",
            ev,
            r,
            lv,
            f"Visitor without escort at {r.name} (ISPS level {lv})",
            f"Visitor badge {badge} entered {r.name} with no escort badge; from ISPS level 2 "
            "visitors must be escorted.",
            cred=cred,
        )

    def _responders(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if lv < 3 or not ok:
            return None
        if r.level3_access_point and cred is not None and cred.responder:
            return None
        reason = (
            "this is not the access point left open at level 3"
            if not r.level3_access_point
            else "the badge is not on the list of responders"
        )
        return self._finding(
            "responders_only",
            ev,
            r,
            lv,
            f"Access at ISPS level 3 by a non-responder at {r.name}",
            f"At ISPS level 3 only listed responders may enter, through the single access point; "
            f"badge {badge} entered at {r.name}: {reason}.",
            cred=cred,
        )

    def _travel(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        if not ok:
            return None
        st = self.state
        prev = st.last_read.get(badge)
        if prev is None or prev[1] <= ev.observed_at:
            st.last_read[badge] = (r.id, ev.observed_at, ev.id)
        if prev is None or prev[0] == r.id:
            return None
        other = self.readers.get(prev[0])
        if other is None:
            return None
        dist = distance_m(r, other)
        if dist < float(self._p("impossible_travel", "min_distance_m", r, lv)):
            return None
        dt = abs((ev.observed_at - prev[1]).total_seconds()) + self.config.clock_skew_s
        speed_kmh = dist / 1000 / (dt / 3600)
        limit = float(self._p("impossible_travel", "max_speed_kmh", r, lv))
        if speed_kmh <= limit:
            return None
        return self._finding(
            "impossible_travel",
            ev,
            r,
            lv,
            f"Impossible travel: badge {badge} at {other.name} and {r.name}",
            f"Badge {badge} was read at {other.name} and {r.name}, {dist / 1000:.1f} km apart, "
            f"{abs((ev.observed_at - prev[1]).total_seconds()):.0f} s apart (with "
            f"{self.config.clock_skew_s:.0f} s clock-skew slack, {speed_kmh:.0f} km/h > "
            f"{limit:.0f} km/h): a cloned badge, or a badge lent out.",
            cred=cred,
            evidence=(prev[2], ev.id),
            episode=f"{badge}|{prev[0]}|{r.id}|{_hour(ev.observed_at)}",
            other_reader=other.id,
        )

    def _antipassback(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        direction = ev.attributes.get("direction")
        if not ok or direction is None:
            return None
        key = (badge, r.facility or r.id)
        st = self.state
        if direction == "out":
            st.inside.pop(key, None)
            return None
        before = st.inside.get(key)
        st.inside[key] = ev.observed_at
        window = float(self._p("antipassback", "window_s", r, lv))
        if before is None or (ev.observed_at - before).total_seconds() > window:
            return None
        if (ev.observed_at - before).total_seconds() < 0:
            return None
        return self._finding(
            "antipassback",
            ev,
            r,
            lv,
            f"Anti-passback: badge {badge} entered {key[1]} twice without leaving",
            f"Badge {badge} entered {key[1]} at {before.isoformat()} and again at "
            f"{ev.observed_at.isoformat()} ({r.name}) with no exit between: the badge was "
            "passed back to someone else, or someone tailgated out.",
            cred=cred,
        )

    def _probing(
        self, ev: Event, r: ReaderInfo, lv: int, badge: str, cred: Credential | None, ok: bool
    ) -> Finding | None:
        st = self.state
        window = timedelta(seconds=float(self._p("probing", "window_s", r, lv)))
        q = st.denials.setdefault(r.id, deque(maxlen=256))
        if ok:
            return None
        q.append((ev.observed_at, badge, ev.id))
        while q and q[0][0] < ev.observed_at - window:
            q.popleft()
        since = st.probing_since.get(r.id)
        if since is not None and ev.observed_at - since <= window * 4:
            return None  # same episode: already raised
        need = int(self._p("probing", "denials", r, lv))
        if len(q) < need:
            return None
        st.probing_since[r.id] = q[0][0]
        badges = tuple(sorted({b for _, b, _ in q}))
        return self._finding(
            "probing",
            ev,
            r,
            lv,
            f"Badge probing at {r.name}: {len(q)} denials in {window.total_seconds():.0f} s",
            f"{len(q)} denied reads at {r.name} within {window.total_seconds():.0f} s "
            f"(threshold {need} at ISPS level {lv}), badges {', '.join(badges)}.",
            evidence=tuple(e for _, _, e in q),
            episode=f"probing|{r.id}|{q[0][0].isoformat()}",
            badges=badges,
        )

    # -- door detectors -----------------------------------------------------------------------

    def _tailgating(self, ev: Event, r: ReaderInfo, lv: int) -> Finding | None:
        if ev.attributes.get("rex"):
            return None
        window = timedelta(seconds=float(self._p("tailgating", "window_s", r, lv)))
        grants = [
            t
            for t in self.state.grants.get(r.id, ())
            if ev.observed_at - window <= t <= ev.observed_at
        ]
        count = int(ev.attributes.get("count", 1))
        if count <= len(grants):
            return None
        return self._finding(
            "tailgating",
            ev,
            r,
            lv,
            f"Tailgating at {r.name}: {count} through, {len(grants)} badge(s)",
            f"{count} person(s) went through {r.name} with {len(grants)} granted badge read(s) "
            f"in the {window.total_seconds():.0f} s before.",
            episode=f"tailgating|{ev.id}",
            counted=count,
            granted=len(grants),
        )

    def _held(self, ev: Event, r: ReaderInfo, lv: int) -> Finding | None:
        duration = float(ev.attributes.get("duration_s", 0))
        threshold = float(self._p("held_open", "threshold_s", r, lv))
        if duration < threshold:
            return None
        return self._finding(
            "held_open",
            ev,
            r,
            lv,
            f"Door held open at {r.name} for {duration:.0f} s",
            f"The door at {r.name} stayed open {duration:.0f} s (threshold {threshold:.0f} s at "
            f"ISPS level {lv}).",
            episode=f"held|{ev.id}",
        )
