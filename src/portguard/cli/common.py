"""Shared CLI plumbing: settings options, error reporting with exit codes, consoles."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from portguard.core.errors import ConfigError, PortGuardError, ValidationError
from portguard.core.settings import Settings

__all__ = ["ConfigOpt", "DataDirOpt", "DbUrlOpt", "err", "load_settings", "out", "reports_errors"]

out = Console(soft_wrap=True)
err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML config file.", envvar="PORTGUARD_CONFIG"),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where PortGuard keeps its files (env PORTGUARD_DATA_DIR)."),
]
DbUrlOpt = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL (env PORTGUARD_DATABASE_URL).")
]

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1
EXIT_USAGE = 2


def load_settings(config: Path | None, **overrides: Any) -> Settings:
    return Settings.load(config, **overrides)


def open_db(config: Path | None, data_dir: Path | None, database_url: str | None) -> Any:
    """The configured database, migrated (a ``portguard.core.db.Database``)."""
    from portguard.app.runtime import open_database

    return open_database(load_settings(config, data_dir=data_dir, database_url=database_url))


def reports_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn PortGuard errors into a one-line message and an exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (ValidationError, ConfigError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except PortGuardError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper
