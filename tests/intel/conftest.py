"""An ISAC hub with member organisations, users and tokens; a real HTTP server on loopback for
taxii2-client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portguard.api import create_api
from portguard.core import auth
from portguard.core.bus import EmbeddedBus
from portguard.core.clock import SystemClock
from portguard.core.http import AppContext
from portguard.core.metrics import Metrics
from portguard.core.settings import Settings
from portguard.intel import members
from portguard.intel.api import router as rest_router
from portguard.intel.hub import IntelHub
from portguard.intel.taxii import router as taxii_router
from portguard.testing import migrated_db

PASSWORD = "a long enough password"
HOME = "port-of-antwerp-bruges"


@dataclass
class Hub:
    ctx: AppContext
    hub: IntelHub
    app: FastAPI
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def member(self, user: str) -> members.Member:
        with self.ctx.db.session() as s:
            u = auth.get_user(session=s, username=user)
            return self.hub.member(s, username=u.username, organisation=u.organisation, role=u.role)


def make_hub(tmp_path: Path, db_url: str | None = None) -> Hub:
    db = migrated_db(db_url or f"sqlite:///{tmp_path / 'portguard.db'}")
    settings = Settings.load(data_dir=tmp_path, organisation=HOME)
    ctx = AppContext(
        settings=settings,
        db=db,
        bus=EmbeddedBus(tmp_path / "bus.db"),
        clock=SystemClock(),
        metrics=Metrics(),
    )
    hub = IntelHub(db=db, bus=ctx.bus, clock=ctx.clock, organisation=HOME)
    ctx.extras["intel"] = hub
    hub.start()
    app = create_api(ctx, [taxii_router, rest_router])
    return Hub(ctx, hub, app, TestClient(app))


def add_user(h: Hub, name: str, role: str, org: str | None) -> None:
    with h.ctx.db.session() as s:
        user = auth.create_user(
            session=s, username=name, password=PASSWORD, role=role, organisation=org
        )
        h.tokens[name] = auth.create_token(session=s, user=user, name="t")[1]


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    """Members: the port (home), terminal-a and shipping-b (port community), agency-c (a
    client of terminal-a), outsider (not a member). Users: ``<org>-<role>`` for every core role
    of the port and terminal-a, analysts elsewhere."""
    h = make_hub(tmp_path, db_url)
    with h.ctx.db.session() as s:
        members.add_organisation(session=s, org_id="terminal-a", name="Terminal A", actor="t")
        members.add_organisation(session=s, org_id="shipping-b", name="Shipping B", actor="t")
        members.add_organisation(
            session=s,
            org_id="agency-c",
            name="Agency C",
            client_of=["terminal-a"],
            communities=[],
            actor="t",
        )
    for role in auth.Role:
        add_user(h, f"port-{role.value}", role.value, None)
        add_user(h, f"terma-{role.value}", role.value, "terminal-a")
    add_user(h, "shipb-analyst", "analyst", "shipping-b")
    add_user(h, "agencyc-analyst", "analyst", "agency-c")
    add_user(h, "outsider-analyst", "analyst", "outsider")
    h.hub.refresh_viewer()
    yield h
    h.client.close()
    h.ctx.bus.close()
    h.ctx.db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(hub: Hub) -> Iterator[str]:
    """The hub's app served on loopback; yields the base URL."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(hub.app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(5)
