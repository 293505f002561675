"""``portguard portmodel``: check a port-model GeoJSON file, list what a model contains."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from portguard.cli.common import err, out, reports_errors
from portguard.portmodel import builtin_port_model, load_port_model, validate_file

__all__ = ["app"]

app = typer.Typer(help="The port model (GeoJSON).", no_args_is_help=True)


@app.command()
def validate(path: Path) -> None:
    """Check a port-model file; list every problem with its feature and field. Exit 2 if bad."""
    problems = validate_file(path)
    if not problems:
        out.print(f"[green]{path}: valid[/]")
        return
    for p in problems:
        err.print(f"{p.where}: {p.message}", highlight=False)
    err.print(f"[red]{len(problems)} problem(s)[/]")
    raise typer.Exit(2)


@app.command("list")
@reports_errors
def list_(
    path: Annotated[
        Path | None, typer.Argument(help="A GeoJSON file; default: the built-in model.")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind (lock, bridge, ...).")] = None,
) -> None:
    """List the features of a port model."""
    model = load_port_model(path) if path else builtin_port_model()
    table = Table("id", "kind", "name", "lat", "lon", "facility", "ISPS level")
    for f in model:
        if kind and f.kind != kind:
            continue
        table.add_row(
            f.id,
            str(f.kind),
            f.name,
            f"{f.lat:.4f}",
            f"{f.lon:.4f}",
            f.facility or "",
            str(f.security_level or ""),
        )
    out.print(table)
