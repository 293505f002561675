"""``portguard access`` and ``portguard infra``: offline replays with counted bad lines, impact."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from portguard.cli.access import app as access_app
from portguard.cli.infra import app as infra_app

runner = CliRunner()


def test_access_replay_reports_alerts_and_bad_lines(tmp_path: Path) -> None:
    creds = tmp_path / "badges.csv"
    creds.write_text(
        "badge,holder,clearances,hours\nB-1,Jan,lock-complex-berendrecht,06:00-15:00\n"
    )
    events = tmp_path / "door.jsonl"
    lines = [
        {
            "time": "2026-11-03T02:00:00Z",
            "reader": "berendrecht-lock-reader-control",
            "badge": "B-1",
        },
        {"time": "2026-11-03T02:01:00Z", "reader": "berendrecht-lock-reader-control", "badge": "X"},
        {"time": "2026-11-03T02:02:00Z", "reader": "atlantis", "badge": "B-1"},
    ]
    events.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    r = runner.invoke(access_app, ["replay", str(events), "--credentials", str(creds), "--json"])
    assert r.exit_code == 0, r.output
    rules = sorted(json.loads(x)["rule_id"] for x in r.stdout.splitlines() if x.startswith("{"))
    assert rules == ["access.badge.out_of_hours", "access.badge.unknown"]
    assert '"rejected": 2' in r.output


def test_infra_replay_with_directory_and_phishing(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("person_id,name,emails,accounts\nP-1,Jan,jan@poab.example,jpeeters\n")
    phish = tmp_path / "alerts.jsonl"
    phish.write_text(json.dumps({
        "rule_id": "mail.phishing", "domain": "mail", "severity": "high", "title": "phish",
        "observed_at": "2026-11-03T01:00:00Z", "category": "phishing",
        "entities": [{"kind": "email", "value": "jan@poab.example"}],
    }) + "\n")  # fmt: skip
    ot = tmp_path / "ot.jsonl"
    ot.write_text(json.dumps({
        "time": "2026-11-03T03:00:00Z", "asset": "berendrecht-lock", "type": "command",
        "command": "open_gate", "account": "jpeeters", "station": "control-room-zandvliet",
    }) + "\n")  # fmt: skip
    r = runner.invoke(
        infra_app,
        ["replay", str(ot), "--directory", str(people), "--alerts", str(phish), "--json"],
    )
    assert r.exit_code == 0, r.output
    rules = [json.loads(x)["rule_id"] for x in r.stdout.splitlines() if x.startswith("{")]
    assert rules == ["infra.command.phished_operator"]


def test_infra_impact() -> None:
    r = runner.invoke(infra_app, ["impact", "berendrecht-lock", "--state", "fault", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["alternatives"] == ["zandvliet-lock"]
    bad = runner.invoke(infra_app, ["impact", "atlantis"])
    assert bad.exit_code == 1 and "atlantis" in bad.output
