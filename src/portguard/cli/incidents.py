"""``portguard incidents``: list, show, NIS2 significance, reports and submissions."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from portguard.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbUrlOpt,
    err,
    open_db,
    out,
    reports_errors,
)
from portguard.core.clock import ensure_utc, utcnow
from portguard.core.types import Severity
from portguard.incidents import nis2, reporting, service
from portguard.incidents.models import Status
from portguard.incidents.schemas import IncidentRead

__all__ = ["app"]

app = typer.Typer(help="Incidents and NIS2 reporting.", no_args_is_help=True)

ACTOR = "cli"


def _sev_style(sev: int) -> str:
    return {4: "bold red", 3: "red", 2: "yellow", 1: "cyan"}.get(sev, "dim")


@app.command("list")
@reports_errors
def list_(
    status: Annotated[
        list[Status] | None, typer.Option("--status", "-s", help="Repeatable filter.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """List incidents, most recent activity first."""
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        rows = service.list_incidents(
            session=session, status=[s.value for s in status] if status else None, limit=limit
        )
        reads = [IncidentRead.of(r) for r in rows]
    db.dispose()
    if as_json:
        for r in reads:
            typer.echo(r.model_dump_json())
        return
    table = Table(
        "ref", "severity", "status", "category", "title", "alerts", "domains", "last seen"
    )
    for r in reads:
        sev = int(Severity.parse(r.severity))
        table.add_row(
            r.ref,
            f"[{_sev_style(sev)}]{r.severity}[/]",
            r.status.value,
            r.category + (" [magenta](hybrid)[/]" if r.hybrid else ""),
            r.title,
            str(r.alert_count),
            ",".join(r.domains),
            r.last_seen.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table if reads else "no incidents")


@app.command()
@reports_errors
def show(
    incident: Annotated[str, typer.Argument(help="Reference (INC-2026-0001) or id.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Show one incident: alerts, timeline, NIS2 clock."""
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        inc = service.get_incident(session=session, incident_id=incident)
        read = IncidentRead.of(inc)
        clock = reporting.clock_json(inc, now=utcnow())
        timeline = [(t.at, t.kind, t.actor, t.text) for t in inc.timeline]
    db.dispose()
    if as_json:
        data = read.model_dump(mode="json")
        data["nis2"] = clock
        data["timeline"] = [
            {"at": at.isoformat(), "kind": k, "actor": a, "text": t} for at, k, a, t in timeline
        ]
        typer.echo(json.dumps(data))
        return
    out.print(f"[bold]{read.ref}[/]  {read.title}")
    out.print(
        f"  severity {read.severity}  status {read.status.value}  category {read.category}"
        f"{'  [magenta]hybrid[/]' if read.hybrid else ''}  TLP:{read.tlp.upper()}"
    )
    out.print(f"  domains {', '.join(read.domains)}   alerts {read.alert_count}")
    table = Table("time (UTC)", "kind", "actor", "what", title="timeline")
    for at, kind, actor, text in timeline:
        table.add_row(at.strftime("%Y-%m-%d %H:%M:%S"), kind, actor, text)
    out.print(table)
    if clock["clock"]:
        t2 = Table("report", "due (UTC)", "status", title="NIS2 clock")
        for d in clock["clock"]["deadlines"]:
            t2.add_row(d["stage"], d["due_at"] or "-", d["status"])
        out.print(t2)
    else:
        out.print("  NIS2: not marked significant")


@app.command()
@reports_errors
def significant(
    incident: str,
    criterion: Annotated[
        list[nis2.CriterionCode],
        typer.Option("--criterion", help="Repeatable; see `portguard incidents criteria`."),
    ],
    aware_at: Annotated[
        datetime | None, typer.Option(help="When the entity became aware (UTC unless offset).")
    ] = None,
    malicious: Annotated[
        bool | None, typer.Option("--malicious/--not-malicious", help="Malicious act suspected?")
    ] = None,
    cross_border: Annotated[bool | None, typer.Option("--cross-border/--no-cross-border")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Mark an incident significant under NIS2; starts the 24 h / 72 h / 1 month clock."""
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        inc = service.get_incident(session=session, incident_id=incident)
        reporting.mark_significant(
            session=session,
            incident=inc,
            criteria=[c.value for c in criterion],
            aware_at=ensure_utc(aware_at) if aware_at else None,
            malicious_suspected=malicious,
            cross_border=cross_border,
            actor=ACTOR,
        )
        clock = reporting.clock_for(inc, now=utcnow())
        ref = inc.ref
    db.dispose()
    out.print(f"{ref} marked significant")
    if clock and clock.next_due and clock.next_due.due_at:
        out.print(f"  next: {clock.next_due.stage.value} due {clock.next_due.due_at.isoformat()}")


@app.command()
def criteria() -> None:
    """The NIS2 significance checklist."""
    table = Table("code", "criterion", "source")
    for c in nis2.SIGNIFICANCE_CHECKLIST:
        table.add_row(c.code.value, c.label, c.source)
    out.print(table)


@app.command()
@reports_errors
def report(
    incident: str,
    stage: Annotated[
        nis2.Stage, typer.Option(help="Which NIS2 report.")
    ] = nis2.Stage.EARLY_WARNING,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or json.")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Generate a NIS2 report (early warning, notification, intermediate, progress, final)."""
    if fmt not in ("md", "html", "json"):
        err.print(f"[red]error:[/] --format must be md, html or json, not {fmt!r}")
        raise typer.Exit(2)
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        inc = service.get_incident(session=session, incident_id=incident)
        rep = reporting.build_incident_report(inc, stage, now=utcnow())
    db.dispose()
    if fmt == "md":
        text = rep.to_markdown()
    elif fmt == "html":
        text = rep.to_html()
    else:
        text = json.dumps(rep.to_json(), indent=2)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        typer.echo(text)
    if rep.missing:
        err.print(f"[yellow]to complete before sending:[/] {', '.join(rep.missing)}")


@app.command()
@reports_errors
def submit(
    incident: str,
    stage: Annotated[nis2.Stage, typer.Option(help="Which report was sent.")],
    authority: Annotated[str, typer.Option(help="Who it went to.")] = "CCB",
    reference: Annotated[str, typer.Option(help="The authority's reference.")] = "",
    at: Annotated[datetime | None, typer.Option(help="When it was sent (default now).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Record that a NIS2 report was submitted."""
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        inc = service.get_incident(session=session, incident_id=incident)
        reporting.record_submission(
            session=session,
            incident=inc,
            stage=stage,
            authority=authority,
            reference=reference,
            submitted_at=ensure_utc(at) if at else None,
            actor=ACTOR,
        )
        ref = inc.ref
    db.dispose()
    out.print(f"recorded {stage.value} for {ref} to {authority}")
