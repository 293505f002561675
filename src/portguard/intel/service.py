"""The STIX object store: validated writes that never overwrite, TLP-filtered reads with
stateless cursors, and sightings. Functions take their session (the caller commits)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from portguard.core.db import take_write_lock
from portguard.core.errors import ValidationError
from portguard.core.types import TLP
from portguard.intel.importers import RecordError, stix_timestamp, validate_object
from portguard.intel.members import Member
from portguard.intel.models import Organisation, StixObject
from portguard.intel.tlp import Sharing, Viewer, readable, tlp_from_markings

__all__ = [
    "Page",
    "StoreResult",
    "Visible",
    "decode_cursor",
    "encode_cursor",
    "get_versions",
    "iter_indicators",
    "page_objects",
    "store_objects",
    "version_of",
]

_COLUMNS = (
    StixObject.seq,
    StixObject.stix_id,
    StixObject.type,
    StixObject.version,
    StixObject.spec_version,
    StixObject.date_added,
    StixObject.tlp,
    StixObject.owner,
    StixObject.community,
    StixObject.recipient_orgs,
    StixObject.recipient_users,
    StixObject.submitted_by,
    StixObject.body,
    StixObject.collection_id,
)
_PG_LOCK = 7312004


def version_of(obj: dict[str, Any], fallback: datetime) -> str:
    """``modified`` (else ``created``, else the time added) as a fixed-width, sortable string."""
    raw = obj.get("modified") or obj.get("created")
    if not isinstance(raw, str):
        return fallback.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return raw[:32]
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StoreResult:
    successes: list[tuple[str, str]] = field(default_factory=list)  # (id, version)
    unchanged: int = 0
    failures: list[RecordError] = field(default_factory=list)
    #: (stix object, sharing) of every version written: what the index needs.
    written: list[tuple[dict[str, Any], Sharing]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.successes) + len(self.failures)


def _lock(session: Session) -> None:
    """Writers one at a time, so that ``seq`` order is commit order and ``date_added`` never
    goes back: a reader paging by cursor can never skip an object committed late."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({_PG_LOCK})"))
    else:
        take_write_lock(session, StixObject.__tablename__)


def _known_markings(session: Session, refs: set[str]) -> set[str]:
    if not refs:
        return set()
    rows = session.execute(
        select(StixObject.stix_id).where(StixObject.stix_id.in_(refs)).distinct()
    ).scalars()
    return set(rows)


def store_objects(
    *,
    session: Session,
    objects: Sequence[tuple[str, dict[str, Any]]],
    member: Member,
    collection_id: str,
    community: str | None,
    now: datetime,
    default_tlp: TLP = TLP.AMBER,
    recipient_orgs: Iterable[str] = (),
    recipient_users: Iterable[str] = (),
    trusted: bool = False,
) -> StoreResult:
    """Validate and store objects; each bad one becomes a failure with its position, the good
    ones are written (one version each; an identical re-send is ``unchanged``).

    Refused: invalid STIX, unknown (non-TLP) markings, a version older than or different from
    the stored one with the same ``modified``, another member's object, or an object whose
    ``created_by_ref`` names another member. ``trusted`` skips STIX validation (objects the hub
    made itself).
    """
    result = StoreResult()
    rec_orgs = sorted(set(recipient_orgs))
    rec_users = sorted(set(recipient_users))
    _lock(session)
    last = session.execute(select(func.max(StixObject.date_added))).scalar_one_or_none()
    added = max(now, last + timedelta(microseconds=1)) if last is not None else now
    org_identities = dict(session.execute(select(Organisation.identity_id, Organisation.id)).all())
    batch_ids = {o.get("id") for _, o in objects if isinstance(o, dict)}
    refs: set[str] = set()
    for _, o in objects:
        if isinstance(o, dict):
            refs.update(r for r in o.get("object_marking_refs") or () if isinstance(r, str))
    _, other_refs = tlp_from_markings(refs)
    known = _known_markings(session, set(other_refs) - batch_ids) | batch_ids

    # The newest stored version of each id, fetched in chunks.
    ids = sorted({o["id"] for _, o in objects if isinstance(o, dict) and "id" in o})
    latest: dict[str, tuple[str, str, str]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for sid, ver, owner, body in session.execute(
            select(StixObject.stix_id, StixObject.version, StixObject.owner, StixObject.body)
            .where(StixObject.collection_id == collection_id)
            .where(StixObject.stix_id.in_(chunk), StixObject.latest.is_(True))
        ).all():
            latest[sid] = (ver, owner, body)

    rows: list[dict[str, Any]] = []
    demote: list[str] = []
    for pos, obj in objects:
        problem = None if trusted else validate_object(obj)
        if problem is not None:
            oid = obj.get("id") if isinstance(obj, dict) else None
            result.failures.append(RecordError(pos, problem, oid if isinstance(oid, str) else None))
            continue
        oid = obj["id"]
        label, others = tlp_from_markings(obj.get("object_marking_refs") or ())
        unknown = [r for r in others if r not in known]
        if unknown:
            result.failures.append(RecordError(pos, f"unknown marking {unknown[0]!r}", oid))
            continue
        creator = obj.get("created_by_ref")
        if isinstance(creator, str) and org_identities.get(creator, member.organisation) != (
            member.organisation
        ):
            result.failures.append(
                RecordError(pos, "created_by_ref names another member organisation", oid)
            )
            continue
        version = version_of(obj, added)
        body = orjson.dumps(obj).decode()
        prev = latest.get(oid)
        if prev is not None:
            pver, powner, pbody = prev
            if powner != member.organisation:
                result.failures.append(
                    RecordError(pos, "the object belongs to another member organisation", oid)
                )
                continue
            if _same(orjson.loads(pbody), obj, ignore_times=trusted):
                result.unchanged += 1
                result.successes.append((oid, pver))
                continue
            if pver == version:
                result.failures.append(
                    RecordError(
                        pos,
                        f"version {obj.get('modified')} is stored with different content; "
                        "a change needs a newer 'modified'",
                        oid,
                    )
                )
                continue
            if pver > version:
                result.failures.append(
                    RecordError(pos, f"older than the stored version ({pver}); not stored", oid)
                )
                continue
            demote.append(oid)
        tlp = label or (TLP.CLEAR if obj.get("type") == "marking-definition" else default_tlp)
        rows.append(
            {
                "collection_id": collection_id,
                "stix_id": oid,
                "type": obj["type"],
                "version": version,
                "spec_version": str(obj.get("spec_version", "2.1")),
                "date_added": added,
                "tlp": tlp.value,
                "owner": member.organisation,
                "community": community,
                "recipient_orgs": rec_orgs,
                "recipient_users": rec_users,
                "submitted_by": member.username,
                "revoked": bool(obj.get("revoked", False)),
                "latest": True,
                "body": body,
            }
        )
        latest[oid] = (version, member.organisation, body)
        sharing = Sharing(
            tlp,
            member.organisation,
            community,
            frozenset(rec_orgs),
            frozenset(rec_users),
            member.username,
        )
        result.successes.append((oid, version))
        result.written.append((obj, sharing))
    for i in range(0, len(demote), 500):
        session.execute(
            update(StixObject)
            .where(StixObject.collection_id == collection_id)
            .where(StixObject.stix_id.in_(demote[i : i + 500]), StixObject.latest.is_(True))
            .values(latest=False)
        )
    conn = session.connection()
    for i in range(0, len(rows), 5000):
        conn.execute(insert(StixObject), rows[i : i + 5000])
    return result


_TIMES = ("created", "modified", "valid_from")


def _same(old: dict[str, Any], new: dict[str, Any], *, ignore_times: bool) -> bool:
    """Same content; for objects the hub makes itself (a feed imported again), the timestamps
    it stamped do not count, so a re-import does not make a new version of every indicator."""
    if not ignore_times:
        return old == new
    return {k: v for k, v in old.items() if k not in _TIMES} == {
        k: v for k, v in new.items() if k not in _TIMES
    }


# -- reads ------------------------------------------------------------------------------------


class Visible:
    """The TLP predicate over stored rows, for one viewer."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer

    def __call__(self, row: Any) -> bool:
        tlp = row.tlp
        if tlp == "clear":
            return True
        return readable(
            self.viewer,
            TLP(tlp),
            row.owner,
            row.community,
            row.recipient_orgs or (),
            row.recipient_users or (),
            row.submitted_by,
        )


def encode_cursor(seq: int, key: str) -> str:
    raw = f"{seq}.{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, key: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        seq_s, digest = raw.split(".", 1)
        seq = int(seq_s)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("the 'next' token is not one this server issued") from None
    if digest != hashlib.sha256(key.encode()).hexdigest()[:12]:
        raise ValidationError("the 'next' token belongs to another query; start again")
    return seq


@dataclass
class Page:
    rows: list[Any]
    more: bool
    last_seq: int


def page_objects(
    *,
    session: Session,
    viewer: Viewer,
    collection_ids: Sequence[str],
    limit: int,
    after_seq: int = 0,
    added_after: datetime | None = None,
    ids: Sequence[str] = (),
    types: Sequence[str] = (),
    versions: Sequence[str] = ("last",),
    spec_versions: Sequence[str] = (),
    text_like: str | None = None,
    max_scan: int = 200_000,
) -> Page:
    """One page of readable objects in ``seq`` order: ``limit`` rows when more follow. Rows the
    viewer may not read are skipped before counting, so a page never leaks nor comes up short
    while more are readable (up to ``max_scan`` scanned rows per call)."""
    visible = Visible(viewer)
    q = select(*_COLUMNS).where(StixObject.collection_id.in_(collection_ids))
    if added_after is not None:
        q = q.where(StixObject.date_added > added_after)
    if ids:
        q = q.where(StixObject.stix_id.in_(ids))
    if types:
        q = q.where(StixObject.type.in_(types))
    if spec_versions:
        q = q.where(StixObject.spec_version.in_(spec_versions))
    if text_like:
        q = q.where(StixObject.body.like(f"%{text_like}%"))
    exact = [v for v in versions if v not in ("all", "last", "first")]
    if "all" not in versions:
        conds = []
        if "last" in versions:
            conds.append(StixObject.latest.is_(True))
        if exact:
            conds.append(
                StixObject.version.in_([version_of({"modified": v}, datetime.min) for v in exact])
            )
        if "first" in versions:
            first = (
                select(func.min(StixObject.seq))
                .where(StixObject.collection_id.in_(collection_ids))
                .group_by(StixObject.collection_id, StixObject.stix_id)
            )
            conds.append(StixObject.seq.in_(first))
        q = q.where(or_(*conds))
    out: list[Any] = []
    scanned = 0
    cursor = after_seq
    chunk = min(max(limit * 2, 100), 20_000)
    while True:
        batch = session.execute(
            q.where(StixObject.seq > cursor).order_by(StixObject.seq).limit(chunk)
        ).all()
        for row in batch:
            cursor = row.seq
            if visible(row):
                if len(out) == limit:
                    return Page(out, True, out[-1].seq)
                out.append(row)
        scanned += len(batch)
        if len(batch) < chunk:
            return Page(out, False, cursor)
        if scanned >= max_scan:
            return Page(out, True, cursor)


def get_versions(
    *, session: Session, viewer: Viewer, collection_ids: Sequence[str], stix_id: str
) -> list[Any]:
    rows = session.execute(
        select(*_COLUMNS)
        .where(StixObject.collection_id.in_(collection_ids), StixObject.stix_id == stix_id)
        .order_by(StixObject.seq)
    ).all()
    visible = Visible(viewer)
    return [r for r in rows if visible(r)]


def iter_indicators(
    session: Session,
    *,
    after_seq: int = 0,
    chunk: int = 20_000,
    skip: set[tuple[str, str]] | None = None,
) -> Iterator[tuple[int, dict[str, Any] | None, Sharing | None]]:
    """Newest indicator versions stored after ``after_seq`` (for the index), in seq order.
    Versions in ``skip`` ((id, version) the caller already has) yield ``(seq, None, None)``
    without their body being read."""
    cursor = after_seq
    while True:
        heads = session.execute(
            select(StixObject.seq, StixObject.stix_id, StixObject.version)
            .where(StixObject.type == "indicator", StixObject.seq > cursor)
            .order_by(StixObject.seq)
            .limit(chunk)
        ).all()
        wanted = [h.seq for h in heads if not skip or (h.stix_id, h.version) not in skip]
        bodies: dict[int, Any] = {}
        for i in range(0, len(wanted), 500):
            for r in session.execute(
                select(*_COLUMNS).where(StixObject.seq.in_(wanted[i : i + 500]))
            ).all():
                bodies[r.seq] = r
        for h in heads:
            cursor = h.seq
            full = bodies.get(h.seq)
            if full is None:
                yield h.seq, None, None
            else:
                yield h.seq, orjson.loads(full.body), sharing_of(full)
        if len(heads) < chunk:
            return


def sharing_of(row: Any) -> Sharing:
    return Sharing(
        TLP(row.tlp),
        row.owner,
        row.community,
        frozenset(row.recipient_orgs or ()),
        frozenset(row.recipient_users or ()),
        row.submitted_by,
    )


def max_seq(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(StixObject.seq), 0))).scalar_one())


def envelope_bytes(rows: Sequence[Any], more: bool, next_token: str | None) -> bytes:
    """A TAXII envelope built from stored JSON text, without re-serialising the objects."""
    head = b'{"more":' + (b"true" if more else b"false")
    if next_token:
        head += b',"next":"' + next_token.encode() + b'"'
    if not rows:
        return head + b"}"
    return head + b',"objects":[' + ",".join(r.body for r in rows).encode() + b"]}"


def taxii_timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ += ["envelope_bytes", "max_seq", "sharing_of", "stix_timestamp", "taxii_timestamp"]
