"""TLP 2.0 for the ISAC hub: the marking-definition ids, and who may read what.

The rules, for an object shared into the hub by organisation ``owner``:

=============  ===========================================================================
CLEAR          anyone with an account on the hub
GREEN          the organisations of the community it was shared into (all members when the
               object names no community), and the owner
AMBER          the owner, the named recipient organisations, and the clients of both
AMBER+STRICT   the owner and the named recipient organisations only
RED            the named recipient persons only (and the person who submitted it)
=============  ===========================================================================

No role widens this: a hub administrator reads RED only when named. ``readable`` is the one
decision every read path (TAXII, REST, exports, the indicator index) calls.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from portguard.core.types import TLP

__all__ = [
    "TLP",
    "TLP_IDS",
    "TLP_V1_IDS",
    "Sharing",
    "Viewer",
    "marking_id",
    "readable",
    "tlp_from_markings",
    "tlp_marking_definition",
]

_PREFIX = "marking-definition--"

#: TLP 2.0 marking-definition ids (FIRST / OASIS), by label.
TLP_IDS: dict[TLP, str] = {
    TLP.CLEAR: _PREFIX + "94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: _PREFIX + "bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: _PREFIX + "55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: _PREFIX + "939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: _PREFIX + "e828b379-4e03-4974-9ac4-e53a884c97c1",
}

#: TLP 1.0 ids (what ``stix2.TLP_*`` carry), still in most feeds: read, never written.
TLP_V1_IDS: dict[str, TLP] = {
    _PREFIX + "613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,  # WHITE
    _PREFIX + "34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    _PREFIX + "f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    _PREFIX + "5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}

_BY_ID: dict[str, TLP] = {v: k for k, v in TLP_IDS.items()} | TLP_V1_IDS

#: The extension that defines the TLP 2.0 marking-definition objects.
_TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
_TLP2_CREATED_BY = "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"


def marking_id(tlp: TLP | str) -> str:
    return TLP_IDS[TLP.parse(tlp)]


def tlp_of_marking(ref: str) -> TLP | None:
    return _BY_ID.get(ref)


def tlp_from_markings(refs: Iterable[str]) -> tuple[TLP | None, list[str]]:
    """The strictest TLP among ``refs`` (None when there is none) and the non-TLP refs."""
    found, others = _tlp_from_markings(tuple(refs))
    return found, list(others)


@functools.lru_cache(maxsize=1024)
def _tlp_from_markings(refs: tuple[str, ...]) -> tuple[TLP | None, tuple[str, ...]]:
    found: TLP | None = None
    others: list[str] = []
    for ref in refs:
        label = _BY_ID.get(ref)
        if label is None:
            others.append(ref)
        elif found is None or label.rank > found.rank:
            found = label
    return found, tuple(others)


def tlp_marking_definition(tlp: TLP | str) -> dict[str, Any]:
    """The STIX 2.1 marking-definition object of a TLP 2.0 label (as published by OASIS)."""
    label = TLP.parse(tlp)
    name = "TLP:" + label.value.upper()
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_IDS[label],
        "created": "2022-10-01T00:00:00.000Z",
        "created_by_ref": _TLP2_CREATED_BY,
        "name": name,
        "extensions": {
            _TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label.value}
        },
    }


@dataclass(frozen=True)
class Sharing:
    """Who an object was shared with: the envelope the hub keeps beside every STIX object."""

    tlp: TLP
    owner: str
    community: str | None = None
    recipient_orgs: frozenset[str] = frozenset()
    recipient_users: frozenset[str] = frozenset()
    submitted_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tlp": self.tlp.value,
            "owner": self.owner,
            "community": self.community,
            "recipient_orgs": sorted(self.recipient_orgs),
            "recipient_users": sorted(self.recipient_users),
        }


@dataclass(frozen=True)
class Viewer:
    """A reader as TLP sees it: a person of an organisation, with the organisation's
    communities and the organisations whose client it is."""

    username: str
    organisation: str
    member: bool = True
    communities: frozenset[str] = frozenset()
    #: Organisations this viewer's organisation is a client of (AMBER reaches clients).
    client_of: frozenset[str] = frozenset()
    #: Every community id on the hub (GREEN without a community reaches all members).
    all_communities: frozenset[str] = field(default=frozenset(), compare=False)


def readable(
    viewer: Viewer,
    tlp: TLP,
    owner: str,
    community: str | None,
    recipient_orgs: Iterable[str] = (),
    recipient_users: Iterable[str] = (),
    submitted_by: str | None = None,
) -> bool:
    """May ``viewer`` read an object shared as described? (The table in the module doc.)"""
    if tlp is TLP.CLEAR:
        return True
    if tlp is TLP.RED:
        return viewer.username == submitted_by or viewer.username in set(recipient_users)
    org = viewer.organisation
    if tlp is TLP.GREEN:
        if org == owner:
            return True
        if not viewer.member:
            return False
        return community is None or community in viewer.communities
    recipients = set(recipient_orgs) | {owner}
    if org in recipients:
        return True
    if tlp is TLP.AMBER:
        return bool(viewer.client_of & recipients)
    return False  # AMBER+STRICT: the organisation and named recipients only


def readable_sharing(viewer: Viewer, sharing: Sharing) -> bool:
    return readable(
        viewer,
        sharing.tlp,
        sharing.owner,
        sharing.community,
        sharing.recipient_orgs,
        sharing.recipient_users,
        sharing.submitted_by,
    )


def sharing_from_row(row: Mapping[str, Any]) -> Sharing:
    return Sharing(
        tlp=TLP(row["tlp"]),
        owner=row["owner"],
        community=row.get("community"),
        recipient_orgs=frozenset(row.get("recipient_orgs") or ()),
        recipient_users=frozenset(row.get("recipient_users") or ()),
        submitted_by=row.get("submitted_by"),
    )
