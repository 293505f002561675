"""Parsers: syslog (RFC 5424, RFC 3164, files), JSON lines (EVTX JSON, Winlogbeat, plain),
EVTX files; bad input becomes counted errors with positions, never an exception."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.logs.intake import (
    IntakeError,
    ParseError,
    parse_json_line,
    parse_syslog,
    read_evtx,
    read_path,
)
from portguard.logs.mapping import LogRecord

EVTX_JSON = {
    "Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "EventID": 4688,
            "Channel": "Security",
            "Computer": "ws-017.port.local",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-03-02T23:15:00.123Z"}},
            "EventRecordID": 4711,
        },
        "EventData": {
            "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
            "ParentProcessName": "C:\\Windows\\explorer.exe",
            "CommandLine": "cmd /c whoami",
            "SubjectUserName": "jdoe",
            "Threat Name": "EICAR",
        },
    }
}


def test_rfc5424() -> None:
    line = (
        '<34>1 2026-03-02T22:14:15.003Z scada-01 sshd 4242 ID47 [exampleSDID@32473 iut="3" '
        'eventSource="Application"] Failed password for root from 10.0.0.9 port 22'
    )
    rec = parse_syslog(line)
    f = rec.fields
    assert (f["Facility"], f["Severity"]) == ("auth", "crit")
    assert f["Hostname"] == "scada-01" and f["AppName"] == "sshd" and f["ProcessId"] == "4242"
    assert f["iut"] == "3" and f["Message"].startswith("Failed password")
    assert rec.logsource.product == "linux" and "sshd" in rec.logsource.services
    assert rec.time is not None and rec.time.hour == 22
    assert f["LocalHour"] == 23  # Europe/Brussels in March: UTC+1


def test_rfc3164_and_file_lines() -> None:
    rec = parse_syslog(
        "<86>Mar  2 06:01:02 bridge-ctl sudo[991]: jdoe : TTY=pts/0 ; COMMAND=/bin/sh"
    )
    assert rec.fields["AppName"] == "sudo" and rec.fields["ProcessId"] == "991"
    assert rec.logsource.services == frozenset({"sudo"})
    rec = parse_syslog("Mar 12 10:00:00 host1 CRON[12]: (root) CMD (run-parts)")
    assert rec.fields["Hostname"] == "host1" and "cron" in rec.logsource.services


def test_key_value_body_names_the_product() -> None:
    line = (
        '<189>date=2026-03-02 time=23:10:00 devname="fgt-edge" devid="FG100F" logid="0101039947"'
        ' type="event" subtype="vpn" action="tunnel-up" user="jdoe" srccountry="Belgium"'
    )
    rec = parse_syslog(line)
    assert rec.logsource.product == "fortigate"
    assert rec.fields["user"] == "jdoe" and rec.fields["srccountry"] == "Belgium"


@pytest.mark.parametrize(
    "garbage",
    ["", "hello world", "<999>1 - - - - - -", "<12>1 notatime host app - - - msg", "a\x00b"],
)
def test_syslog_garbage_is_a_parse_error(garbage: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_syslog(garbage, source="udp:1.2.3.4:514", position="datagram 7")
    assert exc.value.location == "udp:1.2.3.4:514:datagram 7"


def test_evtx_json_mapping_and_4688_aliases() -> None:
    rec = parse_json_line(orjson.dumps(EVTX_JSON))
    f = rec.fields
    assert f["EventID"] == 4688 and f["Channel"] == "Security"
    assert f["Provider_Name"] == "Microsoft-Windows-Security-Auditing"
    assert f["Image"] == "C:\\Windows\\System32\\cmd.exe"  # alias of NewProcessName
    assert f["ParentImage"] == "C:\\Windows\\explorer.exe"
    assert f["ThreatName"] == "EICAR"  # spaces dropped, as Sigma rules write names
    assert rec.logsource.product == "windows"
    assert "process_creation" in rec.logsource.categories
    assert "security" in rec.logsource.services


def test_winlogbeat_and_plain() -> None:
    wlb = {
        "@timestamp": "2026-03-02T10:00:00Z",
        "winlog": {
            "channel": "Microsoft-Windows-Sysmon/Operational",
            "event_id": 3,
            "computer_name": "ews-03",
            "event_data": {"DestinationIp": "10.50.1.2", "DestinationPort": 502},
        },
    }
    rec = parse_json_line(orjson.dumps(wlb))
    assert rec.fields["DestinationIp"] == "10.50.1.2" and rec.fields["Computer"] == "ews-03"
    assert "network_connection" in rec.logsource.categories
    rec = parse_json_line('{"Operation": "New-InboxRule", "UserId": "jdoe@port.example"}')
    assert rec.fields["Operation"] == "New-InboxRule" and rec.logsource.product is None


@pytest.mark.parametrize("line", ["{not json", "[1, 2]", '"text"', "{" * 5000])
def test_invalid_json_line(line: str) -> None:
    with pytest.raises(ParseError):
        parse_json_line(line)


def test_files_count_bad_lines_with_positions(tmp_path: Path) -> None:
    f = tmp_path / "app.jsonl"
    f.write_text('{"a": 1}\n{broken\n\n{"b": 2}\n', "utf-8")
    items = list(read_path(f))
    errors = [i for i in items if isinstance(i, IntakeError)]
    assert len([i for i in items if isinstance(i, LogRecord)]) == 2
    assert len(errors) == 1 and errors[0].position == "line 2"
    s = tmp_path / "auth.log"
    s.write_bytes(b"Mar 12 10:00:00 h sshd[1]: ok\n\xff\xfe garbage \x00\n")
    items = list(read_path(s))
    assert isinstance(items[0], LogRecord) and isinstance(items[1], IntakeError)


def test_pretty_printed_json_documents(tmp_path: Path) -> None:
    f = tmp_path / "sample.json"
    text = orjson.dumps(EVTX_JSON, option=orjson.OPT_INDENT_2).decode()
    f.write_text(text + "\n" + text + "\n", "utf-8")
    items = list(read_path(f))
    assert len(items) == 2 and all(isinstance(i, LogRecord) for i in items)


def test_corrupt_evtx_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "bad.evtx"
    f.write_bytes(b"ElfFile\x00" + b"\x00" * 100 + b"\xde\xad" * 3000)
    items = list(read_evtx(f))
    assert items and all(isinstance(i, IntakeError) for i in items)
    g = tmp_path / "not.evtx"
    g.write_bytes(b"definitely not evtx")
    assert all(isinstance(i, IntakeError) for i in read_path(g, fmt="evtx"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=600), st.text(max_size=600)))
def test_syslog_parser_fuzz(data: bytes | str) -> None:
    try:
        rec = parse_syslog(data)
    except ParseError:
        return
    assert isinstance(rec.fields["Message"], str)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=20,
        ).map(lambda v: orjson.dumps(v)),
    )
)
def test_json_line_parser_fuzz(data: bytes) -> None:
    try:
        rec = parse_json_line(data)
    except ParseError:
        return
    assert isinstance(rec.fields, dict)
