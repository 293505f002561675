"""The Sigma compiler and engine: modifiers, conditions, log-source indexing, bad rules."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

from portguard.logs.mapping import LogRecord, LogSource
from portguard.logs.sigma.engine import SigmaEngine
from portguard.logs.sigma.loader import RuleSet

Build = Callable[..., tuple[RuleSet, SigmaEngine]]

PROC = LogSource("windows", frozenset({"process_creation"}), frozenset({"sysmon"}))


def rule(
    detection: str,
    *,
    logsource: str = "product: windows\n  category: process_creation",
    rid: str = "00000000-0000-4000-8000-000000000001",
) -> str:
    return (
        f"title: Test rule\nid: {rid}\nlevel: high\ntags:\n  - attack.execution\n"
        f"  - attack.t1059\nlogsource:\n  {logsource}\ndetection:\n{detection}\n"
    )


def fires(build: Build, detection: str, fields: dict[str, Any], src: LogSource = PROC) -> bool:
    rs, engine = build(rule(detection))
    assert not rs.problems, rs.problems
    assert len(rs.rules) == 1
    return bool(engine.match(LogRecord(dict(fields), src)))


def test_plain_values_are_case_insensitive_and_exact(compile_rules: Build) -> None:
    det = "  sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\n  condition: sel"
    assert fires(compile_rules, det, {"Image": "c:\\windows\\system32\\CMD.EXE"})
    assert not fires(compile_rules, det, {"Image": "c:\\windows\\system32\\cmd.exe.bak"})
    assert not fires(compile_rules, det, {"CommandLine": "cmd.exe"})


def test_string_modifiers(compile_rules: Build) -> None:
    det = (
        "  sel:\n    Image|endswith: '\\\\rundll32.exe'\n"
        "    CommandLine|contains|all:\n      - 'javascript:'\n      - 'RunHTMLApplication'\n"
        "    ParentImage|startswith: 'C:\\Users\\'\n  condition: sel"
    )
    ok = {
        "Image": "C:\\Windows\\rundll32.exe",
        "CommandLine": 'rundll32 javascript:"\\..\\mshtml,RunHTMLApplication"',
        "ParentImage": "C:\\Users\\bob\\evil.exe",
    }
    assert fires(compile_rules, det, ok)
    assert not fires(compile_rules, det, {**ok, "CommandLine": "rundll32 javascript:"})
    assert not fires(compile_rules, det, {**ok, "ParentImage": "D:\\Users\\x"})


def test_wildcards_in_the_middle(compile_rules: Build) -> None:
    det = "  sel:\n    CommandLine: '*net* user ?dmin*'\n  condition: sel"
    assert fires(compile_rules, det, {"CommandLine": "c:\\net.exe user Admin /add"})
    assert not fires(compile_rules, det, {"CommandLine": "net user root"})


def test_re_cidr_numbers_exists_null_cased(compile_rules: Build) -> None:
    det = "  sel:\n    CommandLine|re: '-e(nc)?\\s+[A-Za-z0-9+/]{20,}'\n  condition: sel"
    assert fires(compile_rules, det, {"CommandLine": "powershell -enc SQBFAFgAIAAoAE4AZQB3AC0A"})
    assert not fires(compile_rules, det, {"CommandLine": "powershell -enc short"})
    det = "  sel:\n    DestinationIp|cidr: '10.50.0.0/16'\n  condition: sel"
    assert fires(compile_rules, det, {"DestinationIp": "10.50.3.4"})
    assert not fires(compile_rules, det, {"DestinationIp": "10.51.3.4"})
    assert not fires(compile_rules, det, {"DestinationIp": "not an ip"})
    det = "  sel:\n    DestinationPort|gte: 1024\n    DestinationPort|lt: 2000\n  condition: sel"
    assert fires(compile_rules, det, {"DestinationPort": 1500})
    assert not fires(compile_rules, det, {"DestinationPort": "80"})
    det = "  sel:\n    EventID: 4688\n  condition: sel"
    assert fires(compile_rules, det, {"EventID": 4688})
    assert fires(compile_rules, det, {"EventID": "4688"})
    det = "  sel:\n    Image|exists: true\n    Parent|exists: false\n  condition: sel"
    assert fires(compile_rules, det, {"Image": "x"})
    assert not fires(compile_rules, det, {"Image": "x", "Parent": "y"})
    det = "  sel:\n    Image: 'x'\n    User: null\n  condition: sel"
    assert fires(compile_rules, det, {"Image": "x"})
    assert not fires(compile_rules, det, {"Image": "x", "User": "bob"})
    det = "  sel:\n    Image|cased: 'CMD.exe'\n  condition: sel"
    assert fires(compile_rules, det, {"Image": "CMD.exe"})
    assert not fires(compile_rules, det, {"Image": "cmd.exe"})
    det = "  sel:\n    Image: ''\n  condition: sel"
    assert fires(compile_rules, det, {"Image": ""})
    assert not fires(compile_rules, det, {"Image": "x"})


def test_base64offset_and_windash(compile_rules: Build) -> None:
    det = "  sel:\n    CommandLine|base64offset|contains: 'Invoke-Mimikatz'\n  condition: sel"
    for prefix in ("", "a", "ab"):
        encoded = base64.b64encode(f"{prefix}Invoke-Mimikatz -x".encode()).decode()
        assert fires(compile_rules, det, {"CommandLine": f"powershell -e {encoded}"})
    assert not fires(compile_rules, det, {"CommandLine": "powershell -e SGVsbG8="})
    det = "  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel"
    assert fires(compile_rules, det, {"CommandLine": "powershell /exec bypass"})
    assert fires(compile_rules, det, {"CommandLine": "powershell \u2013exec bypass"})
    assert not fires(compile_rules, det, {"CommandLine": "powershell exec bypass"})


def test_conditions(compile_rules: Build) -> None:
    det = (
        "  sel_a:\n    Image|endswith: '\\a.exe'\n  sel_b:\n    Image|endswith: '\\b.exe'\n"
        "  filter:\n    User|contains: 'svc'\n  cmd:\n    CommandLine|contains: 'x'\n"
        "  condition: (1 of sel_*) and not filter and cmd"
    )
    assert fires(compile_rules, det, {"Image": "c:\\b.exe", "User": "bob", "CommandLine": "x"})
    assert not fires(compile_rules, det, {"Image": "c:\\b.exe", "User": "svc1", "CommandLine": "x"})
    assert not fires(compile_rules, det, {"Image": "c:\\c.exe", "CommandLine": "x"})
    det = (
        "  sel_a:\n    Image|endswith: '.exe'\n  sel_b:\n    CommandLine|contains: 'y'\n"
        "  condition: all of sel_*"
    )
    assert fires(compile_rules, det, {"Image": "a.exe", "CommandLine": "zyz"})
    assert not fires(compile_rules, det, {"Image": "a.exe", "CommandLine": "zz"})
    det = "  keywords:\n    - 'Failed password'\n    - 'Invalid user'\n  condition: keywords"
    linux = LogSource("linux", frozenset(), frozenset({"sshd"}))
    _rs, engine = compile_rules(rule(det, logsource="product: linux\n  service: sshd"))
    rec = LogRecord({"Message": "Failed password for root from 1.2.3.4"}, linux)
    assert engine.match(rec)
    assert not engine.match(LogRecord({"Message": "Accepted password"}, linux))


def test_logsource_index(compile_rules: Build) -> None:
    det = "  sel:\n    Image|endswith: 'a.exe'\n  condition: sel"
    _rs, engine = compile_rules(rule(det))
    fields = {"Image": "c:\\a.exe"}
    assert engine.match(LogRecord(dict(fields), PROC))
    image_load = LogSource("windows", frozenset({"image_load"}), frozenset({"sysmon"}))
    assert not engine.match(LogRecord(dict(fields), image_load))
    assert not engine.match(LogRecord(dict(fields), LogSource("linux")))
    assert engine.match(LogRecord(dict(fields), LogSource()))  # unknown source: every rule


def test_bad_rules_are_reported_not_skipped(compile_rules: Build) -> None:
    rs, _ = compile_rules(
        rule("  sel:\n    Image|frobnicate: 'x'\n  condition: sel"),
        "title: broken\ndetection: [unclosed\n",
        rule(
            "  sel:\n    Image: '%admins%'\n  condition: sel".replace("%admins%", "x"),
            rid="00000000-0000-4000-8000-000000000002",
        ),
        rule(
            "  sel:\n    Image|re: '(?<=a)b'\n  condition: sel",
            rid="00000000-0000-4000-8000-000000000003",
        ),
        rule(
            "  sel:\n    Image|expand: '%admins%'\n  condition: sel",
            rid="00000000-0000-4000-8000-000000000004",
        ),
    )
    assert len(rs.rules) == 1
    reasons = " | ".join(p.reason for p in rs.problems)
    assert len(rs.problems) == 4, reasons
    assert "frobnicate" in reasons
    assert "YAML error" in reasons
    assert "invalid perl operator" in reasons  # pySigma checks with RE2 too
    assert "placeholder" in reasons
    locations = [p.location for p in rs.problems if "YAML" in p.reason]
    assert locations[0] and locations[0].endswith("r1.yml:3:1")  # where the parser gave up


def test_catastrophic_regex_is_bounded(compile_rules: Build) -> None:
    det = "  sel:\n    CommandLine|re: '^(a+)+$'\n  condition: sel"
    _rs, engine = compile_rules(rule(det))
    start = time.perf_counter()
    hit = engine.match(LogRecord({"CommandLine": "a" * 50_000 + "!"}, PROC))
    assert not hit
    assert time.perf_counter() - start < 1.0


def test_broken_matcher_is_isolated(compile_rules: Build) -> None:
    rs, engine = compile_rules(rule("  sel:\n    Image: 'x'\n  condition: sel"))

    def boom(_: object) -> bool:
        raise RuntimeError("bug")

    rs.rules[0].matcher = boom
    assert engine.match(LogRecord({"Image": "x"}, PROC)) == []
    assert engine.stats.rule_errors == 1
