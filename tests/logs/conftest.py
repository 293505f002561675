"""Helpers for the logs tests: write Sigma rules and log lines into tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from portguard.logs.sigma.engine import SigmaEngine
from portguard.logs.sigma.loader import RuleSet, load_rules


@pytest.fixture
def write_rule(tmp_path: Path) -> Callable[[str, str], Path]:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)

    def write(name: str, text: str) -> Path:
        path = rules / name
        path.write_text(textwrap.dedent(text), "utf-8")
        return path

    return write


@pytest.fixture
def compile_rules(tmp_path: Path) -> Callable[..., tuple[RuleSet, SigmaEngine]]:
    def build(*texts: str) -> tuple[RuleSet, SigmaEngine]:
        folder = tmp_path / f"set{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for i, text in enumerate(texts):
            (folder / f"r{i}.yml").write_text(textwrap.dedent(text), "utf-8")
        rs = load_rules([folder])
        return rs, SigmaEngine(rs.rules)

    return build
