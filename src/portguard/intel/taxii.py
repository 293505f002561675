"""TAXII 2.1 server under ``/taxii2/``: discovery, one API root (``hub``), a collection per
sharing community, objects (GET with ``added_after``, ``limit``, ``next`` and ``match[...]``;
POST answering a status resource), object by id, versions, manifest and status.

Every answer is ``application/taxii+json;version=2.1``; a request that accepts nothing TAXII
gets 406, a POST in another media type 415, and every error is a TAXII error message. Paging
cursors (``next``) are opaque tokens that carry their own position, so they survive restarts
and work across server processes. Every object read is filtered by TLP for the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from portguard.core.errors import AuthError, NotFoundError, PortGuardError, ValidationError
from portguard.core.http import Ctx, authenticate
from portguard.intel import service
from portguard.intel.hub import IntelHub
from portguard.intel.importers import parse_bundle
from portguard.intel.members import IsacRole, Member
from portguard.intel.models import Community, StatusRecord

__all__ = ["TAXII_MEDIA", "router"]

TAXII_MEDIA = "application/taxii+json;version=2.1"
STIX_MEDIA = "application/stix+json;version=2.1"
API_ROOT = "hub"
MAX_PAGE = 10_000
DEFAULT_PAGE = 1_000
MAX_POST_OBJECTS = 10_000


class TaxiiError(PortGuardError):
    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.http_status = status
        self.title = title
        self.description = description


def taxii_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers=headers, media_type=TAXII_MEDIA)


def _error(status: int, title: str, description: str = "") -> Response:
    body: dict[str, Any] = {"title": title, "http_status": str(status)}
    if description:
        body["description"] = description
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="PortGuard TAXII", Bearer'}
    return taxii_json(body, status, headers)


class TaxiiRoute(APIRoute):
    """Turns every error raised while handling a TAXII request into a TAXII error message."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except TaxiiError as exc:
                return _error(exc.http_status, exc.title, exc.description)
            except ValidationError as exc:
                return _error(400, "Bad request", str(exc))
            except AuthError as exc:
                return _error(exc.http_status, type(exc).__name__, str(exc))
            except PortGuardError as exc:
                return _error(exc.http_status, type(exc).__name__, str(exc))
            except RequestValidationError as exc:
                msg = "; ".join(
                    f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()
                )
                return _error(400, "Bad request", msg)
            except StarletteHTTPException as exc:
                return _error(exc.status_code, str(exc.detail))

        return handler


def _accepts_taxii(request: Request) -> None:
    accept = request.headers.get("accept", "")
    if not accept:
        return
    for item in accept.split(","):
        parts = [p.strip().lower() for p in item.split(";")]
        kind = parts[0]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if kind in ("*/*", "application/*"):
            return
        if kind == "application/taxii+json" and params.get("version", "2.1") == "2.1":
            return
    raise TaxiiError(406, "Not acceptable", f"this server answers {TAXII_MEDIA}, not {accept!r}")


def _hub(ctx: Ctx) -> IntelHub:
    hub = ctx.extras.get("intel")
    if not isinstance(hub, IntelHub):
        raise TaxiiError(503, "ISAC hub not configured")
    return hub


def taxii_member(request: Request, ctx: Ctx) -> Member:
    """Accept check first (406 before 401), then HTTP Basic or bearer authentication."""
    _accepts_taxii(request)
    principal = authenticate(request, ctx)
    with ctx.db.session() as session:
        return _hub(ctx).member(
            session,
            username=principal.username,
            organisation=principal.organisation,
            role=principal.role.value,
        )


Caller = Annotated[Member, Depends(taxii_member)]
router = APIRouter(prefix="/taxii2", tags=["taxii"], route_class=TaxiiRoute)


def _root_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + f"/taxii2/{API_ROOT}/"


def _check_root(api_root: str) -> None:
    if api_root != API_ROOT:
        raise TaxiiError(404, "Unknown API root", f"no API root {api_root!r}")


@router.get("/")
def discovery(request: Request, _: Caller) -> Response:
    return taxii_json(
        {
            "title": "PortGuard ISAC hub",
            "description": "Threat intelligence sharing for the port community (TLP 2.0).",
            "default": _root_url(request),
            "api_roots": [_root_url(request)],
        }
    )


@router.get("/{api_root}/")
def api_root_info(api_root: str, request: Request, _: Caller) -> Response:
    _check_root(api_root)
    ctx = request.app.state.ctx
    return taxii_json(
        {
            "title": "PortGuard ISAC hub",
            "versions": [TAXII_MEDIA],
            "max_content_length": int(ctx.settings.max_body_bytes),
        }
    )


def _collection_json(com: Community, member: Member) -> dict[str, Any]:
    return {
        "id": com.collection_id,
        "title": com.name,
        "description": com.description or f"Sharing community {com.id}",
        "can_read": True,
        "can_write": com.id in member.viewer.communities and member.can(IsacRole.CONTRIBUTOR),
        "media_types": [STIX_MEDIA],
    }


def _collection(ctx: Ctx, collection_id: str) -> Community:
    with ctx.db.session() as session:
        com = session.execute(
            select(Community).where(Community.collection_id == collection_id)
        ).scalar_one_or_none()
    if com is None:
        raise TaxiiError(404, "Unknown collection", f"no collection {collection_id!r}")
    return com


@router.get("/{api_root}/collections/")
def collections(api_root: str, ctx: Ctx, member: Caller) -> Response:
    _check_root(api_root)
    with ctx.db.session() as session:
        coms = session.execute(select(Community).order_by(Community.id)).scalars().all()
    return taxii_json({"collections": [_collection_json(c, member) for c in coms]})


@router.get("/{api_root}/collections/{collection_id}/")
def collection(api_root: str, collection_id: str, ctx: Ctx, member: Caller) -> Response:
    _check_root(api_root)
    return taxii_json(_collection_json(_collection(ctx, collection_id), member))


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TaxiiError(400, "Bad request", f"{name} is not a timestamp: {value!r}") from None


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


class _Filters:
    def __init__(
        self,
        added_after: str | None = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
        next: str | None = None,
        match_id: Annotated[list[str] | None, Query(alias="match[id]")] = None,
        match_type: Annotated[list[str] | None, Query(alias="match[type]")] = None,
        match_version: Annotated[list[str] | None, Query(alias="match[version]")] = None,
        match_spec_version: Annotated[list[str] | None, Query(alias="match[spec_version]")] = None,
    ) -> None:
        self.added_after = _time(added_after, "added_after")
        self.limit = min(limit or DEFAULT_PAGE, MAX_PAGE)
        self.next = next
        self.ids = _split(match_id)
        self.types = _split(match_type)
        self.versions = _split(match_version) or ["last"]
        self.spec_versions = _split(match_spec_version)
        for v in self.versions:
            if v not in ("all", "last", "first"):
                _time(v, "match[version]")

    def key(self, collection_id: str, member: Member, extra: str = "") -> str:
        return "|".join(
            [
                collection_id,
                member.username,
                str(self.added_after),
                ",".join(self.ids),
                ",".join(self.types),
                ",".join(self.versions),
                ",".join(self.spec_versions),
                extra,
            ]
        )


Filters = Annotated[_Filters, Depends()]


def _page(
    ctx: Ctx, member: Member, com: Community, f: _Filters, ids: list[str], key: str
) -> tuple[service.Page, str | None]:
    after = service.decode_cursor(f.next, key) if f.next else 0
    with ctx.db.session() as session:
        page = service.page_objects(
            session=session,
            viewer=member.viewer,
            collection_ids=[com.collection_id],
            limit=f.limit,
            after_seq=after,
            added_after=f.added_after,
            ids=ids,
            types=f.types,
            versions=f.versions,
            spec_versions=f.spec_versions,
        )
    token = service.encode_cursor(page.last_seq, key) if page.more else None
    return page, token


def _date_headers(page: service.Page) -> dict[str, str]:
    if not page.rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": service.taxii_timestamp(page.rows[0].date_added),
        "X-TAXII-Date-Added-Last": service.taxii_timestamp(page.rows[-1].date_added),
    }


@router.get("/{api_root}/collections/{collection_id}/objects/")
def get_objects(
    api_root: str, collection_id: str, ctx: Ctx, member: Caller, f: Filters
) -> Response:
    _check_root(api_root)
    com = _collection(ctx, collection_id)
    page, token = _page(ctx, member, com, f, f.ids, f.key(collection_id, member, "objects"))
    return Response(
        service.envelope_bytes(page.rows, page.more, token),
        200,
        headers=_date_headers(page),
        media_type=TAXII_MEDIA,
    )


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def get_object(
    api_root: str, collection_id: str, object_id: str, ctx: Ctx, member: Caller, f: Filters
) -> Response:
    _check_root(api_root)
    com = _collection(ctx, collection_id)
    page, token = _page(ctx, member, com, f, [object_id], f.key(collection_id, member, object_id))
    if not page.rows and not f.next:
        # Same answer whether it does not exist or the caller may not read it.
        raise TaxiiError(404, "Object not found", f"no object {object_id!r} in this collection")
    return Response(
        service.envelope_bytes(page.rows, page.more, token),
        200,
        headers=_date_headers(page),
        media_type=TAXII_MEDIA,
    )


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/")
def get_versions(
    api_root: str, collection_id: str, object_id: str, ctx: Ctx, member: Caller, f: Filters
) -> Response:
    _check_root(api_root)
    com = _collection(ctx, collection_id)
    f.versions = ["all"]
    page, token = _page(
        ctx, member, com, f, [object_id], f.key(collection_id, member, "v" + object_id)
    )
    if not page.rows and not f.next:
        raise TaxiiError(404, "Object not found", f"no object {object_id!r} in this collection")
    body: dict[str, Any] = {"more": page.more, "versions": [r.version for r in page.rows]}
    if token:
        body["next"] = token
    return taxii_json(body, headers=_date_headers(page))


@router.get("/{api_root}/collections/{collection_id}/manifest/")
def get_manifest(
    api_root: str, collection_id: str, ctx: Ctx, member: Caller, f: Filters
) -> Response:
    _check_root(api_root)
    com = _collection(ctx, collection_id)
    page, token = _page(ctx, member, com, f, f.ids, f.key(collection_id, member, "manifest"))
    records = [
        {
            "id": r.stix_id,
            "date_added": service.taxii_timestamp(r.date_added),
            "version": r.version,
            "media_type": STIX_MEDIA,
        }
        for r in page.rows
    ]
    body: dict[str, Any] = {"more": page.more}
    if token:
        body["next"] = token
    if records:
        body["objects"] = records
    return taxii_json(body, headers=_date_headers(page))


def _content_type_ok(request: Request) -> None:
    ctype = request.headers.get("content-type", "")
    parts = [p.strip().lower() for p in ctype.split(";")]
    params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    if (
        parts[0] in ("application/taxii+json", "application/stix+json")
        and params.get("version", "2.1") == "2.1"
    ):
        return
    raise TaxiiError(415, "Unsupported media type", f"send {TAXII_MEDIA}, not {ctype!r}")


@router.post("/{api_root}/collections/{collection_id}/objects/")
async def add_objects(
    api_root: str, collection_id: str, request: Request, ctx: Ctx, member: Caller
) -> Response:
    _check_root(api_root)
    _content_type_ok(request)
    com = _collection(ctx, collection_id)
    if com.id not in member.viewer.communities or not member.can(IsacRole.CONTRIBUTOR):
        raise TaxiiError(
            403,
            "Forbidden",
            f"{member.organisation!r} ({member.role.value}) may not write to collection "
            f"{com.name!r}",
        )
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TaxiiError(400, "Bad request", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("objects", []), list):
        raise TaxiiError(400, "Bad request", 'send an envelope: {"objects": [...]}')
    if len(data.get("objects", [])) > MAX_POST_OBJECTS:
        raise TaxiiError(413, "Too many objects", f"at most {MAX_POST_OBJECTS} objects per request")
    parsed = parse_bundle(data, source="body")
    hub = _hub(ctx)
    from starlette.concurrency import run_in_threadpool

    now = ctx.clock.now()
    result = await run_in_threadpool(
        hub.ingest,
        member=member,
        parsed=parsed,
        community=com.id,
    )
    status = {
        "id": str(uuid.uuid4()),
        "status": "complete",
        "request_timestamp": service.taxii_timestamp(now),
        "total_count": result.total,
        "success_count": len(result.successes),
        "successes": [{"id": i, "version": v} for i, v in result.successes],
        "failure_count": len(result.failures),
        "failures": [
            {"id": e.id or e.position, "message": f"{e.position}: {e.message}"}
            for e in result.failures
        ],
        "pending_count": 0,
    }
    with ctx.db.session() as session:
        session.add(
            StatusRecord(
                id=status["id"],
                collection_id=collection_id,
                username=member.username,
                status="complete",
                request_timestamp=now,
                total_count=result.total,
                success_count=len(result.successes),
                failure_count=len(result.failures),
                pending_count=0,
                successes=status["successes"],
                failures=status["failures"],
            )
        )
    return taxii_json(status, 202)


@router.get("/{api_root}/status/{status_id}/")
def get_status(api_root: str, status_id: str, ctx: Ctx, member: Caller) -> Response:
    _check_root(api_root)
    with ctx.db.session() as session:
        rec = session.get(StatusRecord, status_id)
        if rec is None or rec.username != member.username:
            raise TaxiiError(404, "Unknown status", f"no status {status_id!r}")
        return taxii_json(
            {
                "id": rec.id,
                "status": rec.status,
                "request_timestamp": service.taxii_timestamp(rec.request_timestamp),
                "total_count": rec.total_count,
                "success_count": rec.success_count,
                "successes": rec.successes,
                "failure_count": rec.failure_count,
                "failures": rec.failures,
                "pending_count": rec.pending_count,
            }
        )


_ = NotFoundError
