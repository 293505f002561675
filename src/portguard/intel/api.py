"""REST routes of the ISAC hub under ``/api/v1/intel``: members and communities, objects
(search, read, import), sightings, matching, publishing from an incident and blocklist exports.
Every read is filtered by TLP for the caller's organisation (``tlp.readable``)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from portguard.core.errors import NotFoundError, PermissionDenied, ValidationError
from portguard.core.http import Ctx, Principal, authenticate
from portguard.core.types import TLP, EntityRef
from portguard.intel import exports, members, service
from portguard.intel.hub import IntelHub
from portguard.intel.importers import detect_kind, parse_any
from portguard.intel.members import IsacRole, Member
from portguard.intel.models import Community, CommunityMember, Organisation
from portguard.intel.schemas import (
    CommunityCreate,
    CommunityRead,
    ImportResult,
    MatchRead,
    MatchRequest,
    ObjectPage,
    OrganisationCreate,
    OrganisationRead,
    PublishRequest,
    PublishResult,
    RecordErrorRead,
    SightingCreate,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/intel", tags=["intel"])


def hub_of(ctx: Ctx) -> IntelHub:
    hub = ctx.extras.get("intel")
    if not isinstance(hub, IntelHub):
        raise NotFoundError("the ISAC hub is not enabled on this server")
    return hub


def current_member(ctx: Ctx, principal: Annotated[Principal, Depends(authenticate)]) -> Member:
    with ctx.db.session() as session:
        return hub_of(ctx).member(
            session,
            username=principal.username,
            organisation=principal.organisation,
            role=principal.role.value,
        )


CurrentMember = Annotated[Member, Depends(current_member)]


def _is_hub_admin(ctx: Ctx, m: Member) -> bool:
    return m.organisation == hub_of(ctx).home and m.can(IsacRole.ADMIN)


def _org_read(session: object, org: Organisation) -> OrganisationRead:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    comms = session.execute(
        select(CommunityMember.community_id).where(CommunityMember.organisation_id == org.id)
    ).scalars()
    return OrganisationRead(
        id=org.id,
        name=org.name,
        identity_id=org.identity_id,
        max_role=org.max_role,
        client_of=list(org.client_of or []),
        communities=sorted(comms),
    )


@router.get("/members", response_model=list[OrganisationRead])
def list_members(ctx: Ctx, member: CurrentMember) -> list[OrganisationRead]:
    if not member.viewer.member:
        raise PermissionDenied("only member organisations see the member list")
    with ctx.db.session() as s:
        orgs = s.execute(select(Organisation).order_by(Organisation.id)).scalars().all()
        return [_org_read(s, o) for o in orgs]


@router.post("/members", response_model=OrganisationRead, status_code=201)
def add_member(body: OrganisationCreate, ctx: Ctx, member: CurrentMember) -> OrganisationRead:
    if not _is_hub_admin(ctx, member):
        raise PermissionDenied("only an ISAC admin of the hub's organisation adds members")
    with ctx.db.session() as s:
        org = members.add_organisation(
            session=s,
            org_id=body.id,
            name=body.name,
            max_role=body.max_role,
            client_of=body.client_of,
            communities=body.communities,
            actor=f"user:{member.username}",
        )
        return _org_read(s, org)


@router.get("/communities", response_model=list[CommunityRead])
def list_communities(ctx: Ctx, member: CurrentMember) -> list[CommunityRead]:
    with ctx.db.session() as s:
        out = []
        for c in s.execute(select(Community).order_by(Community.id)).scalars():
            mems = s.execute(
                select(CommunityMember.organisation_id).where(CommunityMember.community_id == c.id)
            ).scalars()
            out.append(
                CommunityRead(
                    id=c.id,
                    name=c.name,
                    description=c.description,
                    collection_id=c.collection_id,
                    members=sorted(mems),
                )
            )
        return out


@router.post("/communities", response_model=CommunityRead, status_code=201)
def add_community(body: CommunityCreate, ctx: Ctx, member: CurrentMember) -> CommunityRead:
    if not _is_hub_admin(ctx, member):
        raise PermissionDenied("only an ISAC admin of the hub's organisation adds communities")
    with ctx.db.session() as s:
        c = members.add_community(
            session=s,
            community_id=body.id,
            name=body.name,
            description=body.description,
            actor=f"user:{member.username}",
        )
        return CommunityRead(
            id=c.id,
            name=c.name,
            description=c.description,
            collection_id=c.collection_id,
            members=[],
        )


@router.put("/communities/{community_id}/members/{org_id}", status_code=204)
def join(community_id: str, org_id: str, ctx: Ctx, member: CurrentMember) -> Response:
    if not _is_hub_admin(ctx, member):
        raise PermissionDenied("only an ISAC admin of the hub's organisation changes communities")
    with ctx.db.session() as s:
        members.join_community(
            session=s, community_id=community_id, org_id=org_id, actor=f"user:{member.username}"
        )
    hub_of(ctx).refresh_viewer()
    return Response(status_code=204)


@router.get("/objects", response_model=ObjectPage)
def search_objects(
    ctx: Ctx,
    member: CurrentMember,
    type: Annotated[list[str] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200, description="text the object contains")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    next: str | None = None,
) -> ObjectPage:
    key = f"rest|{member.username}|{type}|{q}"
    after = service.decode_cursor(next, key) if next else 0
    with ctx.db.session() as s:
        colls = list(s.execute(select(Community.collection_id)).scalars())
        page = service.page_objects(
            session=s,
            viewer=member.viewer,
            collection_ids=colls,
            limit=limit,
            after_seq=after,
            types=type or (),
            text_like=q,
        )
    return ObjectPage(
        objects=[json.loads(r.body) for r in page.rows],
        more=page.more,
        next=service.encode_cursor(page.last_seq, key) if page.more else None,
    )


@router.get("/objects/{object_id}")
def get_object(object_id: str, ctx: Ctx, member: CurrentMember) -> Response:
    with ctx.db.session() as s:
        colls = list(s.execute(select(Community.collection_id)).scalars())
        rows = service.get_versions(
            session=s, viewer=member.viewer, collection_ids=colls, stix_id=object_id
        )
    if not rows:
        raise NotFoundError(f"no object {object_id!r}")
    best = max(rows, key=lambda r: (r.version, r.seq))
    return Response(best.body, media_type="application/json")


@router.post("/objects", response_model=ImportResult)
async def import_objects(
    request: Request,
    ctx: Ctx,
    member: CurrentMember,
    community: str | None = None,
    tlp: str = "amber",
    recipient_org: Annotated[list[str] | None, Query()] = None,
    recipient_user: Annotated[list[str] | None, Query()] = None,
) -> ImportResult:
    """Import a STIX bundle, a MISP event (JSON) or a plain list (text, one value a line)."""
    try:
        label = TLP.parse(tlp)
    except ValueError as exc:
        raise ValidationError(str(exc), location="query.tlp") from None
    text = (await request.body()).decode("utf-8", errors="replace")
    hub = hub_of(ctx)
    parsed = parse_any(
        text, now=ctx.clock.now(), owner_identity=member.identity_id, source="body", tlp=label
    )
    result = await run_in_threadpool(
        hub.ingest,
        member=member,
        parsed=parsed,
        community=community,
        tlp=label,
        recipient_orgs=recipient_org or (),
        recipient_users=recipient_user or (),
    )
    return import_result(hub, result)


def import_result(hub: IntelHub, result: service.StoreResult) -> ImportResult:
    written = {o["id"] for o, _ in result.written if o.get("type") == "indicator"}
    conflicts = [
        {"id": ind_id, "pattern": pattern, "warninglists": list(lists)}
        for ind_id, pattern, lists in (hub.index.conflicts() if written else [])
        if ind_id in written
    ]
    return ImportResult(
        stored=len(result.written),
        unchanged=result.unchanged,
        failed=len(result.failures),
        errors=[
            RecordErrorRead(position=e.position, message=e.message, id=e.id)
            for e in result.failures[:1000]
        ],
        warninglist_conflicts=conflicts[:1000],
    )


@router.get("/sightings", response_model=ObjectPage)
def list_sightings(
    ctx: Ctx,
    member: CurrentMember,
    indicator: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> ObjectPage:
    with ctx.db.session() as s:
        colls = list(s.execute(select(Community.collection_id)).scalars())
        page = service.page_objects(
            session=s,
            viewer=member.viewer,
            collection_ids=colls,
            limit=limit,
            types=["sighting"],
            text_like=indicator,
        )
    return ObjectPage(objects=[json.loads(r.body) for r in page.rows], more=page.more)


@router.post("/sightings", status_code=201)
def add_sighting(body: SightingCreate, ctx: Ctx, member: CurrentMember) -> Response:
    member.require(IsacRole.CONTRIBUTOR, "record sightings")
    hub = hub_of(ctx)
    with ctx.db.session() as s:
        colls = list(s.execute(select(Community.collection_id)).scalars())
        if not service.get_versions(
            session=s, viewer=member.viewer, collection_ids=colls, stix_id=body.indicator_id
        ):
            raise NotFoundError(f"no indicator {body.indicator_id!r}")
        obj = hub.record_sighting(
            s,
            body.indicator_id,
            observable=body.observable,
            count=body.count,
            org=member.organisation,
            username=member.username,
        )
    return Response(json.dumps(obj), 201, media_type="application/json")


@router.post("/match", response_model=list[MatchRead])
def match(body: MatchRequest, ctx: Ctx, member: CurrentMember) -> list[MatchRead]:
    """Check observables against the indicators the caller may read."""
    hub = hub_of(ctx)
    obs = []
    for i, o in enumerate(body.observables):
        kind = o.kind or detect_kind(o.value)
        if kind is None:
            raise ValidationError(
                "cannot tell what kind of observable this is", location=f"observables[{i}]"
            )
        obs.append((kind, o.value))
    if body.alert:
        member.require(IsacRole.ANALYST, "raise alerts from matches")
    found = hub.check(
        obs, source=f"api:{member.username}", raise_alerts=body.alert, viewer=member.viewer
    )
    return [
        MatchRead(
            indicator_id=m.indicator_id,
            name=m.name,
            kind=m.kind,
            observable=m.observable,
            matched=m.matched,
            how=m.how,
            tlp=m.tlp,
            owner=m.owner,
            block=m.block,
            warninglists=list(m.warninglists),
        )
        for m in found
    ]


@router.post("/publish", response_model=PublishResult, status_code=201)
def publish(body: PublishRequest, ctx: Ctx, member: CurrentMember) -> PublishResult:
    """Share an incident's indicators as STIX (a report and one indicator per entity)."""
    ents = []
    for i, e in enumerate(body.entities):
        try:
            ents.append(EntityRef.parse(e))
        except ValueError as exc:
            raise ValidationError(str(exc), location=f"entities[{i}]") from None
    report_id, result = hub_of(ctx).publish(
        member=member,
        title=body.title,
        entities=ents,
        tlp=body.tlp,
        community=body.community,
        recipient_orgs=body.recipient_orgs,
        recipient_users=body.recipient_users,
        reference=body.reference,
    )
    return PublishResult(
        report_id=report_id,
        indicators=sum(1 for o, _ in result.written if o["type"] == "indicator"),
        errors=[
            RecordErrorRead(position=e.position, message=e.message, id=e.id)
            for e in result.failures
        ],
    )


@router.get("/export/{fmt}")
def export(fmt: str, ctx: Ctx, member: CurrentMember) -> Response:
    """A blocklist (plain, rpz, nft, postfix) or a STIX bundle of what the caller may read."""
    member.require(IsacRole.ANALYST, "export blocklists")
    hub = hub_of(ctx)
    with ctx.db.session() as s:
        body = exports.blocklist(s, member.viewer, hub.warninglists, fmt)
    media = "application/stix+json;version=2.1" if fmt == "stix" else "text/plain; charset=utf-8"
    return Response(body, media_type=media)
