"""LogWatch end to end: syslog over real UDP/TCP sockets to alerts on the bus to incidents;
port rules (schedule, first-seen, correlation) and the indicator link."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson

from portguard.core.bus import ALERTS, EmbeddedBus, decode_alert
from portguard.core.types import Domain, Severity
from portguard.incidents import service as incidents
from portguard.incidents.consumer import make_alert_handler
from portguard.incidents.correlation import CorrelationRules
from portguard.logs.detectors import INDICATOR_RULE_ID
from portguard.logs.intake import parse_json_line, parse_syslog
from portguard.logs.service import LogWatch
from portguard.testing import migrated_db

SSH_RULE = """
title: SSH Brute Force Keyword
id: 6d3c4a1e-0000-4000-8000-00000000a001
level: high
tags: [attack.credential-access, attack.t1110]
logsource:
  product: linux
  service: sshd
detection:
  keywords:
    - 'Failed password for'
  condition: keywords
"""


def _wait(pred: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.02)


def test_udp_syslog_alerts_reach_incidents(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ssh.yml").write_text(SSH_RULE, "utf-8")
    bus = EmbeddedBus(tmp_path / "bus.db")
    watch = LogWatch([rules], bus=bus)
    try:
        ports = watch.start_syslog("127.0.0.1", udp_port=0, tcp_port=0)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            for msg in (
                b"<38>Mar  2 23:10:01 scada-01 sshd[77]: Failed password for jdoe from 10.9.8.7",
                b"\x00\x01 binary garbage",
                b"<38>Mar  2 23:10:02 scada-01 sshd[77]: Accepted password for jdoe",
            ):
                client.sendto(msg, ("127.0.0.1", ports["udp"]))
        with socket.create_connection(("127.0.0.1", ports["tcp"])) as tcp:
            line = "<38>1 2026-03-02T22:10:03Z scada-02 sshd 9 - - Failed password for root"
            tcp.sendall(f"{len(line)} {line}".encode() + b"\n" + b"garbage line\n")
        _wait(lambda: len(bus.replay(ALERTS)) >= 2 and watch.totals.error_count >= 2)
    finally:
        watch.stop()
    records = bus.replay(ALERTS)
    alerts = [decode_alert(r.payload) for r in records]
    assert len(alerts) == 2, alerts
    a = alerts[0]
    assert a.domain is Domain.LOGS and a.severity is Severity.HIGH
    assert a.rule_id == "6d3c4a1e-0000-4000-8000-00000000a001"
    assert "attack.t1110" in a.attributes["attack"]
    assert a.attributes["event"]["Hostname"] in ("scada-01", "scada-02")
    assert a.evidence and a.fingerprint
    # UDP and TCP arrive in either order: each alert names the host it came from.
    hosts = {e.key for x in alerts for e in x.entities if e.kind.value == "host"}
    assert hosts == {"host:scada-01", "host:scada-02"}
    assert watch.totals.error_count == 2  # the garbage datagram and the garbage TCP line
    # the incident engine's own consumer takes them in
    db = migrated_db(f"sqlite:///{tmp_path / 'pg.db'}")
    handle = make_alert_handler(
        db=db, rules=CorrelationRules.builtin(), dedup_window=timedelta(hours=1)
    )
    for r in records:
        handle(r)
    with db.session() as s:
        found = incidents.list_incidents(session=s, limit=10)
        assert found and any(alert.rule_id == a.rule_id for inc in found for alert in inc.alerts)
    db.dispose()
    bus.close()


def test_port_rules() -> None:
    watch = LogWatch([])  # the built-in port rules only
    night = {
        "Event": {
            "System": {
                "EventID": 4624,
                "Channel": "Security",
                "Computer": "scada-berendrecht-01",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-03-03T02:30:00Z"}},
            },
            "EventData": {"LogonType": 10, "TargetUserName": "jdoe", "IpAddress": "10.1.2.3"},
        }
    }
    found = watch.ingest([parse_json_line(orjson.dumps(night))]).alerts
    assert [a.title for a in found] == [
        "Interactive Logon on an OT/SCADA Server Outside the Operating Schedule"
    ]
    assert {"account:jdoe", "host:scada-berendrecht-01", "ip:10.1.2.3"} <= {
        e.key for e in found[0].entities
    }
    day = orjson.loads(orjson.dumps(night))
    day["Event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"] = "2026-03-03T10:30:00Z"
    assert not watch.ingest([parse_json_line(orjson.dumps(day))]).alerts

    def vpn(country: str) -> str:
        return (
            '<189>devname="fgt" devid="FG1" type="event" subtype="vpn" action="tunnel-up" '
            f'user="jdoe" group="lock-operators" srccountry="{country}"'
        )

    results = [
        watch.ingest([parse_syslog(vpn(c))]).alerts for c in ("Belgium", "Belgium", "Panama")
    ]
    assert [len(r) for r in results] == [0, 0, 1]  # home country learnt, new one alerts once
    assert "New Country" in results[2][0].title

    ews = {
        "winlog": {
            "channel": "Microsoft-Windows-Sysmon/Operational",
            "event_id": 3,
            "computer_name": "ews-07",
            "event_data": {"DestinationIp": "10.50.4.4", "DestinationPort": 502},
        }
    }
    first = watch.ingest([parse_json_line(orjson.dumps(ews))]).alerts
    again = watch.ingest([parse_json_line(orjson.dumps(ews))]).alerts
    assert len(first) == 1 and not again

    def inbox(i: int) -> bytes:
        return orjson.dumps(
            {
                "Operation": "New-InboxRule",
                "UserId": "jdoe@port.example",
                "CreationTime": f"2026-03-03T10:0{i}:00Z",
            }
        )

    fired = [watch.ingest([parse_json_line(inbox(i))]).alerts for i in range(6)]
    assert [len(f) for f in fired] == [0, 0, 0, 0, 1, 0]
    corr = fired[4][0]
    assert corr.title == "Mass Mailbox Rule Changes by One User"
    assert corr.attributes["group"] == ["jdoe@port.example"]


@dataclass(frozen=True)
class _Match:
    indicator_id: str
    name: str
    how: str


class _Index:
    def lookup(self, kind: str, value: str) -> Sequence[_Match]:
        if (kind, value) == ("ip", "203.0.113.66"):
            return [_Match("indicator--1", "C2 of campaign X", "exact")]
        return []


def test_indicator_link() -> None:
    watch = LogWatch([], builtin_rules=False, indicator_lookup=_Index())
    rec = parse_json_line('{"SourceIp": "10.0.0.1", "DestinationIp": "203.0.113.66"}')
    alerts = watch.ingest([rec]).alerts
    assert [a.rule_id for a in alerts] == [INDICATOR_RULE_ID]
    assert alerts[0].attributes["indicators"][0]["id"] == "indicator--1"
