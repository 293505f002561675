"""One Settings object, built once at start-up (in ``portguard.app``) and passed down.

Sources, highest priority first: explicit arguments (CLI flags), ``PORTGUARD_*`` environment
variables, a TOML file, defaults. Nothing reads settings at import time.
"""

from __future__ import annotations

import contextvars
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from portguard.core.errors import ConfigError

__all__ = ["Settings", "default_data_dir"]

_TOML_FILE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("toml", default=None)


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "portguard"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTGUARD_", extra="forbid", frozen=True)

    #: Where the embedded database, bus log, spool and reports live.
    data_dir: Path = Field(default_factory=default_data_dir)
    #: SQLAlchemy URL. Empty means SQLite at ``data_dir/portguard.db``.
    database_url: str = ""
    #: ``embedded`` (SQLite log + in-process dispatch) or ``redis`` (Redis Streams).
    bus: Literal["embedded", "redis"] = "embedded"
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Namespace for bus streams/tables, so several instances can share one Redis.
    bus_namespace: str = "portguard"
    #: Days the bus keeps records every consumer group has acknowledged (hourly retention;
    #: records a group still needs are kept whatever their age). Unset keeps everything.
    bus_retention_days: float | None = Field(default=7.0, gt=0)
    #: The organisation running this PortGuard (owner of its incidents, for TLP decisions).
    organisation: str = "port-of-antwerp-bruges"
    #: Run the bus consumers (incident engine, detectors) in the API process. Turn off when
    #: separate `portguard worker` processes consume (they then use the other CPU cores).
    in_process_consumers: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: A GeoJSON port model to load instead of the built-in Antwerp-Bruges model.
    port_model: Path | None = None
    #: YAML correlation rules; empty means the built-in rules.
    correlation_rules: Path | None = None
    #: Folders of Sigma rules (e.g. SigmaHQ's packs) to load beside PortGuard's own port rules.
    sigma_rules: list[Path] = Field(default_factory=list)
    #: Listen for syslog (IT/OT logs) on these loopback/LAN ports; unset means not listening.
    syslog_host: str = "127.0.0.1"
    syslog_udp_port: int | None = Field(default=None, ge=0, le=65535)
    syslog_tcp_port: int | None = Field(default=None, ge=0, le=65535)
    #: AIS feeds ("host:port"): connect to these, listen on these (TCP, UDP). Empty: none.
    ais_tcp_connect: list[str] = Field(default_factory=list)
    ais_tcp_listen: list[str] = Field(default_factory=list)
    ais_udp_listen: list[str] = Field(default_factory=list)
    #: Access-control and infrastructure detector configuration ([access] and [infra] tables:
    #: per-facility/asset settings, schedules, plans; see docs/access_infra.md).
    access: dict[str, Any] = Field(default_factory=dict)
    infra: dict[str, Any] = Field(default_factory=dict)
    #: The mail gateway's settings (a [mail] table in the TOML file; see docs/mail.md). The
    #: SMTP listener only starts when ``listen`` is given here.
    mail: dict[str, Any] = Field(default_factory=dict)
    #: Alerts with the same dedup key within this many seconds are one alert seen again.
    dedup_window_s: int = Field(default=3600, ge=0)
    #: Largest accepted HTTP request body.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _TOML_FILE.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Settings:
        """Build settings; every problem becomes a ConfigError naming the key."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if config_file is not None:
            if not config_file.is_file():
                raise ConfigError(f"config file {config_file} does not exist")
            try:
                with config_file.open("rb") as fh:
                    tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        token = _TOML_FILE.set(config_file)
        try:
            return cls(**overrides)
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
                for err in exc.errors()
            )
            where = f" in {config_file}" if config_file else ""
            raise ConfigError(f"invalid settings{where}: {problems}") from None
        finally:
            _TOML_FILE.reset(token)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'portguard.db'}"

    def ensure_dirs(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create data directory {self.data_dir}: {exc}") from None
