"""The TLP matrix: every user (core role x organisation) x TLP level x read path. Each path
must show exactly what TLP 2.0 allows, nothing more (no leak) and nothing less.

The expectation is written here from the rules, independently of ``tlp.readable``."""

from __future__ import annotations

import json

import pytest
from tests.intel.conftest import Hub

from portguard.intel import members
from portguard.intel.members import collection_id_for

TLPS = ["clear", "green", "amber", "amber+strict", "red"]
USERS = [
    *(f"port-{r}" for r in ("admin", "analyst", "operator", "auditor")),
    *(f"terma-{r}" for r in ("admin", "analyst", "operator", "auditor")),
    "shipb-analyst",
    "agencyc-analyst",
    "outsider-analyst",
]
TAXII = {"Accept": "application/taxii+json;version=2.1"}


def expected(user: str, label: str) -> bool:
    """terminal-a shares into the port community; AMBER and AMBER+STRICT name shipping-b, RED
    names the person shipb-analyst. agency-c is a client of terminal-a, in no community."""
    org = user.split("-")[0]
    if label == "clear":
        return True
    if label == "green":  # the community: port, terminal-a, shipping-b
        return org in ("port", "terma", "shipb")
    if label == "amber":  # owner + recipient + their clients
        return org in ("terma", "shipb", "agencyc")
    if label == "amber+strict":
        return org in ("terma", "shipb")
    return user in ("shipb-analyst", "terma-analyst")  # RED: named person + the submitter


def expected_operators(user: str) -> bool:
    """GREEN in the 'terminal-operators' community, of which only terminal-a is a member."""
    return user.startswith("terma-")


@pytest.fixture
def shared(hub: Hub) -> Hub:
    with hub.ctx.db.session() as s:
        members.add_community(
            session=s, community_id="terminal-operators", name="Terminal operators", actor="t"
        )
        members.join_community(
            session=s, community_id="terminal-operators", org_id="terminal-a", actor="t"
        )
    for label in TLPS:
        params = {"tlp": label}
        if label in ("amber", "amber+strict"):
            params["recipient_org"] = "shipping-b"
        if label == "red":
            params["recipient_user"] = "shipb-analyst"
        r = hub.client.post(
            "/api/v1/intel/objects",
            params=params,
            content=f"{label.replace('+', '-')}.evil.example\n",
            headers=hub.h("terma-analyst"),
        )
        assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    r = hub.client.post(
        "/api/v1/intel/objects?tlp=green&community=terminal-operators",
        content="operators.evil.example\n",
        headers=hub.h("terma-analyst"),
    )
    assert r.json()["stored"] == 1, r.text
    return hub


def _domains_in(objs: list[dict[str, object]]) -> set[str]:
    out = set()
    for o in objs:
        pattern = str(o.get("pattern", ""))
        if "evil.example" in pattern:
            out.add(pattern.split("'")[1])
    return out


def _taxii_objects(h: Hub, user: str, coll: str) -> set[str]:
    r = h.client.get(
        f"/taxii2/hub/collections/{coll}/objects/?limit=2", headers={**TAXII, **h.h(user)}
    )
    assert r.status_code == 200, r.text
    found = _domains_in(r.json().get("objects", []))
    while r.json().get("more"):
        nxt = r.json()["next"]
        r = h.client.get(
            f"/taxii2/hub/collections/{coll}/objects/?limit=2&next={nxt}",
            headers={**TAXII, **h.h(user)},
        )
        found |= _domains_in(r.json().get("objects", []))
    return found


def _taxii_ids(h: Hub, user: str, coll: str, what: str) -> set[str]:
    r = h.client.get(f"/taxii2/hub/collections/{coll}/{what}/", headers={**TAXII, **h.h(user)})
    assert r.status_code == 200
    return {o["id"] for o in r.json().get("objects", [])}


def test_every_read_path_shows_exactly_what_tlp_allows(shared: Hub) -> None:
    h = shared
    port = collection_id_for("port-community")
    ops = collection_id_for("terminal-operators")
    # The ids, as the owner sees them.
    owner_objs = h.client.get(
        "/api/v1/intel/objects?type=indicator&limit=100", headers=h.h("terma-analyst")
    ).json()["objects"]
    ids = {o["pattern"].split("'")[1]: o["id"] for o in owner_objs}
    assert len(ids) == 6
    hub_index = h.hub.index
    checked = 0
    for user in USERS:
        want = {f"{t.replace('+', '-')}.evil.example" for t in TLPS if expected(user, t)}
        want_ops = {"operators.evil.example"} if expected_operators(user) else set()
        every = want | want_ops
        m = h.member(user)
        paths: dict[str, set[str]] = {
            "taxii objects": _taxii_objects(h, user, port) | _taxii_objects(h, user, ops),
            "rest search": _domains_in(
                h.client.get("/api/v1/intel/objects?limit=100", headers=h.h(user)).json()["objects"]
            ),
        }
        for path_name, coll in (("taxii manifest", "manifest"),):
            seen = _taxii_ids(h, user, port, coll) | _taxii_ids(h, user, ops, coll)
            paths[path_name] = {d for d, i in ids.items() if i in seen}
        rest_get, taxii_get = set(), set()
        for domain, oid in ids.items():
            if h.client.get(f"/api/v1/intel/objects/{oid}", headers=h.h(user)).status_code == 200:
                rest_get.add(domain)
            for coll in (port, ops):
                r = h.client.get(
                    f"/taxii2/hub/collections/{coll}/objects/{oid}/", headers={**TAXII, **h.h(user)}
                )
                v = h.client.get(
                    f"/taxii2/hub/collections/{coll}/objects/{oid}/versions/",
                    headers={**TAXII, **h.h(user)},
                )
                assert (r.status_code == 200) == (v.status_code == 200)
                if r.status_code == 200:
                    taxii_get.add(domain)
                else:
                    assert r.status_code == 404  # hidden looks like missing
        paths["rest get"] = rest_get
        paths["taxii get"] = taxii_get
        observables = [{"value": f"www.{d}"} for d in ids]
        paths["match api"] = {
            x["matched"]
            for x in h.client.post(
                "/api/v1/intel/match", json={"observables": observables}, headers=h.h(user)
            ).json()
        }
        paths["index"] = {
            x.matched for d in ids for x in hub_index.lookup_domain(f"www.{d}", viewer=m.viewer)
        }
        if m.can(members.IsacRole.ANALYST):
            paths["export plain"] = {
                line
                for line in h.client.get(
                    "/api/v1/intel/export/plain", headers=h.h(user)
                ).text.split()
                if "evil" in line
            }
            paths["export rpz"] = {
                line
                for line in h.client.get("/api/v1/intel/export/rpz", headers=h.h(user)).text.split()
                if "evil" in line and not line.startswith("*")
            }
            paths["export stix"] = _domains_in(
                json.loads(h.client.get("/api/v1/intel/export/stix", headers=h.h(user)).text)[
                    "objects"
                ]
            )
        else:
            assert h.client.get("/api/v1/intel/export/plain", headers=h.h(user)).status_code == 403
        for name, got in paths.items():
            assert got == every, f"{user} via {name}: got {sorted(got)}, TLP allows {sorted(every)}"
            checked += 1
    assert checked >= len(USERS) * 8


def test_detectors_read_as_the_port(shared: Hub) -> None:
    """The index's default viewer is the organisation running PortGuard."""
    ix = shared.hub.index
    got = {t for t in TLPS if ix.lookup_domain(f"x.{t.replace('+', '-')}.evil.example")}
    assert got == {t for t in TLPS if expected("port-analyst", t)} - {"red"}
    assert not ix.lookup_domain("operators.evil.example")
