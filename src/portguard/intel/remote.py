"""Pull from and push to another TAXII 2.1 server (a national ISAC, a CERT), with the OASIS
taxii2-client. Credentials never sit in the database: a remote names an environment variable
holding ``user:password`` (HTTP Basic) or a bearer token.

Pulled objects are stored as the hub's own organisation (``remote:<name>`` as submitter) with
their TLP marking, or the remote's ``pull_tlp`` when they carry none. Pushed objects are the
latest versions in the remote's community whose TLP is at most ``push_max_tlp`` (GREEN by
default; RED is never pushed). ``run_due`` runs every remote whose interval has passed: call it
on a schedule (``portguard intel sync --every 300`` does).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select

from portguard.core import audit
from portguard.core.errors import ConfigError, NotFoundError, ValidationError
from portguard.core.types import TLP
from portguard.intel import members
from portguard.intel.hub import IntelHub
from portguard.intel.importers import Parsed
from portguard.intel.members import IsacRole, Member
from portguard.intel.models import Community, Organisation, RemoteServer, StixObject
from portguard.intel.tlp import Viewer

__all__ = ["RemoteResult", "add_remote", "pull", "push", "run_due"]


@dataclass
class RemoteResult:
    remote: str
    pulled: int = 0
    pushed: int = 0
    failed: int = 0
    error: str | None = None


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def _collection(remote: RemoteServer) -> Any:
    from taxii2client.v21 import Collection  # type: ignore[import-not-found,import-untyped,unused-ignore]

    kwargs: dict[str, Any] = {}
    if remote.auth_env:
        secret = os.environ.get(remote.auth_env)
        if not secret:
            raise ConfigError(
                f"remote {remote.name!r}: environment variable {remote.auth_env} is empty"
            )
        user, sep, password = secret.partition(":")
        if sep and not secret.startswith("pgt_"):
            kwargs.update(user=user, password=password)
        else:
            kwargs["auth"] = _Bearer(secret)
    return Collection(remote.url, **kwargs)


def add_remote(
    *,
    hub: IntelHub,
    name: str,
    url: str,
    community: str | None = None,
    auth_env: str | None = None,
    pull: bool = True,
    push: bool = False,
    push_max_tlp: str = "green",
    pull_tlp: str = "green",
    interval_s: int = 3600,
    actor: str,
) -> None:
    if TLP.parse(push_max_tlp) is TLP.RED:
        raise ValidationError("TLP:RED is never pushed to another server")
    if not url.startswith(("http://", "https://")) or not url.endswith("/"):
        raise ValidationError("the remote must be a TAXII collection URL ending in '/'")
    with hub.db.session() as s:
        com = hub.community(s, community)
        if s.get(RemoteServer, name) is not None:
            raise ValidationError(f"remote {name!r} exists")
        s.add(
            RemoteServer(
                name=name,
                url=url,
                community=com.id,
                auth_env=auth_env,
                pull=pull,
                push=push,
                push_max_tlp=TLP.parse(push_max_tlp).value,
                pull_tlp=TLP.parse(pull_tlp).value,
                interval_s=interval_s,
                last_pushed_seq=0,
            )
        )
        audit.record(
            s,
            actor=actor,
            action="intel.remote.add",
            target=f"remote:{name}",
            details={"url": url, "pull": pull, "push": push},
        )


def _remote(hub: IntelHub, name: str) -> RemoteServer:
    with hub.db.session() as s:
        r = s.get(RemoteServer, name)
        if r is None:
            raise NotFoundError(f"no remote {name!r}")
        s.expunge(r)
        return r


def _home_member(hub: IntelHub, username: str) -> Member:
    with hub.db.session() as s:
        m = members.member_for(
            session=s, username="portguard", organisation=hub.home, core_role="admin", home=hub.home
        )
    return Member(
        Viewer(username, m.organisation, True, m.viewer.communities, m.viewer.client_of),
        IsacRole.ADMIN,
        m.identity_id,
    )


def pull(hub: IntelHub, name: str) -> RemoteResult:
    from taxii2client.v21 import as_pages  # type: ignore[import-not-found,import-untyped,unused-ignore]

    remote = _remote(hub, name)
    out = RemoteResult(name)
    started = hub.clock.now() - timedelta(seconds=5)
    kwargs: dict[str, Any] = {}
    if remote.last_added:
        kwargs["added_after"] = remote.last_added
    coll = _collection(remote)
    member = _home_member(hub, f"remote:{name}"[:64])
    for envelope in as_pages(coll.get_objects, per_request=1000, **kwargs):
        objs = envelope.get("objects", [])
        if not objs:
            continue
        parsed = Parsed(objects=[(f"{name}:objects[{i}]", o) for i, o in enumerate(objs)])
        res = hub.ingest(
            member=member,
            parsed=parsed,
            community=remote.community,
            tlp=TLP(remote.pull_tlp),
            actor=f"remote:{name}",
        )
        out.pulled += len(res.written)
        out.failed += len(res.failures)
    _finish(hub, name, last_added=started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return out


def push(hub: IntelHub, name: str) -> RemoteResult:
    remote = _remote(hub, name)
    out = RemoteResult(name)
    cap = TLP(remote.push_max_tlp)
    allowed = [t.value for t in TLP if t.rank <= cap.rank and t is not TLP.RED]
    coll = _collection(remote)
    last = remote.last_pushed_seq
    with hub.db.session() as s:
        com = s.get(Community, remote.community)
        if com is None:
            raise NotFoundError(f"no community {remote.community!r}")
        rows = s.execute(
            select(StixObject.seq, StixObject.body)
            .where(StixObject.collection_id == com.collection_id, StixObject.seq > last)
            .where(StixObject.latest.is_(True), StixObject.tlp.in_(allowed))
            .where(StixObject.submitted_by.not_like("remote:%"))  # never echo what we pulled
            .order_by(StixObject.seq)
        ).all()
    for i in range(0, len(rows), 1000):
        chunk = rows[i : i + 1000]
        status = coll.add_objects(
            {"objects": [json.loads(r.body) for r in chunk]}, wait_for_completion=False
        )
        out.pushed += int(getattr(status, "success_count", 0) or 0)
        out.failed += int(getattr(status, "failure_count", 0) or 0)
        last = chunk[-1].seq
    _finish(hub, name, last_pushed_seq=last)
    return out


def _finish(hub: IntelHub, name: str, **changes: Any) -> None:
    with hub.db.session() as s:
        r = s.get(RemoteServer, name)
        if r is not None:
            for k, v in changes.items():
                setattr(r, k, v)
            r.last_run_at = hub.clock.now()
            r.last_error = None


def run_due(hub: IntelHub, *, now: datetime | None = None) -> list[RemoteResult]:
    """Pull and/or push every remote whose interval has passed; a failing remote is recorded
    (``last_error``) and the others still run."""
    now = now or hub.clock.now()
    with hub.db.session() as s:
        remotes = [
            (r.name, r.pull, r.push, r.last_run_at, r.interval_s)
            for r in s.execute(select(RemoteServer)).scalars()
        ]
        _ = s.get(Organisation, hub.home)
    results = []
    for name, do_pull, do_push, last, interval in remotes:
        if last is not None and last + timedelta(seconds=interval) > now:
            continue
        res = RemoteResult(name)
        try:
            if do_pull:
                res.pulled = pull(hub, name).pulled
            if do_push:
                res.pushed = push(hub, name).pushed
        except Exception as exc:  # one remote failing must not stop the others
            res.error = f"{type(exc).__name__}: {exc}"[:1000]
            with hub.db.session() as s:
                r = s.get(RemoteServer, name)
                if r is not None:
                    r.last_error = res.error
                    r.last_run_at = now
        results.append(res)
    return results
