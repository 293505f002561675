"""``portguard db|user|token|audit``: local administration, straight on the database."""

from __future__ import annotations

import getpass
import secrets
from datetime import timedelta
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
from portguard.core import audit, auth

__all__ = ["audit_app", "db_app", "token_app", "user_app"]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@db_app.command("upgrade")
@reports_errors
def db_upgrade(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None
) -> None:
    """Create or migrate the schema to the current version."""
    db = open_db(config, data_dir, database_url)
    out.print(f"database at {db.engine.url.render_as_string(hide_password=True)} is up to date")
    db.dispose()


@user_app.command("add")
@reports_errors
def user_add(
    username: str,
    role: Annotated[auth.Role, typer.Option(help="admin, analyst, operator or auditor.")],
    organisation: Annotated[str | None, typer.Option(help="ISAC member organisation.")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (at least 12 characters). Omit to be prompted; "
            "'-' generates one and prints it once."
        ),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Add a user."""
    generated = False
    if password is None:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            err.print("[red]error:[/] passwords differ")
            raise typer.Exit(2)
    elif password == "-":  # noqa: S105 (the "generate one" marker)
        password = secrets.token_urlsafe(15)
        generated = True
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        user = auth.create_user(
            session=session,
            username=username,
            password=password,
            role=role,
            organisation=organisation,
            actor="cli",
        )
        out.print(f"added {user.username} ({user.role})")
    if generated:
        out.print(f"password: {password}")
    db.dispose()


@user_app.command("list")
@reports_errors
def user_list(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None
) -> None:
    """List users."""
    db = open_db(config, data_dir, database_url)
    table = Table("username", "role", "organisation", "active", "created")
    with db.session() as session:
        for u in auth.list_users(session=session):
            table.add_row(
                u.username,
                u.role,
                u.organisation or "",
                "yes" if u.active else "no",
                u.created_at.strftime("%Y-%m-%d %H:%M"),
            )
    out.print(table)
    db.dispose()


@token_app.command("create")
@reports_errors
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    ttl_hours: Annotated[
        float | None, typer.Option(min=0.01, help="Expire after this many hours.")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Create an API token for a user and print it (shown this once; only a hash is kept)."""
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        user = auth.get_user(session=session, username=username)
        ttl = timedelta(hours=ttl_hours) if ttl_hours else None
        _, secret = auth.create_token(session=session, user=user, name=name, ttl=ttl, actor="cli")
    # Plain print: the token alone on stdout, so scripts can capture it.
    typer.echo(secret)
    db.dispose()


@audit_app.command("verify")
@reports_errors
def audit_verify(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, database_url: DbUrlOpt = None
) -> None:
    """Check the audit log's hash chain; exit 1 if it was tampered with."""
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        result = audit.verify(session)
    db.dispose()
    if result.ok:
        out.print(f"[green]audit log intact[/]: {result.entries} entries")
        return
    err.print(
        f"[bold red]audit log broken[/] at entry {result.first_bad_seq} "
        f"(after checking {result.entries}): {result.reason}"
    )
    raise typer.Exit(1)
