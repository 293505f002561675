"""Test helpers: a real PortGuard (runtime, API, console) served by uvicorn in a thread on a
free loopback port, seeded like the demo (admin, demo alerts, a moving fleet) plus one user per
role: for the console's browser tests and ``bench/console.py``."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from portguard.app.demo import seed_admin, seed_alerts, seed_mail
from portguard.app.runtime import Runtime, build_runtime
from portguard.core import auth
from portguard.core.settings import Settings
from portguard.web.demofleet import Fleet, FleetFeeder

PASSWORD = "operator password 1"  # noqa: S105 (a test account)


__all__ = ["PASSWORD", "Console", "free_port", "serve_console"]


@dataclass
class Console:
    url: str
    runtime: Runtime
    admin_password: str
    users: dict[str, str] = field(default_factory=dict)  # username -> password
    feeder: FleetFeeder | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_console(
    data_dir: Path,
    *,
    vessels: int = 60,
    fleet_interval_s: float = 1.0,
    seed_demo: bool = True,
) -> Iterator[Console]:
    runtime = build_runtime(Settings.load(data_dir=data_dir))
    password = seed_admin(runtime.db)
    users = {}
    with runtime.db.session() as s:
        for name, role, org in (
            ("operator1", "operator", None),
            ("auditor1", "auditor", None),
            ("analyst1", "analyst", None),
            ("member1", "operator", "terminal-operator-x"),
        ):
            auth.create_user(
                session=s, username=name, password=PASSWORD, role=role, organisation=org
            )
            users[name] = PASSWORD
    app = runtime.api()
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    else:
        raise RuntimeError("the console server did not start")
    feeder = None
    if vessels:
        feeder = FleetFeeder(
            Fleet.generated(runtime.port_model, vessels),
            runtime.maritime,
            interval_s=fleet_interval_s,
        )
        feeder.tick(statics=True)
        feeder.start()
    if seed_demo:
        seed_alerts(runtime.bus, runtime.clock.now())
        seed_mail(runtime.mail, runtime.db)
    try:
        yield Console(url, runtime, password, users, feeder)
    finally:
        if feeder is not None:
            feeder.stop()
        server.should_exit = True
        thread.join(30)
        runtime.close()
