"""``portguard access``: replay access records offline, feed them to the bus, manage credentials
and the directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml

from portguard.access import AccessConfig, AccessControl
from portguard.access.credentials import (
    import_credentials_csv,
    parse_credentials_csv,
    revoke_credential,
)
from portguard.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbUrlOpt,
    err,
    load_settings,
    open_db,
    out,
    reports_errors,
)
from portguard.core.errors import ConfigError, ValidationError
from portguard.portmodel import builtin_port_model, import_directory_csv, load_port_model

__all__ = ["app"]

app = typer.Typer(help="Access control: badges, readers, access events.", no_args_is_help=True)
credentials_app = typer.Typer(help="Badges (credentials).", no_args_is_help=True)
directory_app = typer.Typer(help="The directory of people and identities.", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")
app.add_typer(directory_app, name="directory")

FormatOpt = Annotated[
    str | None, typer.Option("--format", help="jsonl or csv (default: from the file name).")
]
RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="YAML detector configuration (docs/access_infra.md).")
]


def _fmt(path: Path, fmt: str | None) -> str:
    f = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    if f not in ("jsonl", "csv"):
        raise ValidationError(f"unknown format {f!r}; use jsonl or csv", location="--format")
    return f


def _config(path: Path | None) -> AccessConfig:
    if path is None:
        return AccessConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return AccessConfig.from_dict(data)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValidationError(str(exc), location=str(path)) from None


@app.command()
@reports_errors
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    fmt: FormatOpt = None,
    rules: RulesOpt = None,
    credentials: Annotated[
        Path | None, typer.Option(help="Credentials CSV (default: none, every badge unknown).")
    ] = None,
    port_model: Annotated[Path | None, typer.Option("--port-model")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON alert per line.")] = False,
) -> None:
    """Run every access detector on a file, offline (no database, no bus); alerts on stdout,
    intake counters on stderr."""
    model = load_port_model(port_model) if port_model else builtin_port_model()
    ac = AccessControl(_config(rules), port_model=model)
    if credentials is not None:
        rows, problems = parse_credentials_csv(_read(credentials), source=str(credentials))
        for p in problems:
            err.print(p, highlight=False)
        ac.set_credentials(r.to_credential() for r in rows)
    report = ac.ingest_text(_read(file), fmt=_fmt(file, fmt), source=str(file))
    events = sorted(report.events, key=lambda e: e.observed_at)
    for alert in ac.process(events):
        if as_json:
            typer.echo(json.dumps(alert.model_dump(mode="json")))
        else:
            out.print(f"[bold]{alert.rule_id}[/] {alert.severity} {alert.title}", highlight=False)
    for p in report.problems:
        err.print(p, highlight=False)
    err.print(json.dumps({**report.as_dict(), "problems": len(report.problems)}))


@app.command()
@reports_errors
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    fmt: FormatOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Validate a file and publish its records on the bus (durably) for the running detectors."""
    from portguard.core.bus import open_bus

    settings = load_settings(config, data_dir=data_dir)
    model = load_port_model(settings.port_model) if settings.port_model else builtin_port_model()
    with open_bus(settings) as bus:
        ac = AccessControl(port_model=model, bus=bus)
        report = ac.ingest_text(_read(file), fmt=_fmt(file, fmt), source=str(file))
    for p in report.problems:
        err.print(p, highlight=False)
    out.print(json.dumps({**report.as_dict(), "problems": len(report.problems)}))
    if report.rejected and not report.accepted:
        raise typer.Exit(2)


@credentials_app.command("import")
@reports_errors
def credentials_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Create or replace credentials from a CSV file (audited)."""
    db = open_db(config, data_dir, database_url)
    with db.session() as s:
        result = import_credentials_csv(session=s, text=_read(file), actor="cli", source=str(file))
    for p in result.problems:
        err.print(p, highlight=False)
    out.print(f"{result.imported} credential(s) imported, {len(result.problems)} problem(s)")


@credentials_app.command("revoke")
@reports_errors
def credentials_revoke(
    badge: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Revoke a badge (audited). Running detectors pick it up on their next reload."""
    db = open_db(config, data_dir, database_url)
    with db.session() as s:
        revoke_credential(session=s, badge=badge, actor="cli", reason=reason)
    out.print(f"{badge} revoked")


@directory_app.command("import")
@reports_errors
def directory_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Upsert people, organisations and identities from CSV (audited)."""
    db = open_db(config, data_dir, database_url)
    with db.session() as s:
        report = import_directory_csv(session=s, text=_read(file), actor="cli", source=str(file))
    for p in report.problems:
        err.print(p, highlight=False)
    for key, before, after in report.moved:
        err.print(f"{key} moved from {before} to {after}", highlight=False)
    out.print(
        f"{report.persons} people, {report.organisations} organisations, "
        f"{report.identities} identities; {len(report.problems)} problem(s)"
    )
