"""Infrastructure detectors: infra Events (and mail/maritime Alerts) + explicit state → Findings.
Pure: no I/O, no clock.

Rule ids (``infra.<rule>``)::

    command.out_of_schedule    a command outside the asset's hours or without a planned operation
                               (passage, opening) or maintenance window covering it
    command.off_shift          the operator account has no shift covering the command
    command.wrong_station      sent from a station that is not a control room operating the asset
    command.phished_operator   the operator (through the directory: account ↔ e-mail) received a
                               phishing mail shortly before
    state.uncommanded_change   the asset changed state with no command before it (tampering, or a
                               faulty sensor)
    state.unplanned_outage     fault, or maintenance outside a maintenance window (with the traffic
                               impact in the alert)

Alerts from other domains come in through ``observe_alert``: phishing mail alerts (mail domain,
category ``phishing`` or a rule id with ``phish``) mark the recipient's accounts; maritime alerts at
an asset record the vessels waiting there (traffic impact). A phishing alert that arrives after
the command it explains still raises ``phished_operator`` (commands of the last ``window_s`` are
kept per account).
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from portguard.core.types import Alert, Event
from portguard.infra.config import InfraConfig
from portguard.portmodel import PortModel
from portguard.portmodel.directory import Directory
from portguard.portmodel.kinds import FeatureKind
from portguard.portmodel.schedule import PlannedWindow

__all__ = ["RULE_IDS", "InfraDetectors", "InfraFinding", "InfraState"]

log = logging.getLogger(__name__)

RULE_IDS: Final = {
    "out_of_schedule": "infra.command.out_of_schedule",
    "off_shift": "infra.command.off_shift",
    "wrong_station": "infra.command.wrong_station",
    "phished_operator": "infra.command.phished_operator",
    "uncommanded_change": "infra.state.uncommanded_change",
    "unplanned_outage": "infra.state.unplanned_outage",
}
_SEEN_IDS: Final = 200_000


@dataclass(frozen=True)
class InfraFinding:
    detector: str
    severity: str
    title: str
    why: str
    at: datetime
    asset: str
    level: int
    account: str | None = None
    persons: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    episode: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rule_id(self) -> str:
        return RULE_IDS[self.detector]


@dataclass
class InfraState:
    """What the detectors remember; plain data."""

    #: asset -> (state, since, event id)
    states: dict[str, tuple[str, datetime, str]] = field(default_factory=dict)
    #: asset -> (time, event id, account) of its last command
    last_command: dict[str, tuple[datetime, str, str | None]] = field(default_factory=dict)
    #: account -> recent commands (time, asset, event id)
    commands: dict[str, deque[tuple[datetime, str, str]]] = field(default_factory=dict)
    #: account -> (time of the phishing mail, alert id, recipient)
    phished: dict[str, tuple[datetime, str, str]] = field(default_factory=dict)
    #: asset -> {mmsi: (reason, eta)}: planned passages and vessels waiting there
    vessels: dict[str, dict[str, tuple[str, datetime | None]]] = field(default_factory=dict)
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-able data; ``restore`` reads it back."""
        iso = datetime.isoformat
        return {
            "states": {a: [s, iso(t), e] for a, (s, t, e) in self.states.items()},
            "last_command": {a: [iso(t), e, acc] for a, (t, e, acc) in self.last_command.items()},
            "commands": {
                acc: [[iso(t), a, e] for t, a, e in q] for acc, q in self.commands.items()
            },
            "phished": {acc: [iso(t), al, r] for acc, (t, al, r) in self.phished.items()},
            "vessels": {
                a: {m: [reason, iso(eta) if eta else None] for m, (reason, eta) in v.items()}
                for a, v in self.vessels.items()
            },
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> InfraState:
        t = datetime.fromisoformat
        return cls(
            states={a: (s, t(ts), e) for a, (s, ts, e) in data.get("states", {}).items()},
            last_command={
                a: (t(ts), e, acc) for a, (ts, e, acc) in data.get("last_command", {}).items()
            },
            commands={
                acc: deque(((t(ts), a, e) for ts, a, e in q), maxlen=256)
                for acc, q in data.get("commands", {}).items()
            },
            phished={acc: (t(ts), al, r) for acc, (ts, al, r) in data.get("phished", {}).items()},
            vessels={
                a: {m: (reason, t(eta) if eta else None) for m, (reason, eta) in v.items()}
                for a, v in data.get("vessels", {}).items()
            },
        )


def _bump(sev: str) -> str:
    order = ("info", "low", "medium", "high", "critical")
    return order[min(len(order) - 1, order.index(sev) + 1)]


class InfraDetectors:
    def __init__(
        self,
        config: InfraConfig,
        model: PortModel,
        *,
        directory: Callable[[], Directory | None] | None = None,
        levels: Mapping[str, int] | None = None,
        state: InfraState | None = None,
    ) -> None:
        self.config = config
        self.model = model
        self.directory = directory or (lambda: None)
        self.levels: dict[str, int] = dict(levels or {})
        self.state = state or InfraState()
        self.plans: list[PlannedWindow] = list(config.plans)
        self.maintenance: list[PlannedWindow] = list(config.maintenance)
        self.shifts: list[PlannedWindow] = list(config.shifts)
        self.errors: Counter[str] = Counter()
        self.findings: Counter[str] = Counter()
        self.events = 0
        self.duplicates = 0
        self._facility: dict[str, str | None] = {}
        self._operated_by: dict[str, set[str]] = {}
        for room in model.by_kind(FeatureKind.CONTROL_ROOM):
            for a in room.properties.get("operates") or ():
                self._operated_by.setdefault(str(a), set()).add(room.id)

    # -- places and levels -------------------------------------------------------------------

    def facility_of(self, asset: str) -> str | None:
        """The ISPS facility whose level applies: configured, the feature's, or the smallest
        facility area containing the asset."""
        if asset not in self._facility:
            fac = self.config.asset(asset).facility
            f = self.model.get(asset)
            if fac is None and f is not None:
                fac = f.facility
                if fac is None:
                    around = [
                        z
                        for z in self.model.zones_containing(f.lat, f.lon)
                        if z.is_facility and z.id != asset
                    ]
                    fac = around[0].id if around else None
            self._facility[asset] = fac
        return self._facility[asset]

    def level_at(self, asset: str) -> int:
        fac = self.facility_of(asset)
        return self.levels.get(fac, 1) if fac else 1

    def _p(self, det: str, key: str, asset: str, level: int) -> Any:
        return self.config.get(det, key, asset=asset, level=level)

    def _persons(self, account: str | None) -> tuple[str, ...]:
        d = self.directory()
        if d is None or not account:
            return ()
        pid = d.resolve(f"account:{account}")
        return (pid,) if pid else ()

    def _who(self, account: str | None) -> dict[str, Any]:
        d = self.directory()
        out: dict[str, Any] = {}
        if d is not None and account:
            p = d.person_of("account", account)
            if p is not None:
                out = {"person": p.id, "organisation": p.organisation_id}
        return out

    def _finding(
        self,
        det: str,
        ev: Event,
        asset: str,
        level: int,
        title: str,
        why: str,
        *,
        evidence: tuple[str, ...] | None = None,
        episode: str | None = None,
        **attrs: Any,
    ) -> InfraFinding:
        account = ev.attributes.get("account")
        return InfraFinding(
            detector=det,
            severity=str(self._p(det, "severity", asset, level)),
            title=title,
            why=why,
            at=ev.observed_at,
            asset=asset,
            level=level,
            account=account,
            persons=self._persons(account),
            evidence=evidence if evidence is not None else (ev.id,),
            episode=episode if episode is not None else ev.id,
            attributes={k: v for k, v in ev.attributes.items() if k != "asset"} | attrs,
        )

    # -- events --------------------------------------------------------------------------------

    def process(self, ev: Event) -> list[InfraFinding]:
        if not ev.kind.startswith("infra."):
            return []
        st = self.state
        if ev.id in st.seen:
            self.duplicates += 1
            return []
        st.seen[ev.id] = None
        if len(st.seen) > _SEEN_IDS:
            st.seen.popitem(last=False)
        self.events += 1
        asset = str(ev.attributes.get("asset", ""))
        if self.model.get(asset) is None:
            return []
        level = self.level_at(asset)
        kind = ev.kind[len("infra.") :]
        out: list[InfraFinding] = []
        checks: list[tuple[str, Callable[[Event, str, int], InfraFinding | None]]]
        if kind == "command":
            checks = [
                ("out_of_schedule", self._schedule),
                ("off_shift", self._shift),
                ("wrong_station", self._station),
                ("phished_operator", self._phished),
            ]
        elif kind == "state":
            checks = [("uncommanded_change", self._uncommanded), ("unplanned_outage", self._outage)]
        elif kind == "passage":
            mmsi = str(ev.attributes.get("mmsi"))
            eta = datetime.fromisoformat(str(ev.attributes.get("eta")))
            st.vessels.setdefault(asset, {})[mmsi] = ("planned passage", eta)
            checks = []
        else:
            checks = []
        for name, check in checks:
            if name not in self.config.enabled:
                continue
            try:
                f = check(ev, asset, level)
            except Exception:  # isolation
                self.errors[name] += 1
                log.exception("infra detector %s failed", name)
                continue
            if f is not None:
                out.append(f)
        if kind == "command":
            account = ev.attributes.get("account")
            st.last_command[asset] = (ev.observed_at, ev.id, account)
            if account:
                q = st.commands.setdefault(account, deque(maxlen=256))
                q.append((ev.observed_at, asset, ev.id))
        elif kind == "state":
            st.states[asset] = (str(ev.attributes["state"]), ev.observed_at, ev.id)
        for f in out:
            self.findings[f.detector] += 1
        return out

    def _covered(
        self, windows: list[PlannedWindow], ev: Event, asset: str, account: str | None
    ) -> PlannedWindow | None:
        who = self._who(account)
        places = (asset, *(c.id for c in self.model.children(asset)))
        f = self.model.get(asset)
        if f is not None and f.parent:
            places = (*places, f.parent)
        for w in windows:
            if w.covers(
                ev.observed_at,
                places=places,
                account=account,
                person=who.get("person"),
                organisation=who.get("organisation"),
            ):
                return w
        return None

    def _schedule(self, ev: Event, asset: str, level: int) -> InfraFinding | None:
        s = self.config.asset(asset)
        account = ev.attributes.get("account")
        in_hours = s.hours.contains(ev.observed_at)
        planned = self._covered(self.plans, ev, asset, None) if s.require_plan else None
        if in_hours and (planned is not None or not s.require_plan):
            return None
        if self._covered(self.maintenance, ev, asset, account) is not None:
            return None
        reason = (
            f"outside the operating hours ({s.hours})"
            if not in_hours
            else "with no planned operation (passage or opening) covering it"
        )
        name = self._name(asset)
        return self._finding(
            "out_of_schedule",
            ev,
            asset,
            level,
            f"Command outside the operating schedule at {name}",
            f"Command {ev.attributes.get('command')} at {name} at {ev.observed_at.isoformat()} "
            f"by account {account or '(none)'} {reason}, and outside any maintenance window.",
        )

    def _shift(self, ev: Event, asset: str, level: int) -> InfraFinding | None:
        account = ev.attributes.get("account")
        if not account or not self.shifts:
            return None
        who = self._who(account)
        on_roster = any(
            account in w.accounts or (who.get("person") in w.persons) for w in self.shifts
        )
        if not on_roster and not self._p("off_shift", "unknown_operator", asset, level):
            return None
        if self._covered(self.shifts, ev, asset, account) is not None:
            return None
        if self._covered(self.maintenance, ev, asset, account) is not None:
            return None
        name = self._name(asset)
        why = (
            f"Account {account} sent {ev.attributes.get('command')} to {name} at "
            f"{ev.observed_at.isoformat()}"
            + (", but has no shift covering that time." if on_roster else ", but is on no roster.")
        )
        return self._finding(
            "off_shift", ev, asset, level, f"Command by an operator not on shift at {name}", why
        )

    def _station(self, ev: Event, asset: str, level: int) -> InfraFinding | None:
        station = ev.attributes.get("station")
        allowed = set(self._operated_by.get(asset, set()))
        f = self.model.get(asset)
        if f is not None and f.parent:
            allowed |= self._operated_by.get(f.parent, set())
        if not allowed:
            return None
        if station is None:
            if not self._p("wrong_station", "require_station", asset, level):
                return None
        elif station in allowed:
            return None
        name = self._name(asset)
        return self._finding(
            "wrong_station",
            ev,
            asset,
            level,
            f"Command to {name} not from its control room",
            f"Command {ev.attributes.get('command')} to {name} came from "
            f"{station or 'an unidentified station'}"
            f"{' (host ' + str(ev.attributes['host']) + ')' if ev.attributes.get('host') else ''}; "
            f"it is operated from {', '.join(sorted(allowed))}.",
        )

    def _phished(self, ev: Event, asset: str, level: int) -> InfraFinding | None:
        account = ev.attributes.get("account")
        if not account:
            return None
        hit = self.state.phished.get(account)
        if hit is None:
            return None
        return self._phished_finding(ev.observed_at, ev.id, account, asset, level, hit, ev)

    def _phished_finding(
        self,
        at: datetime,
        event_id: str,
        account: str,
        asset: str,
        level: int,
        hit: tuple[datetime, str, str],
        ev: Event | None,
    ) -> InfraFinding | None:
        window = timedelta(seconds=float(self._p("phished_operator", "window_s", asset, level)))
        if not (timedelta(0) <= at - hit[0] <= window):
            return None
        name = self._name(asset)
        hours = (at - hit[0]).total_seconds() / 3600
        return InfraFinding(
            detector="phished_operator",
            severity=str(self._p("phished_operator", "severity", asset, level)),
            title=f"Command at {name} from an account whose owner was just phished",
            why=(
                f"Account {account} sent a command to {name} {hours:.1f} h after its owner "
                f"({hit[2]}) received a phishing mail (alert {hit[1]}): the credentials may "
                "be in an attacker's hands."
            ),
            at=at,
            asset=asset,
            level=level,
            account=account,
            persons=self._persons(account),
            evidence=(hit[1], event_id),
            episode=f"{account}|{hit[1]}|{event_id}",
            attributes=(
                {k: v for k, v in ev.attributes.items() if k != "asset"} if ev is not None else {}
            )
            | {"phishing_alert": hit[1], "recipient": hit[2]},
        )

    def _uncommanded(self, ev: Event, asset: str, level: int) -> InfraFinding | None:
        new = str(ev.attributes["state"])
        prev = self.state.states.get(asset)
        if new in ("fault", "maintenance") or (prev is not None and prev[0] == new):
            return None
        if prev is None:
            return None  # the first state we hear of is a baseline, not a change
        window = timedelta(seconds=float(self._p("uncommanded_change", "window_s", asset, level)))
        related = (asset, *(c.id for c in self.model.children(asset)))
        f = self.model.get(asset)
        if f is not None and f.parent:
            related = (*related, f.parent)
        for a in related:
            cmd = self.state.last_command.get(a)
            if cmd is not None and timedelta(0) <= ev.observed_at - cmd[0] <= window:
                return None
        name = self._name(asset)
        return self._finding(
            "uncommanded_change",
            ev,
            asset,
            level,
            f"State change without a command at {name}",
            f"{name} went from {prev[0]} to {new} at {ev.observed_at.isoformat()} with no "
            f"command in the {window.total_seconds():.0f} s before: tampering, a local override "
            "or a faulty sensor.",
            previous_state=prev[0],
        )

    def _outage(self, ev: Event, asset: str, level: int) -> InfraFinding | None:
        new = str(ev.attributes["state"])
        prev = self.state.states.get(asset)
        if new not in ("fault", "maintenance") or (prev is not None and prev[0] == new):
            return None
        if new == "maintenance" and self._covered(self.maintenance, ev, asset, None) is not None:
            return None
        name = self._name(asset)
        return self._finding(
            "unplanned_outage",
            ev,
            asset,
            level,
            f"Unplanned outage of {name} ({new})",
            f"{name} reported {new} at {ev.observed_at.isoformat()}"
            + (" outside any maintenance window." if new == "maintenance" else "."),
            episode=f"{asset}|outage|{ev.observed_at.isoformat()}",
        )

    # -- alerts from other domains -------------------------------------------------------------

    def observe_alert(self, alert: Alert) -> list[InfraFinding]:
        """Phishing mail alerts mark accounts; maritime alerts at an asset note the vessels.
        Returns findings for commands already seen after the phishing mail."""
        dom = alert.domain.value
        if dom == "maritime" and alert.location is not None and alert.location.asset_id:
            for e in alert.entities:
                if e.kind.value == "mmsi":
                    self.state.vessels.setdefault(alert.location.asset_id, {})[e.value] = (
                        f"near the asset ({alert.rule_id})",
                        None,
                    )
            return []
        if dom != "mail":
            return []
        if alert.category != "phishing" and "phish" not in alert.rule_id:
            return []
        d = self.directory()
        accounts: dict[str, str] = {}
        for e in alert.entities:
            if e.kind.value == "account":
                accounts[e.value] = e.value
            elif e.kind.value in ("email", "person") and d is not None:
                pid = d.resolve(e.key)
                p = d.person(pid) if pid else None
                if p is not None:
                    for acc in p.of_kind("account"):
                        accounts[acc] = e.value
        out: list[InfraFinding] = []
        for acc, recipient in accounts.items():
            prev = self.state.phished.get(acc)
            if prev is None or prev[0] < alert.observed_at:
                self.state.phished[acc] = (alert.observed_at, alert.id, recipient)
            hit = (alert.observed_at, alert.id, recipient)
            for at, asset, event_id in self.state.commands.get(acc, ()):
                if at < alert.observed_at:
                    continue
                f = self._phished_finding(at, event_id, acc, asset, self.level_at(asset), hit, None)
                if f is not None:
                    self.findings[f.detector] += 1
                    out.append(f)
        return out

    def _name(self, asset: str) -> str:
        f = self.model.get(asset)
        return f.name if f is not None else asset
