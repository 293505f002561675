"""The TAXII 2.1 server, driven by the OASIS taxii2-client over real HTTP on loopback; every
object the hub emits is checked with stix2-validator."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages
from tests.intel.conftest import PASSWORD, Hub

from portguard.api import create_api
from portguard.intel.hub import IntelHub
from portguard.intel.members import collection_id_for
from portguard.intel.taxii import router as taxii_router
from portguard.intel.tlp import marking_id

TAXII = "application/taxii+json;version=2.1"
GREEN = marking_id("green")


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def indicator(
    n: int, *, modified: str = "2026-01-01T00:00:00.000Z", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n + 1, version=4)}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": f"phishing domain {n}",
        "description": "seen in port community phishing",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[domain-name:value = 'phish{n}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [GREEN],
        **extra,
    }


def assert_valid(objs: list[dict[str, Any]]) -> None:
    opts = ValidationOptions(version="2.1")
    for o in objs:
        result = validate_instance(o, opts)
        assert result.is_valid, (o["id"], [str(e) for e in result.errors])


def coll_url(base: str, community: str = "port-community") -> str:
    return f"{base}/taxii2/hub/collections/{collection_id_for(community)}/"


def test_discovery_collections_and_round_trip(hub: Hub, server: str) -> None:
    auth = Bearer(hub.tokens["terma-analyst"])
    srv = Server(f"{server}/taxii2/", auth=auth)
    assert srv.title == "PortGuard ISAC hub"
    root = srv.api_roots[0]
    assert isinstance(root, ApiRoot) and root.versions == [TAXII]
    colls = {c.id: c for c in root.collections}
    coll = colls[collection_id_for("port-community")]
    assert coll.can_read and coll.can_write

    status = coll.add_objects({"objects": [indicator(i) for i in range(25)]})
    assert status.status == "complete" and status.success_count == 25 and status.failure_count == 0
    again = root.get_status(status.id)
    assert again.success_count == 25

    pages = list(as_pages(coll.get_objects, per_request=10))
    got = [o for p in pages for o in p.get("objects", [])]
    assert len(pages) == 3 and len(got) == 25 and len({o["id"] for o in got}) == 25
    assert_valid(got)

    one = coll.get_object(indicator(3)["id"])
    assert one["objects"][0]["name"] == "phishing domain 3"
    assert coll.get_objects(**{"type": "malware"}).get("objects") is None
    assert len(coll.get_objects(id=indicator(4)["id"])["objects"]) == 1
    manifest = coll.get_manifest()
    assert len(manifest["objects"]) == 25 and manifest["objects"][0]["media_type"].startswith(
        "application/stix+json"
    )


def test_versions_never_silently_overwritten(hub: Hub, server: str) -> None:
    coll = Collection(coll_url(server), auth=Bearer(hub.tokens["terma-analyst"]))
    base = indicator(1)
    newer = indicator(1, modified="2026-02-01T00:00:00.000Z", name="phishing domain 1 (v2)")
    older = indicator(1, modified="2025-12-01T00:00:00.000Z")
    clash = dict(base, name="same modified, other content")
    assert coll.add_objects({"objects": [base]}).success_count == 1
    st = coll.add_objects({"objects": [clash, base]})  # base again: unchanged, a success
    assert st.success_count == 1 and "different content" in st.failures[0]["message"]
    st = coll.add_objects({"objects": [newer, older]})
    assert st.success_count == 1 and st.failure_count == 1
    assert "older than the stored version" in st.failures[0]["message"]
    versions = coll.object_versions(base["id"])["versions"]
    assert len(versions) == 2
    latest = coll.get_object(base["id"])["objects"]
    assert [o["name"] for o in latest] == ["phishing domain 1 (v2)"]
    every = coll.get_object(base["id"], version="all")["objects"]
    assert len(every) == 2
    assert_valid(every)


def test_bad_records_are_reported_and_good_ones_kept(hub: Hub, server: str) -> None:
    coll = Collection(coll_url(server), auth=Bearer(hub.tokens["terma-analyst"]))
    bad_pattern = indicator(2, pattern="[domain-name:value = 'x'")
    unknown_marking = indicator(3, object_marking_refs=[f"marking-definition--{uuid.uuid4()}"])
    not_stix = {"type": "indicator", "id": "nonsense"}
    other_owner = indicator(4)
    st = coll.add_objects({"objects": [indicator(1), bad_pattern, unknown_marking, not_stix]})
    assert st.success_count == 1 and st.failure_count == 3
    text = " ".join(f["message"] for f in st.failures)
    assert "objects[1]" in text and "pattern" in text
    assert "unknown marking" in text and "objects[3]" in text
    # A member cannot overwrite another member's object with a newer version.
    Collection(coll_url(server), auth=Bearer(hub.tokens["shipb-analyst"])).add_objects(
        {"objects": [other_owner]}
    )
    st = coll.add_objects({"objects": [dict(other_owner, modified="2027-01-01T00:00:00.000Z")]})
    assert st.failure_count == 1 and "another member" in st.failures[0]["message"]


def test_taxii_errors(hub: Hub, server: str) -> None:
    url = coll_url(server)
    h = {"Authorization": f"Bearer {hub.tokens['terma-analyst']}"}
    r = requests.get(url + "objects/", headers={**h, "Accept": "application/json"}, timeout=10)
    assert r.status_code == 406 and r.headers["content-type"] == TAXII
    assert r.json()["http_status"] == "406" and r.json()["title"]
    r = requests.post(
        url + "objects/",
        headers={**h, "Accept": TAXII, "Content-Type": "application/json"},
        data="{}",
        timeout=10,
    )
    assert r.status_code == 415
    r = requests.get(url + "objects/", headers={"Accept": TAXII}, timeout=10)
    assert r.status_code == 401 and "Basic" in r.headers["www-authenticate"]
    r = requests.get(url + "objects/?next=bogus", headers={**h, "Accept": TAXII}, timeout=10)
    assert r.status_code == 400
    r = requests.get(
        url + "objects/?added_after=yesterday", headers={**h, "Accept": TAXII}, timeout=10
    )
    assert r.status_code == 400
    r = requests.post(
        url + "objects/",
        headers={**h, "Accept": TAXII, "Content-Type": TAXII},
        data="{not json",
        timeout=10,
    )
    assert r.status_code == 400 and r.json()["title"] == "Bad request"
    r = requests.get(
        f"{server}/taxii2/hub/collections/{uuid.uuid4()}/objects/",
        headers={**h, "Accept": TAXII},
        timeout=10,
    )
    assert r.status_code == 404
    huge = {"objects": [indicator(i) for i in range(10_001)]}
    r = requests.post(
        url + "objects/",
        headers={**h, "Accept": TAXII, "Content-Type": TAXII},
        json=huge,
        timeout=60,
    )
    assert r.status_code in (413,) and r.headers["content-type"] in (TAXII, "application/json")
    assert (
        hub.client.get("/api/v1/intel/objects", headers=h).json()["objects"] == []
    )  # nothing written


def test_member_may_not_write_where_it_may_not(hub: Hub, server: str) -> None:
    with hub.ctx.db.session() as s:
        from portguard.intel import members

        members.add_community(session=s, community_id="authorities", name="Authorities", actor="t")
    coll = Collection(coll_url(server, "authorities"), auth=Bearer(hub.tokens["terma-analyst"]))
    assert not coll.can_write
    with pytest.raises(requests.HTTPError):
        coll._conn.post(
            coll.objects_url,
            headers={"Accept": TAXII, "Content-Type": TAXII},
            json={"objects": [indicator(1)]},
        )
    r = requests.post(
        coll.objects_url,
        json={"objects": [indicator(1)]},
        timeout=10,
        headers={
            "Accept": TAXII,
            "Content-Type": TAXII,
            "Authorization": f"Bearer {hub.tokens['terma-analyst']}",
        },
    )
    assert r.status_code == 403 and r.json()["http_status"] == "403"
    # An auditor (ISAC reader) may read but not write the community it is in.
    r = requests.post(
        coll_url(server) + "objects/",
        json={"objects": [indicator(1)]},
        timeout=10,
        headers={
            "Accept": TAXII,
            "Content-Type": TAXII,
            "Authorization": f"Bearer {hub.tokens['terma-auditor']}",
        },
    )
    assert r.status_code == 403


def test_basic_auth_and_added_after(hub: Hub, server: str) -> None:
    coll = Collection(coll_url(server), user="terma-analyst", password=PASSWORD)
    coll.add_objects({"objects": [indicator(i) for i in range(5)]})
    env = coll.get_objects()
    assert len(env["objects"]) == 5
    r = requests.get(
        coll.objects_url, auth=("terma-analyst", PASSWORD), headers={"Accept": TAXII}, timeout=10
    )
    last = r.headers["X-TAXII-Date-Added-Last"]
    assert coll.get_objects(added_after=last).get("objects") is None
    coll.add_objects({"objects": [indicator(9)]})
    assert [o["id"] for o in coll.get_objects(added_after=last)["objects"]] == [indicator(9)["id"]]


def test_paging_cursor_survives_a_restart_and_another_process(hub: Hub, server: str) -> None:
    coll = Collection(coll_url(server), auth=Bearer(hub.tokens["terma-analyst"]))
    coll.add_objects({"objects": [indicator(i) for i in range(30)]})
    first = coll.get_objects(limit=10)
    assert first["more"] and len(first["objects"]) == 10
    # A second server process: a new hub and app over the same database, no shared memory.
    hub2 = IntelHub(db=hub.ctx.db, bus=None, clock=hub.ctx.clock, organisation=hub.hub.home)
    hub2.start()
    from dataclasses import replace

    ctx2 = replace(hub.ctx, extras={"intel": hub2})
    client2 = TestClient(create_api(ctx2, [taxii_router]))
    url = coll.objects_url.replace(server, "")
    r = client2.get(
        url,
        params={"limit": 10, "next": first["next"]},
        headers={"Accept": TAXII, **hub.h("terma-analyst")},
    )
    second = r.json()
    ids = [o["id"] for o in first["objects"] + second["objects"]]
    assert len(set(ids)) == 20 and second["more"]
    third = coll.get_objects(limit=10, next=second["next"])
    assert len({*ids, *(o["id"] for o in third["objects"])}) == 30 and not third["more"]
    client2.close()
