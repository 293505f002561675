from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portguard.web.testing import Console, serve_console


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A live PortGuard with the console, the demo alerts and a small moving fleet."""
    data: Path = tmp_path_factory.mktemp("console")
    with serve_console(data, vessels=40, fleet_interval_s=1.0) as c:
        yield c
