from __future__ import annotations

from typing import Any

import pytest

from portguard.core.types import TLP
from portguard.intel.index import IndicatorIndex
from portguard.intel.matching import compile_pattern, normalise_url
from portguard.intel.tlp import Sharing, Viewer
from portguard.intel.warninglists import Warninglists

PORT = Viewer("portguard", "port", communities=frozenset({"c"}))
NOW = 1_800_000_000.0


def ind(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"indicator--{n}", "pattern": pattern, "name": f"i{n}", **extra}


@pytest.fixture
def ix() -> IndicatorIndex:
    return IndicatorIndex(viewer=PORT, now=lambda: NOW)


GREEN = Sharing(TLP.GREEN, "member", community="c")


def test_simple_patterns_compile_and_compound_do_not() -> None:
    assert [
        t.kind
        for t in compile_pattern(
            "[url:value = 'http://a.example/x'] OR [ipv6-addr:value = '2001:db8::/48']"
        )
    ] == ["url", "cidr"]
    assert compile_pattern("[file:hashes.'SHA-256' = 'AA']")[0].value == "aa"  # type: ignore[index]
    assert compile_pattern("[domain-name:value = 'a' AND domain-name:value = 'b']") is None
    assert compile_pattern("[domain-name:value = 'a'] FOLLOWEDBY [domain-name:value = 'b']") is None
    assert compile_pattern("[domain-name:value = 'a'] WITHIN 5 SECONDS") is None
    assert (
        normalise_url("HTTPS://Evil.Example:443/Path?q=1#frag") == "https://evil.example/Path?q=1"
    )


def test_domains_walk_parents_urls_normalise_cidrs_hashes_emails(ix: IndicatorIndex) -> None:
    ix.apply(ind(1, "[domain-name:value = 'evil.example']"), GREEN)
    ix.apply(ind(2, "[url:value = 'http://drop.example/payload.exe']"), GREEN)
    ix.apply(
        ind(3, "[ipv4-addr:value = '203.0.114.0/24'] OR [ipv4-addr:value = '198.51.99.7']"), GREEN
    )
    ix.apply(ind(4, "[file:hashes.MD5 = '0123456789abcdef0123456789abcdef']"), GREEN)
    ix.apply(ind(5, "[email-addr:value = 'ceo@fake.example']"), GREEN)
    ix.apply(ind(6, "[ipv6-addr:value = '2a02:1::/32']"), GREEN)
    assert [m.how for m in ix.lookup_domain("EVIL.example.")] == ["exact"]
    assert [(m.how, m.matched) for m in ix.lookup_domain("a.b.evil.example")] == [
        ("parent", "evil.example")
    ]
    assert ix.lookup_domain("notevil.example") == []
    assert [m.indicator_id for m in ix.lookup_url("HTTP://Drop.Example:80/payload.exe#x")] == [
        "indicator--2"
    ]
    assert [m.indicator_id for m in ix.lookup_url("https://x.evil.example/login")] == [
        "indicator--1"
    ]
    assert [m.matched for m in ix.lookup_ip("203.0.114.99")] == ["203.0.114.0/24"]
    assert [m.how for m in ix.lookup_ip("198.51.99.7")] == ["exact"]
    assert ix.lookup_ip("203.0.115.1") == [] and ix.lookup_ip("not an ip") == []
    assert [m.indicator_id for m in ix.lookup_ip("2a02:0001:0:0::5")] == ["indicator--6"]
    assert ix.lookup_hash("0123456789ABCDEF0123456789ABCDEF")[0].kind == "hash"
    assert [m.kind for m in ix.lookup_email("CEO@fake.example")] == ["email"]
    assert ix.count_hits("domain", ["x.evil.example", "good.example", "evil.example"]) == 2


def test_substring_and_compound(ix: IndicatorIndex) -> None:
    ix.apply(ind(1, "[url:value LIKE '%/wp-admin/%.php']"), GREEN)
    ix.apply(
        ind(2, "[domain-name:value = 'a.example' AND domain-name:value != 'b.example']"), GREEN
    )
    assert [m.how for m in ix.lookup_url("http://x.example/wp-admin/shell.php")] == ["substring"]
    assert ix.lookup_url("http://x.example/wp-admin/readme.txt") == []
    assert [m.how for m in ix.lookup_domain("a.example")] == ["pattern"]
    assert ix.lookup_domain("c.example") == []


def test_validity_revocation_and_removal(ix: IndicatorIndex) -> None:
    ix.apply(
        ind(1, "[domain-name:value = 'old.example']", valid_until="2020-01-01T00:00:00Z"), GREEN
    )
    ix.apply(
        ind(2, "[domain-name:value = 'later.example']", valid_from="2099-01-01T00:00:00Z"), GREEN
    )
    ix.apply(
        ind(3, "[domain-name:value = 'live.example']", valid_until="2099-01-01T00:00:00Z"), GREEN
    )
    assert ix.lookup_domain("old.example") == [] and ix.lookup_domain("later.example") == []
    assert ix.lookup_domain("live.example")[0].valid_until is not None
    ix.apply(ind(3, "[domain-name:value = 'live.example']", revoked=True), GREEN)
    assert ix.lookup_domain("live.example") == [] and len(ix) == 2
    ix.apply(ind(4, "[domain-name:value = 'v1.example']"), GREEN)
    ix.apply(ind(4, "[domain-name:value = 'v2.example']"), GREEN)  # a new version replaces
    assert ix.lookup_domain("v1.example") == [] and ix.lookup_domain("v2.example")
    assert ix.remove("indicator--4") and not ix.lookup_domain("v2.example")


def test_warninglists_mark_conflicts_that_may_not_block(ix: IndicatorIndex) -> None:
    assert ix.apply(ind(1, "[domain-name:value = 'login.microsoft.com']"), GREEN)
    assert ix.apply(ind(2, "[ipv4-addr:value = '10.1.2.3']"), GREEN)
    assert ix.apply(ind(3, "[domain-name:value = 'phish.example']"), GREEN) == []
    m = ix.lookup_domain("login.microsoft.com")[0]
    assert not m.block and m.warninglists
    assert ix.lookup_domain("phish.example")[0].block
    assert {c[0] for c in ix.conflicts()} == {"indicator--1", "indicator--2"}


def test_lookups_are_filtered_by_tlp(ix: IndicatorIndex) -> None:
    ix.apply(
        ind(1, "[domain-name:value = 'amber.example']"),
        Sharing(TLP.AMBER, "member", "c", frozenset({"other"})),
    )
    ix.apply(
        ind(2, "[domain-name:value = 'green.example']"), Sharing(TLP.GREEN, "member", "elsewhere")
    )
    assert ix.lookup_domain("amber.example") == [] and ix.lookup_domain("green.example") == []
    other = Viewer("u", "other", communities=frozenset({"c"}))
    assert ix.lookup_domain("amber.example", viewer=other)
    assert ix.lookup_domain("green.example", viewer=other) == []
    ix.set_viewer(Viewer("portguard", "port", communities=frozenset({"elsewhere"})))
    assert ix.lookup_domain("green.example")


def test_full_misp_warninglists_load(tmp_path: Any) -> None:
    (tmp_path / "list.json").write_text(
        '{"name": "Top sites", "type": "hostname", "matching_attributes": ["domain"],'
        ' "list": ["example.org"], "description": "", "version": 1}'
    )
    wl = Warninglists.load(tmp_path)
    assert "Top sites" in wl.check("domain", "www.example.org")


def test_bulk_lookups_follow_validity_removal_and_arrival() -> None:
    clock = [NOW]
    ix = IndicatorIndex(viewer=PORT, now=lambda: clock[0])
    ix.apply(
        ind(1, "[domain-name:value = 'brief.example']", valid_until="2027-01-15T08:00:10Z"), GREEN
    )
    ix.apply(ind(2, "[ipv4-addr:value = '192.0.2.77']", valid_from="2027-01-15T08:00:05Z"), GREEN)
    # NOW is 2027-01-15T08:00:00Z: the domain is live, the IP not yet.
    assert ix.count_hits("domain", ["a.brief.example", "brief.example", "x.example"]) == 2
    assert ix.count_hits("ip", ["192.0.2.77", "192.0.2.77"]) == 0
    clock[0] = NOW + 6
    assert ix.count_hits("ip", ["192.0.2.77", "192.0.2.77"]) == 2
    clock[0] = NOW + 11
    assert ix.count_hits("domain", ["brief.example"]) == 0
    ix.remove("indicator--2")
    assert ix.count_hits("ip", ["192.0.2.77"]) == 0
    ix.apply(ind(3, "[domain-name:value = 'late.example']"), GREEN)
    assert ix.count_hits("domain", ["late.example"]) == 1
