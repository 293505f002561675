"""``portguard``: the command line. Per-domain groups live in their own modules."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from portguard import __version__
from portguard.cli import access as access_cli
from portguard.cli import admin as admin_cli
from portguard.cli import incidents as incidents_cli
from portguard.cli import infra as infra_cli
from portguard.cli import intel as intel_cli
from portguard.cli import logs as logs_cli
from portguard.cli import mail as mail_cli
from portguard.cli import maritime as maritime_cli
from portguard.cli import portmodel as portmodel_cli
from portguard.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbUrlOpt,
    err,
    load_settings,
    out,
    reports_errors,
)

app = typer.Typer(
    name="portguard",
    help="PortGuard: security operations for a seaport and its port community.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(incidents_cli.app, name="incidents")
app.add_typer(admin_cli.db_app, name="db")
app.add_typer(admin_cli.user_app, name="user")
app.add_typer(admin_cli.token_app, name="token")
app.add_typer(admin_cli.audit_app, name="audit")
app.add_typer(portmodel_cli.app, name="portmodel")
app.add_typer(intel_cli.app, name="intel")
app.add_typer(logs_cli.app, name="logs")
app.add_typer(maritime_cli.app, name="ais")
app.add_typer(access_cli.app, name="access")
app.add_typer(infra_cli.app, name="infra")
app.add_typer(mail_cli.app, name="mail")


def _version(value: bool) -> None:
    if value:
        out.print(f"portguard {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """PortGuard command line."""


def _serve(settings_host: str, settings_port: int, runtime_api: object, log_level: str) -> None:
    import uvicorn

    uvicorn.run(
        runtime_api,  # type: ignore[arg-type]
        host=settings_host,
        port=settings_port,
        log_level=log_level,
        access_log=False,
        # Console event streams stay open up to 30 s; do not let them hold up Ctrl-C.
        timeout_graceful_shutdown=3,
    )


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every plugin and migration at INFO; only problems matter at start-up.
    quiet = max(logging.WARNING, logging.getLogger().level)
    logging.getLogger("alembic").setLevel(quiet)
    # aiosmtpd narrates every SMTP command at INFO ("mail.log").
    logging.getLogger("mail.log").setLevel(quiet)


@app.command()
@reports_errors
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="PORTGUARD_DATA_DIR", help="Where the demo keeps its files."
        ),
    ] = None,
) -> None:
    """Run PortGuard on the embedded defaults (SQLite, in-process bus, built-in Antwerp-Bruges
    model) with a seeded admin and demo alerts that correlate into incidents."""
    from portguard.app.demo import DEMO_ADMIN, DEMO_INFRA, seed_admin, seed_alerts, seed_mail
    from portguard.app.runtime import build_runtime
    from portguard.mail.testing import SmtpSink

    # The demo's stand-in for the port's own mail server: clean mail is relayed to it.
    next_hop = SmtpSink()
    next_hop.__enter__()
    settings = load_settings(
        None,
        host=host,
        port=port,
        data_dir=data_dir or Path.cwd() / "portguard-demo",
        bus="embedded",
        database_url="",
        infra=DEMO_INFRA,
        mail={"next_hop": f"127.0.0.1:{next_hop.port}"},
    )
    _configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    password = seed_admin(runtime.db)
    n = seed_alerts(runtime.bus, runtime.clock.now())
    n += seed_mail(runtime.mail, runtime.db)
    url = f"http://{settings.host}:{settings.port}"
    out.print(f"[bold green]PortGuard demo[/] on {url}   (data in {settings.data_dir})")
    out.print(f"  log in as [bold]{DEMO_ADMIN}[/] / [bold]{password}[/]")
    out.print(f"  API docs: {url}/api/docs    health: {url}/healthz")
    out.print(f"  {n} demo alerts and mails queued; they correlate into incidents in seconds")
    out.print("  Ctrl-C to stop")
    from portguard.web.demofleet import FleetFeeder, demo_fleet

    # Real AIS positions when the shared reference data sits beside the checkout, else a
    # generated fleet; either way a small craft idles at Berendrecht lock.
    ais = Path.cwd().parent / "shared" / "data" / "ais"
    fleet, preamble = demo_fleet(runtime.port_model, ais_dir=ais if ais.is_dir() else None)
    api = runtime.api()
    feeder = FleetFeeder(fleet, runtime.maritime, interval_s=3.0, preamble=preamble)
    feeder.start()
    from portguard.app.demoday import DemoDay

    # A compressed day in the port through the real intake: routine gate and lock traffic,
    # ISAC indicators, and the hybrid attack on Berendrecht lock within the first minute.
    day = DemoDay(runtime)
    day.start()
    out.print("  demo day: 24 h of port traffic replayed in 5 minutes; the attack in ~40 s")
    try:
        _serve(settings.host, settings.port, api, settings.log_level)
    finally:
        day.stop()
        feeder.stop()
        runtime.close()
        next_hop.__exit__()


@app.command()
@reports_errors
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            max=64,
            help="Consumer worker processes to start beside the API (0: consume in-process).",
        ),
    ] = 0,
) -> None:
    """Run the PortGuard service from a config file (and PORTGUARD_* environment)."""
    import subprocess
    import sys

    from portguard.app.runtime import build_runtime

    overrides = {"host": host, "port": port, "data_dir": data_dir, "database_url": database_url}
    settings = load_settings(config, **overrides, in_process_consumers=False if workers else None)
    _configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    procs = []
    for _ in range(workers):
        cmd = [sys.executable, "-m", "portguard", "worker"]
        if config:
            cmd += ["--config", str(config)]
        if data_dir:
            cmd += ["--data-dir", str(data_dir)]
        if database_url:
            cmd += ["--database-url", database_url]
        procs.append(subprocess.Popen(cmd))  # noqa: S603 (our own command)
    err.print(
        f"PortGuard serving on http://{settings.host}:{settings.port}"
        + (f" with {workers} worker process(es)" if workers else "")
    )
    import signal

    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
    # workers below are stopped instead of orphaned.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _serve(settings.host, settings.port, runtime.api(), settings.log_level)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=15)
        runtime.close()


@app.command()
@reports_errors
def worker(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None
) -> None:
    """Run the bus consumers (incident engine, detectors) without the API; start as many as
    needed, on this or other machines sharing the database and bus."""
    import signal
    import threading

    from portguard.app.runtime import build_runtime

    settings = load_settings(config, data_dir=data_dir, database_url=database_url)
    _configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    import os

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()

    def watch_parent() -> None:
        # Started by `serve --workers`: if serve dies (even by SIGKILL), stop too.
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    if parent != 1:
        threading.Thread(target=watch_parent, daemon=True).start()
    err.print("PortGuard worker consuming; SIGTERM or Ctrl-C to stop")
    try:
        runtime.run_worker(stop)
    finally:
        runtime.close()
