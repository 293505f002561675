"""``portguard logs scan`` and ``portguard logs rules check``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from portguard.cli.logs import app

RULE = """
title: Whoami Execution
id: 6d3c4a1e-0000-4000-8000-00000000b001
level: medium
tags: [attack.discovery, attack.t1033]
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    Image|endswith: '\\whoami.exe'
  condition: sel
"""


def test_scan_json(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(RULE, "utf-8")
    logs = tmp_path / "sysmon.jsonl"
    event = {
        "winlog": {
            "channel": "Microsoft-Windows-Sysmon/Operational",
            "event_id": 1,
            "computer_name": "ws-1",
            "event_data": {"Image": "C:\\Windows\\System32\\whoami.exe", "User": "PORT\\jdoe"},
        }
    }
    logs.write_text(json.dumps(event) + "\n{oops\n", "utf-8")
    result = CliRunner().invoke(app, ["scan", str(logs), "--rules", str(rules), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1
    hit = lines[0]
    assert hit["rule_id"] == "6d3c4a1e-0000-4000-8000-00000000b001"
    assert hit["title"] == "Whoami Execution" and hit["level"] == "medium"
    assert hit["event"]["Image"].endswith("whoami.exe")
    assert "account:jdoe" in hit["entities"]


def test_rules_check(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yml").write_text(RULE, "utf-8")
    (rules / "bad.yml").write_text(RULE.replace("|endswith", "|sideways"), "utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(rules), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["rules"] == 1 and report["problems"] == 1
    assert "sideways" in report["not_loaded"][0]["reason"]
