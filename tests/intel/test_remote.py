"""Pull from and push to another TAXII server (here: a second hub on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.intel.conftest import Hub, make_hub

from portguard.intel import remote
from portguard.intel.members import collection_id_for


def test_pull_and_push_respect_tlp(
    hub: Hub, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The national CERT's server (``hub``) holds a GREEN and an AMBER indicator.
    for tlp, value in (("green", "cert-green.example"), ("amber", "cert-amber.example")):
        hub.client.post(
            "/api/v1/intel/objects",
            params={"tlp": tlp},
            content=value,
            headers=hub.h("terma-analyst"),
        )
    # The port's account at the CERT (same organisation id as the local hub's own).
    monkeypatch.setenv("CERT_TOKEN", hub.tokens["port-analyst"])
    local = make_hub(tmp_path / "local")
    url = f"{server}/taxii2/hub/collections/{collection_id_for('port-community')}/"
    remote.add_remote(
        hub=local.hub, name="cert", url=url, auth_env="CERT_TOKEN", push=True, actor="t"
    )
    res = remote.pull(local.hub, "cert")
    assert res.pulled == 1  # the port's account reads the GREEN one only
    assert local.hub.index.lookup_domain("www.cert-green.example")
    assert remote.pull(local.hub, "cert").pulled == 0  # added_after: nothing new

    # Local objects go out only up to GREEN; what was pulled is never echoed back.
    for tlp, value in (("green", "local-green.example"), ("red", "local-red.example")):
        with local.ctx.db.session() as s:
            from portguard.core import auth

            if not s.execute(auth.select(auth.User).where(auth.User.username == "pa")).first():
                u = auth.create_user(
                    session=s, username="pa", password="a long enough password", role="analyst"
                )
                local.tokens["pa"] = auth.create_token(session=s, user=u, name="t")[1]
        local.client.post(
            "/api/v1/intel/objects", params={"tlp": tlp}, content=value, headers=local.h("pa")
        )
    assert remote.push(local.hub, "cert").pushed == 1
    seen = hub.client.get("/api/v1/intel/objects", headers=hub.h("port-analyst")).json()["objects"]
    assert "local-green.example" in str(seen) and "local-red.example" not in str(seen)
    assert remote.run_due(local.hub) == []  # ran just now: not due
    local.client.close()
