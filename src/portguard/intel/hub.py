"""``IntelHub``: the ISAC hub's runtime state, built once by the app and exposed to routes as
``ctx.extras["intel"]``.

    hub = IntelHub(db=db, bus=bus, clock=clock, organisation=settings.organisation,
                   warninglists=Warninglists.load(path) or None for the built-in set)
    hub.start()          # default community + home organisation, loads the index
    hub.index            # the IndicatorIndex detectors call (portguard.intel.index)
    hub.sync()           # picks up objects other processes stored (also done by check())
    hub.check([("domain", "evil.example")], source="mail")   # matches -> Alerts + sightings
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.bus import Bus, publish_alert
from portguard.core.clock import Clock
from portguard.core.db import Database
from portguard.core.errors import NotFoundError, PermissionDenied, ValidationError
from portguard.core.types import TLP, Alert, Domain, EntityKind, EntityRef, Severity
from portguard.intel import members, service
from portguard.intel.importers import Parsed, indicator_for, stix_timestamp
from portguard.intel.index import IndicatorIndex, Match
from portguard.intel.members import DEFAULT_COMMUNITY, IsacRole, Member
from portguard.intel.models import Community, Organisation, StixObject
from portguard.intel.tlp import Viewer, marking_id
from portguard.intel.warninglists import Warninglists

__all__ = ["SYSTEM_USER", "IntelHub"]

#: The name detectors read as: name it among a RED object's recipients to let them use it.
SYSTEM_USER = "portguard"
_ENTITY = {
    "domain": EntityKind.DOMAIN,
    "ip": EntityKind.IP,
    "url": EntityKind.URL,
    "hash": EntityKind.FILE_HASH,
    "email": EntityKind.EMAIL,
}
_NS = uuid.UUID("0f3a1c55-8a8e-4b7c-a1d3-7f6e2c9b4d21")


class IntelHub:
    def __init__(
        self,
        *,
        db: Database,
        bus: Bus | None,
        clock: Clock,
        organisation: str,
        organisation_name: str | None = None,
        warninglists: Warninglists | None = None,
        share_sightings: bool = True,
        sync_interval_s: float = 1.0,
        sighting_interval_s: float = 600.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock
        self.home = organisation
        self.home_name = organisation_name
        self.warninglists = warninglists if warninglists is not None else Warninglists.builtin()
        self.share_sightings = share_sightings
        self.sync_interval_s = sync_interval_s
        self.sighting_interval_s = sighting_interval_s
        self.index = IndicatorIndex(
            viewer=Viewer(SYSTEM_USER, organisation), warninglists=self.warninglists
        )
        self._seq = 0
        self._synced_at = 0.0
        self._lock = threading.Lock()
        self._sighted: dict[tuple[str, str], float] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        with self.db.session() as session:
            members.ensure_defaults(session=session, home=self.home, home_name=self.home_name)
        self.refresh_viewer()
        self.sync(force=True)

    def refresh_viewer(self) -> None:
        """Re-read the home organisation's communities (after membership changes)."""
        with self.db.session() as session:
            m = members.member_for(
                session=session,
                username=SYSTEM_USER,
                organisation=self.home,
                core_role="analyst",
                home=self.home,
            )
        self.index.set_viewer(m.viewer)

    def sync(self, *, force: bool = False, applied: set[tuple[str, str]] | None = None) -> int:
        """Apply indicator versions stored since the last sync (by any process) to the index;
        ``applied`` are (id, version) pairs the caller already put in the index."""
        now = time.monotonic()
        if not force and now - self._synced_at < self.sync_interval_s:
            return 0
        with self._lock:
            self._synced_at = now
            n = 0
            with self.db.session() as session:
                for seq, obj, sharing in service.iter_indicators(
                    session, after_seq=self._seq, skip=applied
                ):
                    if obj is not None and sharing is not None:
                        self.index.apply(obj, sharing)
                        n += 1
                    self._seq = seq
            return n

    # -- members ------------------------------------------------------------------------------

    def member(
        self, session: Session, *, username: str, organisation: str | None, role: str
    ) -> Member:
        return members.member_for(
            session=session,
            username=username,
            organisation=organisation,
            core_role=role,
            home=self.home,
        )

    def community(self, session: Session, community_id: str | None) -> Community:
        com = session.get(Community, community_id or DEFAULT_COMMUNITY)
        if com is None:
            raise NotFoundError(f"no community {community_id!r}")
        return com

    # -- writes -------------------------------------------------------------------------------

    def ingest(
        self,
        *,
        member: Member,
        parsed: Parsed,
        community: str | None = None,
        tlp: TLP | None = None,
        recipient_orgs: Iterable[str] = (),
        recipient_users: Iterable[str] = (),
        trusted: bool = False,
        actor: str | None = None,
    ) -> service.StoreResult:
        """Store parsed objects into a community's collection, in one transaction; then the
        index picks up the new indicators."""
        member.require(IsacRole.CONTRIBUTOR, "share objects")
        with self.db.session() as session:
            com = self.community(session, community)
            if com.id not in member.viewer.communities:
                raise PermissionDenied(f"{member.organisation!r} is not in community {com.id!r}")
            result = service.store_objects(
                session=session,
                objects=parsed.objects,
                member=member,
                collection_id=com.collection_id,
                community=com.id,
                now=self.clock.now(),
                default_tlp=tlp or parsed.tlp or TLP.AMBER,
                recipient_orgs=recipient_orgs,
                recipient_users=recipient_users,
                trusted=trusted or parsed.generated,
            )
            result.failures[:0] = parsed.errors
            audit.record(
                session,
                actor=actor or f"user:{member.username}",
                action="intel.import",
                target=f"community:{com.id}",
                details={
                    "stored": len(result.written),
                    "unchanged": result.unchanged,
                    "failed": len(result.failures),
                },
            )
        applied: set[tuple[str, str]] = set()
        for obj, sharing in result.written:
            if obj.get("type") == "indicator":
                self.index.apply(obj, sharing)
                applied.add((obj["id"], service.version_of(obj, self.clock.now())))
        self.sync(force=True, applied=applied)
        return result

    def publish(
        self,
        *,
        member: Member,
        title: str,
        entities: Sequence[EntityRef],
        tlp: TLP,
        community: str | None = None,
        recipient_orgs: Iterable[str] = (),
        recipient_users: Iterable[str] = (),
        reference: str | None = None,
    ) -> tuple[str, service.StoreResult]:
        """Share an incident's indicators: one indicator per domain/IP/URL/hash/e-mail entity
        and a STIX report that groups them, all marked with ``tlp``. Returns the report id."""
        member.require(IsacRole.ANALYST, "publish from an incident")
        now = self.clock.now()
        kinds = {v: k for k, v in _ENTITY.items()}
        objs: list[tuple[str, dict[str, Any]]] = []
        for i, e in enumerate(entities):
            kind = kinds.get(e.kind)
            if kind is None:
                continue
            try:
                ind = indicator_for(
                    kind,
                    e.value,
                    now=now,
                    owner_identity=member.identity_id,
                    tlp=tlp,
                    name=f"{title}: {e.value}"[:300],
                )
            except ValueError as exc:
                raise ValidationError(str(exc), location=f"entities[{i}]") from None
            objs.append((f"entities[{i}]", ind))
        if not objs:
            raise ValidationError("no domain, IP, URL, hash or e-mail entity to publish")
        stamp = stix_timestamp(now)
        report = {
            "type": "report",
            "spec_version": "2.1",
            "id": "report--"
            + str(uuid.uuid5(_NS, f"{member.organisation}|{reference or title}|{stamp}")),
            "created": stamp,
            "modified": stamp,
            "name": title[:300],
            "published": stamp,
            "report_types": ["threat-report"],
            "object_refs": [o["id"] for _, o in objs],
            "object_marking_refs": [marking_id(tlp)],
        }
        if member.identity_id:
            report["created_by_ref"] = member.identity_id
        if reference:
            report["external_references"] = [{"source_name": "portguard", "external_id": reference}]
        objs.append(("report", report))
        result = self.ingest(
            member=member,
            parsed=Parsed(objects=objs),
            community=community,
            tlp=tlp,
            recipient_orgs=recipient_orgs,
            recipient_users=recipient_users,
            trusted=True,
        )
        return str(report["id"]), result

    # -- detection ----------------------------------------------------------------------------

    def check(
        self,
        observables: Iterable[tuple[str, str]],
        *,
        source: str,
        evidence: Sequence[str] = (),
        raise_alerts: bool = True,
        viewer: Viewer | None = None,
    ) -> list[Match]:
        """Look observables up; every match raises an INTEL alert and records a sighting."""
        self.sync()
        matches: list[Match] = []
        for kind, value in observables:
            try:
                matches.extend(self.index.lookup(kind, value, viewer=viewer))
            except ValueError:
                continue
        if raise_alerts and matches:
            for m in matches:
                self._alert(m, source=source, evidence=evidence)
            self._sightings(matches)
        return matches

    def _alert(self, m: Match, *, source: str, evidence: Sequence[str]) -> None:
        if self.bus is None:
            return
        try:
            entity = EntityRef(kind=_ENTITY[m.kind], value=m.observable)
            entities: tuple[EntityRef, ...] = (entity,)
        except ValueError:
            entities = ()
        how = {
            "exact": "is",
            "parent": "is under",
            "cidr": "is in",
            "substring": "contains",
            "pattern": "matches",
        }[m.how]
        alert = Alert(
            rule_id="intel.indicator_match",
            domain=Domain.INTEL,
            severity=Severity.HIGH if m.block else Severity.LOW,
            confidence=(m.confidence / 100) if m.confidence is not None else 0.8,
            title=f"{m.kind} {m.observable} matches shared indicator"[:500],
            why=(
                f"{m.observable} ({source}) {how} {m.matched}, shared by {m.owner} as "
                f"TLP:{m.tlp.value.upper()} in indicator {m.name!r}."
                + (
                    f" On warninglists {', '.join(m.warninglists)}: not blocked."
                    if m.warninglists
                    else ""
                )
            ),
            observed_at=self.clock.now(),
            evidence=tuple(evidence),
            entities=entities,
            tlp=m.tlp,
            category="threat-intel",
            attributes={
                "indicator_id": m.indicator_id,
                "matched": m.matched,
                "how": m.how,
                "owner": m.owner,
                "source": source,
                "block": m.block,
                "warninglists": list(m.warninglists),
            },
            fingerprint=f"{m.indicator_id}|{m.observable}",
        )
        publish_alert(self.bus, alert)

    def _sightings(self, matches: Sequence[Match]) -> None:
        mono = time.monotonic()
        due = []
        for m in matches:
            key = (m.indicator_id, m.observable)
            if mono - self._sighted.get(key, -1e18) >= self.sighting_interval_s:
                self._sighted[key] = mono
                due.append(m)
        if due:
            with self.db.session() as session:
                for m in due:
                    self.record_sighting(session, m.indicator_id, observable=m.observable)

    def record_sighting(
        self,
        session: Session,
        indicator_id: str,
        *,
        observable: str | None = None,
        count: int = 1,
        org: str | None = None,
        username: str = SYSTEM_USER,
    ) -> dict[str, Any] | None:
        """A STIX sighting of ``indicator_id`` by ``org`` (default: this PortGuard's
        organisation): one object per indicator, organisation and day, a new version (count
        + 1) per sighting. Shared with the indicator's audience when the policy allows, else
        kept to the organisation (TLP:AMBER+STRICT)."""
        org_id = org or self.home
        row = session.execute(
            select(StixObject)
            .where(StixObject.stix_id == indicator_id, StixObject.latest.is_(True))
            .order_by(StixObject.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
        orgrow = session.get(Organisation, org_id)
        if row is None or orgrow is None:
            return None
        now = self.clock.now()
        day = now.strftime("%Y-%m-%d")
        sid = f"sighting--{uuid.uuid5(_NS, f'{indicator_id}|{org_id}|{day}')}"
        prev = session.execute(
            select(StixObject.body).where(StixObject.stix_id == sid, StixObject.latest.is_(True))
        ).scalar_one_or_none()
        stamp = stix_timestamp(now)
        share = self.share_sightings and TLP(row.tlp) is not TLP.RED
        tlp = TLP(row.tlp) if share else TLP.AMBER_STRICT
        if prev is not None:
            obj: dict[str, Any] = json.loads(prev)
            obj.update(count=int(obj.get("count", 1)) + count, last_seen=stamp, modified=stamp)
            if obj["modified"] <= json.loads(prev)["modified"]:
                return obj
        else:
            obj = {
                "type": "sighting",
                "spec_version": "2.1",
                "id": sid,
                "created": stamp,
                "modified": stamp,
                "first_seen": stamp,
                "last_seen": stamp,
                "count": count,
                "sighting_of_ref": indicator_id,
                "where_sighted_refs": [orgrow.identity_id],
                "created_by_ref": orgrow.identity_id,
                "object_marking_refs": [marking_id(tlp)],
            }
            if observable:
                obj["description"] = f"seen: {observable}"[:500]
        sighter = Member(Viewer(username, org_id), IsacRole.CONTRIBUTOR, orgrow.identity_id)
        service.store_objects(
            session=session,
            objects=[("sighting", obj)],
            member=sighter,
            collection_id=row.collection_id,
            community=row.community if share else None,
            now=now,
            default_tlp=tlp,
            recipient_orgs=[*(row.recipient_orgs or []), row.owner] if share else [row.owner],
            recipient_users=(row.recipient_users or []) if share else [],
            trusted=True,
        )
        return obj
