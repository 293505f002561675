"""``portguard infra``: replay OT records offline, feed them to the bus, show traffic impact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml

from portguard.cli.common import ConfigOpt, DataDirOpt, err, load_settings, out, reports_errors
from portguard.core.errors import ConfigError, ValidationError
from portguard.core.types import Alert
from portguard.infra import InfraConfig, InfraWatch
from portguard.portmodel import Directory, builtin_port_model, load_port_model
from portguard.portmodel.directory import PersonInfo, parse_directory_csv

__all__ = ["app"]

app = typer.Typer(help="Critical infrastructure: locks, bridges, roads.", no_args_is_help=True)

RulesOpt = Annotated[
    Path | None,
    typer.Option("--rules", help="YAML: thresholds, assets, plans, shifts (docs/access_infra.md)."),
]


def _config(path: Path | None) -> InfraConfig:
    if path is None:
        return InfraConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return InfraConfig.from_dict(data)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValidationError(str(exc), location=str(path)) from None


def _show(alert: Alert, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(alert.model_dump(mode="json")))
    else:
        out.print(f"[bold]{alert.rule_id}[/] {alert.severity} {alert.title}", highlight=False)


@app.command()
@reports_errors
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl or csv.")] = None,
    rules: RulesOpt = None,
    directory: Annotated[
        Path | None, typer.Option(help="Directory CSV (accounts ↔ people).")
    ] = None,
    alerts: Annotated[
        Path | None, typer.Option(help="JSON lines of other domains' alerts (phishing, AIS).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run every infra detector on a file, offline; alerts on stdout, counters on stderr."""
    d = None
    if directory is not None:
        rows, problems = parse_directory_csv(_read(directory), source=str(directory))
        for p in problems:
            err.print(p, highlight=False)
        d = Directory(
            PersonInfo(
                id=r.person_id,
                name=r.name,
                organisation_id=r.organisation_id,
                role=r.role,
                identities=r.identities,
            )
            for r in rows
        )
    watch = InfraWatch(_config(rules), port_model=builtin_port_model(), directory=d)
    if alerts is not None:
        others = []
        for n, line in enumerate(_read(alerts).splitlines(), 1):
            if line.strip():
                try:
                    others.append(Alert.model_validate_json(line))
                except ValueError as exc:
                    err.print(f"{alerts}:{n}: {str(exc).splitlines()[0]}", highlight=False)
        for a in watch.observe_alerts(others):
            _show(a, as_json)
    f = fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    report = watch.ingest_text(_read(file), fmt=f, source=str(file))
    for a in watch.process(sorted(report.events, key=lambda e: e.observed_at)):
        _show(a, as_json)
    for p in report.problems:
        err.print(p, highlight=False)
    err.print(json.dumps({**report.as_dict(), "problems": len(report.problems)}))


@app.command()
@reports_errors
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl or csv.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Validate a file and publish its records on the bus (durably)."""
    from portguard.core.bus import open_bus

    settings = load_settings(config, data_dir=data_dir)
    model = load_port_model(settings.port_model) if settings.port_model else builtin_port_model()
    with open_bus(settings) as bus:
        watch = InfraWatch(port_model=model, bus=bus)
        f = fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")
        report = watch.ingest_text(_read(file), fmt=f, source=str(file))
    for p in report.problems:
        err.print(p, highlight=False)
    out.print(json.dumps({**report.as_dict(), "problems": len(report.problems)}))
    if report.rejected and not report.accepted:
        raise typer.Exit(2)


@app.command()
@reports_errors
def impact(
    asset: str,
    state: Annotated[
        str, typer.Option(help="open, closed, moving, maintenance or fault.")
    ] = "fault",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The traffic impact of an asset of the built-in model being in a state."""
    watch = InfraWatch(port_model=builtin_port_model())
    imp = watch.impact(asset, state)
    if as_json:
        typer.echo(json.dumps(imp.as_dict()))
    else:
        out.print(imp.summary, highlight=False)
