"""Routes of the port model: the map (GeoJSON), features, facilities and their ISPS security level.

A level change is audited (in the service) and announced on the bus as an Event, so detectors in
every domain tighten their thresholds at once.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from portguard.core.auth import Permission
from portguard.core.bus import publish_event
from portguard.core.errors import NotFoundError
from portguard.core.http import Ctx, DbSession, Principal, require
from portguard.core.types import Domain, EntityRef, Event, Location
from portguard.portmodel import directory, service
from portguard.portmodel.kinds import FeatureKind
from portguard.portmodel.model import PortModel
from portguard.portmodel.schemas import (
    FeatureRead,
    SecurityLevelChangeCreate,
    SecurityLevelChangeRead,
    SecurityLevelRead,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/portmodel", tags=["port model"])

Reader = Annotated[Principal, Depends(require(Permission.PORTMODEL_READ))]
LevelWriter = Annotated[Principal, Depends(require(Permission.SECURITY_LEVEL_WRITE))]


def _model(ctx: Ctx) -> PortModel:
    model: PortModel = ctx.extras["port_model"]
    return model


@router.get("")
def geojson(ctx: Ctx, principal: Reader) -> dict[str, Any]:
    """The whole port model as a GeoJSON FeatureCollection (for maps and GIS tools)."""
    return _model(ctx).to_geojson()


@router.get("/features", response_model=list[FeatureRead])
def features(
    ctx: Ctx,
    principal: Reader,
    kind: Annotated[list[FeatureKind] | None, Query()] = None,
    geometry: bool = False,
) -> list[FeatureRead]:
    model = _model(ctx)
    items = [f for k in kind for f in model.by_kind(k)] if kind else list(model)
    return [FeatureRead.of(f, with_geometry=geometry) for f in items]


@router.get("/features/{feature_id}", response_model=FeatureRead)
def feature(feature_id: str, ctx: Ctx, principal: Reader) -> FeatureRead:
    f = _model(ctx).get(feature_id)
    if f is None:
        raise NotFoundError(f"no feature {feature_id!r} in the port model")
    return FeatureRead.of(f)


@router.get("/facilities", response_model=list[SecurityLevelRead])
def facilities(ctx: Ctx, session: DbSession, principal: Reader) -> list[SecurityLevelRead]:
    """Every ISPS facility with the security level in force."""
    return [
        SecurityLevelRead.of(
            f, service.latest_security_level_change(session=session, facility_id=f.id)
        )
        for f in _model(ctx).facilities()
    ]


@router.post("/facilities/{facility_id}/security-level", response_model=SecurityLevelRead)
def set_level(
    facility_id: str,
    body: SecurityLevelChangeCreate,
    ctx: Ctx,
    session: DbSession,
    principal: LevelWriter,
) -> SecurityLevelRead:
    """Change a facility's ISPS security level (1-3); audited, kept in the history."""
    model = _model(ctx)
    change = service.set_security_level(
        session=session,
        model=model,
        facility_id=facility_id,
        level=body.level,
        actor=principal.actor,
        reason=body.reason,
    )
    facility = model.feature(facility_id)
    publish_event(
        ctx.bus,
        Event(
            observed_at=change.changed_at,
            source="portguard.portmodel",
            domain=Domain.SYSTEM,
            kind="security_level_changed",
            entities=(EntityRef.of("asset", facility_id),),
            location=Location(asset_id=facility_id, lat=facility.lat, lon=facility.lon),
            attributes={
                "facility_id": facility_id,
                "level": change.level,
                "previous_level": change.previous_level,
                "actor": principal.actor,
            },
        ),
    )
    return SecurityLevelRead.of(facility, change)


@router.get(
    "/facilities/{facility_id}/security-level/history",
    response_model=list[SecurityLevelChangeRead],
)
def level_history(
    facility_id: str, ctx: Ctx, session: DbSession, principal: Reader
) -> list[SecurityLevelChangeRead]:
    _model(ctx).feature(facility_id)  # NotFound for an unknown facility
    return [
        SecurityLevelChangeRead.model_validate(c)
        for c in service.security_level_history(session=session, facility_id=facility_id)
    ]


# --- the directory of people, organisations and identities -------------------------------------

DirectoryReader = Annotated[Principal, Depends(require(Permission.INCIDENTS_WRITE))]
DirectoryAdmin = Annotated[Principal, Depends(require(Permission.USERS_ADMIN))]


def _person_json(p: directory.PersonInfo) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "organisation_id": p.organisation_id,
        "organisation_name": p.organisation_name,
        "role": p.role,
        "active": p.active,
        "identities": list(p.identities),
    }


@router.get("/directory/people")
def directory_people(
    session: DbSession,
    principal: DirectoryReader,
    key: Annotated[
        str | None, Query(description="an identity, e.g. email:x@y or badge:B-1")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> list[dict[str, Any]]:
    """People of the directory (personal data: analysts and admins), or the one ``key`` names."""
    d = directory.Directory.load(session)
    if key is not None:
        pid = d.resolve(key.strip().lower() if key.startswith("email:") else key.strip())
        p = d.person(pid) if pid else None
        return [_person_json(p)] if p is not None else []
    return [_person_json(p) for p in itertools.islice(d, limit)]


@router.post("/directory/import")
async def directory_import(
    request: Request, session: DbSession, principal: DirectoryAdmin
) -> dict[str, Any]:
    """Upsert people, organisations and identities from CSV (``text/csv``; see
    ``portguard.portmodel.directory``). Audited; bad rows are listed, the rest imported."""
    text = (await request.body()).decode("utf-8", errors="replace")
    report = directory.import_directory_csv(
        session=session, text=text, actor=principal.actor, source="upload"
    )
    return {
        "persons": report.persons,
        "organisations": report.organisations,
        "identities": report.identities,
        "moved": [list(m) for m in report.moved],
        "problems": report.problems,
    }
