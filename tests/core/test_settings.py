from __future__ import annotations

from pathlib import Path

import pytest

from portguard.core.errors import ConfigError
from portguard.core.settings import Settings


def test_precedence_args_over_env_over_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "pg.toml"
    cfg.write_text('port = 9000\nhost = "127.0.0.2"\nbus = "redis"\n')
    monkeypatch.setenv("PORTGUARD_PORT", "9100")
    s = Settings.load(cfg, data_dir=tmp_path)
    assert s.port == 9100  # env beats file
    assert s.host == "127.0.0.2"  # file beats default
    assert s.bus == "redis"
    assert Settings.load(cfg, port=9200, data_dir=tmp_path).port == 9200  # args beat env


def test_default_database_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = Settings.load(data_dir=tmp_path)
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'portguard.db'}"


def test_unknown_key_in_toml_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "pg.toml"
    cfg.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match="prot"):
        Settings.load(cfg)


def test_bad_value_and_bad_toml_and_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "pg.toml"
    cfg.write_text("port = 99999\n")
    with pytest.raises(ConfigError, match="port"):
        Settings.load(cfg)
    cfg.write_text("port = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(cfg)
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(tmp_path / "nope.toml")
