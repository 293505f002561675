"""The issue's "done when": two member organisations share an AMBER and a GREEN indicator and
each sees exactly what TLP allows (TAXII with taxii2-client, REST, exports); a shared phishing
domain makes ``portguard intel match`` flag an observable that contains it, raises an alert and
records a sighting shared back to the community."""

from __future__ import annotations

import json
from pathlib import Path

from taxii2client.v21 import Collection
from tests.intel.conftest import Hub
from tests.intel.test_taxii import Bearer
from typer.testing import CliRunner

from portguard.cli.intel import app as intel_cli
from portguard.core.bus import ALERTS, decode_alert
from portguard.core.db import Base
from portguard.intel.members import collection_id_for


def test_two_members_share_amber_and_green(hub: Hub, server: str) -> None:
    r = hub.client.post(
        "/api/v1/intel/objects",
        params={"tlp": "amber"},
        content="amber-phish.example\n",
        headers=hub.h("terma-analyst"),
    )
    assert r.json()["stored"] == 1
    r = hub.client.post(
        "/api/v1/intel/objects",
        params={"tlp": "green"},
        content="green-phish.example\n",
        headers=hub.h("shipb-analyst"),
    )
    assert r.json()["stored"] == 1
    url = f"{server}/taxii2/hub/collections/{collection_id_for('port-community')}/"

    def taxii(user: str) -> set[str]:
        env = Collection(url, auth=Bearer(hub.tokens[user])).get_objects()
        return {o["pattern"].split("'")[1] for o in env.get("objects", [])}

    def rest(user: str) -> set[str]:
        objs = hub.client.get("/api/v1/intel/objects", headers=hub.h(user)).json()["objects"]
        return {o["pattern"].split("'")[1] for o in objs}

    def export(user: str) -> set[str]:
        return set(hub.client.get("/api/v1/intel/export/plain", headers=hub.h(user)).text.split())

    # AMBER stays with its owner (no recipients named); GREEN reaches the community.
    assert (
        taxii("terma-analyst")
        == rest("terma-analyst")
        == export("terma-analyst")
        == {"amber-phish.example", "green-phish.example"}
    )
    assert (
        taxii("shipb-analyst")
        == rest("shipb-analyst")
        == export("shipb-analyst")
        == {"green-phish.example"}
    )
    assert taxii("outsider-analyst") == rest("outsider-analyst") == set()


def test_shared_phishing_domain_flags_an_observable(hub: Hub, tmp_path: Path) -> None:
    # A member shares a phishing domain; the port's detectors (and the CLI) see it.
    hub.client.post(
        "/api/v1/intel/objects",
        params={"tlp": "green"},
        content="portofantwerp-login.example\n",
        headers=hub.h("terma-analyst"),
    )
    found = hub.hub.check(
        [("url", "https://secure.portofantwerp-login.example/reset")],
        source="mail",
        evidence=("evt1",),
    )
    assert [m.matched for m in found] == ["portofantwerp-login.example"]
    hub.ctx.bus.create_group(ALERTS, "test", start="earliest")
    alerts = [decode_alert(r.payload) for r in hub.ctx.bus.read(ALERTS, "test", "c1", count=10)]
    assert (
        len(alerts) == 1 and alerts[0].domain.value == "intel" and alerts[0].evidence == ("evt1",)
    )
    assert alerts[0].entities[0].key == "domain:secure.portofantwerp-login.example"
    sightings = hub.client.get("/api/v1/intel/sightings", headers=hub.h("shipb-analyst")).json()[
        "objects"
    ]
    assert len(sightings) == 1 and sightings[0]["count"] == 1  # shared back to the community


def test_cli_import_export_match(tmp_path: Path) -> None:
    from portguard.app.runtime import open_database
    from portguard.core.settings import Settings

    db = open_database(Settings.load(data_dir=tmp_path))  # the core migrations
    Base.metadata.create_all(db.engine)  # the intel tables (the lead's migration adds them)
    db.dispose()
    runner = CliRunner()
    feed = tmp_path / "feed.txt"
    feed.write_text("portofantwerp-login.example\n10.9.9.9\nnot a domain\n")
    res = runner.invoke(
        intel_cli, ["import", str(feed), "--tlp", "green", "--data-dir", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "stored 2" in res.output and "line 3" in res.output and "warninglist" in res.output
    res = runner.invoke(intel_cli, ["export", "rpz", "--data-dir", str(tmp_path)])
    assert "*.portofantwerp-login.example CNAME ." in res.output and "10.9.9.9" not in res.output
    obs = tmp_path / "obs.txt"
    obs.write_text("mail.portofantwerp-login.example\nharmless.example\n")
    res = runner.invoke(intel_cli, ["match", str(obs), "--json", "--data-dir", str(tmp_path)])
    assert res.exit_code == 3, res.output
    lines = [json.loads(x) for x in res.output.splitlines() if x.startswith("{")]
    assert [x["matched"] for x in lines] == ["portofantwerp-login.example"]
    res = runner.invoke(
        intel_cli, ["match", "-", "--data-dir", str(tmp_path)], input="harmless.example\n"
    )
    assert res.exit_code == 0 and "no match" in res.output
