from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from tests.intel.conftest import Hub

from portguard.core.errors import ValidationError
from portguard.core.types import TLP
from portguard.intel.importers import (
    detect_kind,
    parse_any,
    parse_bundle,
    parse_misp_event,
    parse_plain_list,
    validate_object,
)
from portguard.intel.tlp import marking_id

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_detect_kind() -> None:
    assert detect_kind("evil.example") == "domain"
    assert detect_kind("10.0.0.0/8") == "ip" and detect_kind("2001:db8::1") == "ip"
    assert detect_kind("https://x.example/a") == "url"
    assert detect_kind("d41d8cd98f00b204e9800998ecf8427e") == "hash"
    assert detect_kind("a@b.example") == "email"
    assert detect_kind("not a thing") is None


def test_plain_list_collects_bad_lines_with_position() -> None:
    text = (
        "# comment\nevil.example\n\n0.0.0.0 hosts.example\n1.2.3.4\nbad value here\n"
        "-nope-\nevil.example\n"
    )
    p = parse_plain_list(text, now=NOW, tlp=TLP.GREEN)
    assert [pos for pos, _ in p.objects] == ["line 2", "line 4", "line 5"]  # duplicate dropped
    assert [e.position for e in p.errors] == ["line 6", "line 7"]
    for _, obj in p.objects:
        assert validate_object(obj) is None
        assert obj["object_marking_refs"] == [marking_id("green")]
    again = parse_plain_list("evil.example\n", now=NOW)
    assert again.objects[0][1]["id"] == p.objects[0][1]["id"]  # stable ids


def test_reimporting_a_feed_changes_nothing(hub: Hub) -> None:
    for expected in (2, 0):
        r = hub.client.post(
            "/api/v1/intel/objects",
            params={"tlp": "green"},
            content="feed.example\n198.51.100.7\n",
            headers=hub.h("terma-analyst"),
        )
        assert r.json()["stored"] == expected
    assert r.json()["unchanged"] == 2


def test_misp_event() -> None:
    event = {
        "Event": {
            "info": "Phishing wave",
            "Tag": [{"name": "tlp:amber"}],
            "Attribute": [
                {"type": "domain", "value": "phish.example", "to_ids": True},
                {"type": "ip-dst|port", "value": "203.0.113.9|443", "to_ids": True},
                {"type": "comment", "value": "ignored"},
                {"type": "md5", "value": "not-a-hash", "to_ids": True},
                {"type": "url", "value": "http://x.example", "to_ids": False},
            ],
            "Object": [{"Attribute": [{"type": "email-src", "value": "ceo@fake.example"}]}],
        }
    }
    p = parse_misp_event(json.dumps(event), now=NOW)
    assert p.tlp is TLP.AMBER
    assert [o["pattern"] for _, o in p.objects] == [
        "[domain-name:value = 'phish.example']",
        "[ipv4-addr:value = '203.0.113.9']",
        "[email-addr:value = 'ceo@fake.example']",
    ]
    assert [e.position for e in p.errors] == ["Event.Attribute[3]"]
    assert parse_any(json.dumps(event), now=NOW).tlp is TLP.AMBER
    with pytest.raises(ValidationError):
        parse_misp_event("[1, 2]", now=NOW)


def test_bundle_shapes() -> None:
    obj = {"type": "identity", "id": "identity--5b3e1c2a-0f3a-4d7e-8a4b-1c2d3e4f5a6b"}
    assert len(parse_bundle({"type": "bundle", "objects": [obj]}).objects) == 1
    assert len(parse_bundle({"objects": [obj, obj]}).objects) == 2
    assert len(parse_bundle([obj]).objects) == 1
    with pytest.raises(ValidationError):
        parse_bundle("{nope")
    with pytest.raises(ValidationError):
        parse_bundle({"type": "bundle", "objects": 5})
    assert "spec_version" in (validate_object(dict(obj, spec_version="2.0")) or "")
    assert "id" in (validate_object({"type": "identity", "id": "identity--1"}) or "")


def test_import_via_rest_keeps_good_and_reports_bad(hub: Hub) -> None:
    bundle = {
        "type": "bundle",
        "id": "bundle--5b3e1c2a-0f3a-4d7e-8a4b-1c2d3e4f5a60",
        "objects": [
            {
                "type": "malware",
                "spec_version": "2.1",
                "id": "malware--5b3e1c2a-0f3a-4d7e-8a4b-1c2d3e4f5a61",
                "created": "2026-01-01T00:00:00.000Z",
                "modified": "2026-01-01T00:00:00.000Z",
                "name": "PortLocker",
                "is_family": True,
            },
            {
                "type": "malware",
                "spec_version": "2.1",
                "id": "malware--5b3e1c2a-0f3a-4d7e-8a4b-1c2d3e4f5a62",
                "created": "garbage",
                "modified": "2026-01-01T00:00:00.000Z",
                "name": "x",
                "is_family": True,
            },
        ],
    }
    r = hub.client.post(
        "/api/v1/intel/objects?tlp=green",
        content=json.dumps(bundle),
        headers=hub.h("terma-analyst"),
    )
    body = r.json()
    assert (
        body["stored"] == 1
        and body["failed"] == 1
        and body["errors"][0]["position"] == "objects[1]"
    )
    r = hub.client.post(
        "/api/v1/intel/objects?tlp=green",
        content=json.dumps(bundle),
        headers=hub.h("terma-analyst"),
    )
    assert r.json()["stored"] == 0 and r.json()["unchanged"] == 1
    # A reader may not import; nor may a member into a community it is not in.
    assert (
        hub.client.post(
            "/api/v1/intel/objects", content="x.example", headers=hub.h("terma-auditor")
        ).status_code
        == 403
    )
    assert (
        hub.client.post(
            "/api/v1/intel/objects", content="x.example", headers=hub.h("outsider-analyst")
        ).status_code
        == 403
    )
    assert (
        hub.client.post(
            "/api/v1/intel/objects?community=nope",
            content="x.example",
            headers=hub.h("terma-analyst"),
        ).status_code
        == 404
    )
