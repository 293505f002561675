"""``portguard intel``: import, export, match, publish, and TAXII push/pull for the ISAC hub."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import inspect

from portguard.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbUrlOpt,
    err,
    load_settings,
    out,
    reports_errors,
)
from portguard.core.errors import ConfigError, ValidationError
from portguard.core.settings import Settings
from portguard.core.types import TLP
from portguard.intel import exports, remote
from portguard.intel.hub import IntelHub
from portguard.intel.importers import (
    detect_kind,
    parse_any,
    parse_bundle,
    parse_misp_event,
    parse_plain_list,
)
from portguard.intel.members import Member
from portguard.intel.warninglists import Warninglists

__all__ = ["app"]

app = typer.Typer(
    help="ISAC hub: threat intelligence sharing (STIX 2.1 / TAXII 2.1).", no_args_is_help=True
)

OrgOpt = Annotated[
    str | None,
    typer.Option("--organisation", "-o", help="Act as this member (default: the hub's own)."),
]
WarnOpt = Annotated[
    Path | None,
    typer.Option("--warninglists", help="MISP warninglists directory (default: built-in set)."),
]


def _hub(settings: Settings, warninglists: Path | None = None, *, alerts: bool = False) -> IntelHub:
    from portguard.app.runtime import open_database
    from portguard.core.bus import open_bus
    from portguard.core.clock import SystemClock

    db = open_database(settings)
    if not inspect(db.engine).has_table("intel_objects"):
        raise ConfigError("the database has no ISAC hub tables: run 'portguard db upgrade'")
    wl = Warninglists.load(warninglists) if warninglists else None
    hub = IntelHub(
        db=db,
        bus=open_bus(settings) if alerts else None,
        clock=SystemClock(),
        organisation=settings.organisation,
        warninglists=wl,
    )
    hub.start()
    return hub


def _member(hub: IntelHub, organisation: str | None) -> Member:
    with hub.db.session() as s:
        return hub.member(s, username="cli", organisation=organisation or hub.home, role="admin")


def _settings(config: Path | None, data_dir: Path | None, database_url: str | None) -> Settings:
    return load_settings(config, data_dir=data_dir, database_url=database_url)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror}", location=path) from None


@app.command("import")
@reports_errors
def import_(
    file: Annotated[
        str, typer.Argument(help="STIX bundle, MISP event JSON, or a list ('-': stdin).")
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="auto|stix|misp|list")] = "auto",
    tlp: Annotated[str, typer.Option(help="TLP for records that carry none.")] = "amber",
    community: Annotated[
        str | None, typer.Option(help="Sharing community (default: port-community).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="For lists: domain|ip|url|hash|email.")] = None,
    recipient_org: Annotated[
        list[str] | None, typer.Option(help="AMBER recipient (repeatable).")
    ] = None,
    recipient_user: Annotated[
        list[str] | None, typer.Option(help="RED recipient (repeatable).")
    ] = None,
    organisation: OrgOpt = None,
    warninglists: WarnOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Import threat intelligence; bad records are listed with their position, the rest kept."""
    started = time.perf_counter()
    label = TLP.parse(tlp)
    hub = _hub(_settings(config, data_dir, database_url), warninglists)
    member = _member(hub, organisation)
    text = _read(file)
    now = hub.clock.now()
    ident = member.identity_id
    if fmt == "auto":
        parsed = parse_any(text, now=now, owner_identity=ident, source=file, tlp=label)
    elif fmt == "stix":
        parsed = parse_bundle(text, source=file)
    elif fmt == "misp":
        parsed = parse_misp_event(text, now=now, owner_identity=ident, source=file, tlp=label)
    elif fmt == "list":
        parsed = parse_plain_list(text, now=now, owner_identity=ident, kind=kind, tlp=label)
    else:
        raise ValidationError(f"unknown format {fmt!r}; use auto, stix, misp or list")
    result = hub.ingest(
        member=member,
        parsed=parsed,
        community=community,
        tlp=label,
        recipient_orgs=recipient_org or (),
        recipient_users=recipient_user or (),
        actor="cli",
    )
    for e in result.failures[:50]:
        err.print(f"{file}: {e.position}: {e.message}", highlight=False, markup=False)
    if len(result.failures) > 50:
        err.print(f"... and {len(result.failures) - 50} more errors")
    written = {o["id"] for o, _ in result.written}
    conflicts = [c for c in hub.index.conflicts() if c[0] in written]
    for _, pattern, lists in conflicts[:20]:
        err.print(
            f"warninglist: {pattern} is on {', '.join(lists)}: it will alert, never block",
            highlight=False,
            markup=False,
        )
    out.print(
        f"stored {len(result.written)}, unchanged {result.unchanged}, failed "
        f"{len(result.failures)}, warninglist conflicts {len(conflicts)} "
        f"in {time.perf_counter() - started:.2f}s"
    )
    hub.db.dispose()


@app.command()
@reports_errors
def export(
    fmt: Annotated[str, typer.Argument(help="plain | rpz | nft | postfix | stix")],
    output: Annotated[Path | None, typer.Option("--output", help="File (default: stdout).")] = None,
    organisation: OrgOpt = None,
    warninglists: WarnOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Export a blocklist (or a STIX bundle) of what the organisation may read under TLP."""
    hub = _hub(_settings(config, data_dir, database_url), warninglists)
    member = _member(hub, organisation)
    with hub.db.session() as s:
        body = exports.blocklist(s, member.viewer, hub.warninglists, fmt)
    hub.db.dispose()
    if output is None:
        typer.echo(body, nl=False)
    else:
        output.write_text(body, encoding="utf-8")


@app.command()
@reports_errors
def match(
    file: Annotated[str, typer.Argument(help="Observables, one a line ('-': stdin).")] = "-",
    kind: Annotated[
        str | None, typer.Option(help="domain|ip|url|hash|email (else guessed).")
    ] = None,
    alert: Annotated[
        bool, typer.Option("--alert", help="Raise alerts and record sightings.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per match.")] = False,
    organisation: OrgOpt = None,
    warninglists: WarnOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Check observables against the shared indicators (exit code 3 when any matched)."""
    hub = _hub(_settings(config, data_dir, database_url), warninglists, alerts=alert)
    member = _member(hub, organisation)
    obs: list[tuple[str, str]] = []
    for n, line in enumerate(_read(file).splitlines(), start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        k = kind or detect_kind(value)
        if k is None:
            err.print(f"{file}: line {n}: cannot tell what {value[:80]!r} is", markup=False)
            continue
        obs.append((k, value))
    found = hub.check(obs, source="cli", raise_alerts=alert, viewer=member.viewer)
    hub.db.dispose()
    if as_json:
        for m in found:
            typer.echo(
                json.dumps(
                    {
                        "observable": m.observable,
                        "kind": m.kind,
                        "matched": m.matched,
                        "how": m.how,
                        "indicator_id": m.indicator_id,
                        "name": m.name,
                        "tlp": m.tlp.value,
                        "owner": m.owner,
                        "block": m.block,
                        "warninglists": list(m.warninglists),
                    }
                )
            )
    else:
        table = Table("observable", "matched", "how", "TLP", "shared by", "block", "indicator")
        for m in found:
            table.add_row(
                m.observable,
                m.matched,
                m.how,
                m.tlp.value.upper(),
                m.owner,
                "yes" if m.block else "no (warninglist)",
                m.name,
            )
        out.print(table if found else f"no match in {len(obs)} observables")
    if found:
        raise typer.Exit(3)


@app.command("remote-add")
@reports_errors
def remote_add(
    name: str,
    url: Annotated[str, typer.Argument(help="The remote TAXII collection URL (ending in '/').")],
    community: Annotated[str | None, typer.Option()] = None,
    auth_env: Annotated[
        str | None, typer.Option(help="Env var with user:password or a token.")
    ] = None,
    pull: Annotated[bool, typer.Option("--pull/--no-pull")] = True,
    push: Annotated[bool, typer.Option("--push/--no-push")] = False,
    push_max_tlp: Annotated[str, typer.Option()] = "green",
    interval: Annotated[int, typer.Option(help="Seconds between syncs.")] = 3600,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Register another TAXII server (national ISAC, CERT) to pull from and/or push to."""
    hub = _hub(_settings(config, data_dir, database_url))
    remote.add_remote(
        hub=hub,
        name=name,
        url=url,
        community=community,
        auth_env=auth_env,
        pull=pull,
        push=push,
        push_max_tlp=push_max_tlp,
        interval_s=interval,
        actor="cli",
    )
    out.print(f"remote {name} added")


@app.command("pull")
@reports_errors
def pull_(
    name: str, config: ConfigOpt = None, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None
) -> None:
    """Pull new objects from a remote TAXII server now."""
    res = remote.pull(_hub(_settings(config, data_dir, database_url)), name)
    out.print(f"pulled {res.pulled} objects from {name} ({res.failed} refused)")


@app.command("push")
@reports_errors
def push_(
    name: str, config: ConfigOpt = None, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None
) -> None:
    """Push new shareable objects to a remote TAXII server now."""
    res = remote.push(_hub(_settings(config, data_dir, database_url)), name)
    out.print(f"pushed {res.pushed} objects to {name} ({res.failed} refused)")


@app.command("sync")
@reports_errors
def sync(
    every: Annotated[float, typer.Option(help="Repeat every N seconds (0: once).")] = 0,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Pull/push every remote whose interval has passed (the schedule)."""
    hub = _hub(_settings(config, data_dir, database_url))
    while True:
        for r in remote.run_due(hub):
            line = f"{r.remote}: pulled {r.pulled}, pushed {r.pushed}"
            (err if r.error else out).print(
                line + (f", error: {r.error}" if r.error else ""), markup=False
            )
        if every <= 0:
            return
        time.sleep(every)
