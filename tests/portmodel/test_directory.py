"""The directory: CSV import (audited, upsert, identities moving between people, bad rows),
resolution of identities to people, and the cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portguard.core import audit
from portguard.core.db import Database
from portguard.core.errors import ValidationError
from portguard.portmodel import Directory, DirectoryCache, import_directory_csv
from portguard.portmodel.directory import parse_directory_csv
from portguard.testing import migrated_db

CSV = """person_id,name,organisation_id,organisation_name,role,emails,badges,accounts,active
P-1,Jan Peeters,poab,Port of Antwerp-Bruges,,J.Peeters@POAB.example;jan@h.example,B-1,jpeeters,yes
P-2,An Janssens,poab,,lock operator,an@poab.example,B-2,ajanssens,
"""


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    d = migrated_db(db_url)
    yield d
    d.dispose()


def test_import_resolve_and_update(db: Database) -> None:
    with db.session() as s:
        r = import_directory_csv(session=s, text=CSV, actor="test", source="people.csv")
        assert (r.persons, r.organisations, r.identities, r.problems) == (2, 1, 7, [])
    cache = DirectoryCache(db, ttl_s=3600)
    d = cache.get()
    assert d.resolve("email:j.peeters@poab.example") == "P-1"  # normalised like an EntityRef
    assert d.resolve("account:ajanssens") == "P-2" and d.resolve("badge:B-9") is None
    p = d.person("P-1")
    assert p is not None and p.organisation_name == "Port of Antwerp-Bruges"
    assert p.of_kind("account") == ("jpeeters",)
    # Badge B-2 moves to a new person; P-2 keeps the rest of her identities.
    with db.session() as s:
        r = import_directory_csv(
            session=s,
            text="person_id,name,badges\nP-3,Piet Smits,B-2\n",
            actor="test",
        )
        assert r.moved == [("badge:B-2", "P-2", "P-3")]
        assert audit.verify(s).ok
    assert cache.get().resolve("badge:B-2") == "P-2"  # cached until invalidated
    cache.invalidate()
    assert cache.get().resolve("badge:B-2") == "P-3"
    assert cache.get().resolve("email:an@poab.example") == "P-2"


def test_bad_rows_are_reported_with_their_line() -> None:
    text = CSV + "P-1,Again,,,,,,,\n,No id,,,,,,,\nP-4,Bad mail,,,,not-an-address,,,\n"
    text += "P-5,Steals,,,,,B-1,,\nP-6,Odd,,,,,,,maybe\n"
    rows, problems = parse_directory_csv(text, source="p.csv")
    assert [r.person_id for r in rows] == ["P-1", "P-2"]
    assert [p.split(":")[1] for p in problems] == ["4", "5", "6", "7", "8"]
    with pytest.raises(ValidationError, match="header"):
        parse_directory_csv("id,name\n", source="p.csv")


def test_directory_snapshot_persons_for() -> None:
    rows, _ = parse_directory_csv(CSV)
    from portguard.core.types import EntityRef
    from portguard.portmodel import PersonInfo

    d = Directory(PersonInfo(id=r.person_id, name=r.name, identities=r.identities) for r in rows)
    ents = [EntityRef.of("email", "jan@h.example"), EntityRef.of("badge", "B-2")]
    assert d.persons_for(ents) == {"P-1", "P-2"}
