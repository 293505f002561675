from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portguard.app.runtime import Runtime, build_runtime
from portguard.core import auth
from portguard.core.settings import Settings

PASSWORD = "a long enough password"


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = Settings.load(data_dir=tmp_path, max_body_bytes=64 * 1024)
    runtime = build_runtime(settings)
    tokens = {}
    with runtime.db.session() as s:
        for role in auth.Role:
            user = auth.create_user(
                session=s, username=f"{role.value}1", password=PASSWORD, role=role
            )
            tokens[role.value] = auth.create_token(session=s, user=user, name="t")[1]
        other = auth.create_user(
            session=s,
            username="member1",
            password=PASSWORD,
            role="analyst",
            organisation="terminal-operator-x",
        )
        tokens["member"] = auth.create_token(session=s, user=other, name="t")[1]
    with TestClient(runtime.api()) as client:
        yield Api(client, runtime, tokens)
    runtime.close()
