"""The directory of the port community: organisations, people and the identities that tie them
together (badges, e-mail addresses, OT operator accounts).

This is what lets an incident see that the phishing recipient, the badge holder and the operator
who sent a lock command are one person. It lives in the port model so that every domain (access,
infra, incidents) may read it without importing another domain.

Public API::

    Directory                   an immutable in-memory snapshot: resolve("email:x") -> person id
    Directory.load(session)     the snapshot of the tables
    DirectoryCache(db)          a snapshot reloaded every ``ttl_s`` seconds (thread-safe)
    import_directory_csv(...)   upsert people, organisations and identities from CSV, audited
    parse_directory_csv(text)   the pure parser: rows and problems (``file:line``)

CSV format (a header row, UTF-8; several values in one cell are separated by ``;``)::

    person_id,name,organisation_id,organisation_name,role,emails,badges,accounts,active
    P-0001,Jan Peeters,poab,Port of Antwerp-Bruges,lock operator,jp@poab.example,B-4,jpeeters,yes

``organisation_name``, ``role``, ``emails``, ``badges``, ``accounts`` and ``active`` may be empty or
absent. Importing a person replaces their identities with those of the file; an identity that
belonged to someone else moves to the person of the file (and is reported).
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portguard.core import audit
from portguard.core.clock import utcnow
from portguard.core.db import Database
from portguard.core.errors import ValidationError
from portguard.core.types import EntityKind, EntityRef
from portguard.portmodel.models import Identity, Organisation, Person

__all__ = [
    "IDENTITY_KINDS",
    "Directory",
    "DirectoryCache",
    "ImportReport",
    "PersonInfo",
    "PersonRow",
    "import_directory_csv",
    "normalise_identity",
    "parse_directory_csv",
]

#: The identity kinds the directory keeps, as entity kinds (``badge:B-1``, ``email:x@y``...).
IDENTITY_KINDS: Final = ("badge", "email", "account")
AUDIT_ACTION: Final = "portmodel.directory.import"
_COLUMNS: Final = (
    "person_id",
    "name",
    "organisation_id",
    "organisation_name",
    "role",
    "emails",
    "badges",
    "accounts",
    "active",
)
_PLURAL: Final = {"emails": "email", "badges": "badge", "accounts": "account"}
_TRUE: Final = {"", "1", "yes", "y", "true", "active"}
_FALSE: Final = {"0", "no", "n", "false", "inactive"}


def normalise_identity(kind: str, value: str) -> str:
    """The ``kind:value`` key of an identity, normalised as an ``EntityRef`` would be."""
    if kind not in IDENTITY_KINDS:
        raise ValueError(f"unknown identity kind {kind!r}; use one of {', '.join(IDENTITY_KINDS)}")
    return EntityRef(kind=EntityKind(kind), value=value).key


@dataclass(frozen=True, slots=True)
class PersonInfo:
    id: str
    name: str
    organisation_id: str | None = None
    organisation_name: str = ""
    role: str = ""
    active: bool = True
    #: ``kind:value`` keys of the person's identities.
    identities: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> tuple[str, ...]:
        """The values (without ``kind:``) of this person's identities of one kind."""
        prefix = f"{kind}:"
        return tuple(k[len(prefix) :] for k in self.identities if k.startswith(prefix))


class Directory:
    """An immutable snapshot of the directory: safe to share between threads."""

    def __init__(self, persons: Iterable[PersonInfo] = ()) -> None:
        self._persons: dict[str, PersonInfo] = {}
        self._by_key: dict[str, str] = {}
        for p in persons:
            self._persons[p.id] = p
            for key in p.identities:
                self._by_key[key] = p.id

    def __len__(self) -> int:
        return len(self._persons)

    def __iter__(self) -> Iterator[PersonInfo]:
        return iter(self._persons.values())

    def person(self, person_id: str) -> PersonInfo | None:
        return self._persons.get(person_id)

    def resolve(self, key: str) -> str | None:
        """The person id behind an identity key (``email:x``, ``badge:B-1``, ``person:P-1``)."""
        if key.startswith("person:"):
            pid = key[len("person:") :]
            return pid if pid in self._persons else None
        return self._by_key.get(key)

    def person_of(self, kind: str, value: str) -> PersonInfo | None:
        try:
            pid = self._by_key.get(normalise_identity(kind, value))
        except ValueError:
            return None
        return self._persons.get(pid) if pid is not None else None

    def persons_for(self, entities: Iterable[EntityRef]) -> set[str]:
        """The ids of the people the entities name (directly or through an identity)."""
        out: set[str] = set()
        for e in entities:
            pid = self.resolve(e.key)
            if pid is not None:
                out.add(pid)
        return out

    @classmethod
    def load(cls, session: Session) -> Directory:
        """The snapshot of the directory tables, in three queries."""
        orgs = {o.id: o.name for o in session.execute(select(Organisation)).scalars()}
        idents: dict[str, list[str]] = {}
        for kind, value, pid in session.execute(
            select(Identity.kind, Identity.value, Identity.person_id)
        ):
            idents.setdefault(pid, []).append(f"{kind}:{value}")
        return cls(
            PersonInfo(
                id=p.id,
                name=p.name,
                organisation_id=p.organisation_id,
                organisation_name=orgs.get(p.organisation_id or "", ""),
                role=p.role,
                active=p.active,
                identities=tuple(sorted(idents.get(p.id, ()))),
            )
            for p in session.execute(select(Person)).scalars()
        )


class DirectoryCache:
    """The directory of ``db``, reloaded at most every ``ttl_s`` seconds (and on ``invalidate``).

    The incident engine and the detectors call ``get()`` per alert or event: cheap, since the
    snapshot is kept between reloads."""

    def __init__(self, db: Database, *, ttl_s: float = 30.0) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._snapshot: Directory | None = None
        self._loaded_at = 0.0

    def get(self) -> Directory:
        with self._lock:
            now = time.monotonic()
            if self._snapshot is None or now - self._loaded_at >= self.ttl_s:
                with self.db.session() as session:
                    self._snapshot = Directory.load(session)
                self._loaded_at = now
            return self._snapshot

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None


@dataclass(frozen=True, slots=True)
class PersonRow:
    """One parsed CSV row."""

    line: int
    person_id: str
    name: str
    organisation_id: str | None
    organisation_name: str
    role: str
    active: bool
    identities: tuple[str, ...]


@dataclass
class ImportReport:
    rows: int = 0
    organisations: int = 0
    persons: int = 0
    identities: int = 0
    #: Identities taken from another person: (key, previous person id, new person id).
    moved: list[tuple[str, str, str]] = field(default_factory=list)
    #: Rows refused, each ``source:line: message``.
    problems: list[str] = field(default_factory=list)


def parse_directory_csv(text: str, *, source: str = "<csv>") -> tuple[list[PersonRow], list[str]]:
    """Parse the CSV (see the module docstring); bad rows become problems, never exceptions.

    A file without the required header is refused with ``ValidationError``."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("person_id", "name") if c not in header]
    if missing:
        raise ValidationError(
            f"the header must name {', '.join(missing)} (columns: {', '.join(_COLUMNS)})",
            location=f"{source}:1",
        )
    unknown = [h for h in header if h not in _COLUMNS]
    if unknown:
        raise ValidationError(
            f"unknown column(s) {unknown}; use {', '.join(_COLUMNS)}", location=f"{source}:1"
        )
    rows: list[PersonRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    owner: dict[str, str] = {}
    for raw in reader:
        line = reader.line_num
        where = f"{source}:{line}"
        if None in raw:
            problems.append(f"{where}: more cells than columns")
            continue
        cells = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        pid, name = cells.get("person_id", ""), cells.get("name", "")
        if not pid or not name:
            problems.append(f"{where}: person_id and name are required")
            continue
        if len(pid) > 200 or len(name) > 500:
            problems.append(f"{where}: person_id (200) or name (500 characters) too long")
            continue
        if pid in seen:
            problems.append(f"{where}: person {pid!r} already given on line {seen[pid]}")
            continue
        active_text = cells.get("active", "").lower()
        if active_text not in _TRUE | _FALSE:
            problems.append(f"{where}: active must be yes or no, got {active_text!r}")
            continue
        keys: list[str] = []
        bad = False
        for column, kind in _PLURAL.items():
            for value in cells.get(column, "").replace(",", ";").split(";"):
                if not value.strip():
                    continue
                try:
                    key = normalise_identity(kind, value.strip())
                except ValueError as exc:
                    problems.append(f"{where}: {column}: {exc}")
                    bad = True
                    continue
                if key in owner and owner[key] != pid:
                    problems.append(f"{where}: {key} is already given to {owner[key]!r}")
                    bad = True
                    continue
                owner[key] = pid
                keys.append(key)
        if bad:
            continue
        seen[pid] = line
        rows.append(
            PersonRow(
                line=line,
                person_id=pid,
                name=name,
                organisation_id=cells.get("organisation_id") or None,
                organisation_name=cells.get("organisation_name", ""),
                role=cells.get("role", ""),
                active=active_text in _TRUE,
                identities=tuple(dict.fromkeys(keys)),
            )
        )
    return rows, problems


def import_directory_csv(
    *, session: Session, text: str, actor: str, source: str = "<csv>"
) -> ImportReport:
    """Upsert the people, organisations and identities of a CSV file, in the caller's
    transaction, with one audit entry. Bad rows are reported and skipped; the rest is imported."""
    rows, problems = parse_directory_csv(text, source=source)
    report = ImportReport(rows=len(rows) + len(problems), problems=problems)
    now = utcnow()
    orgs: dict[str, str] = {}
    for r in rows:
        if r.organisation_id:
            orgs[r.organisation_id] = r.organisation_name or orgs.get(r.organisation_id, "")
    for oid, oname in orgs.items():
        org = session.get(Organisation, oid)
        if org is None:
            session.add(Organisation(id=oid, name=oname or oid, kind="", updated_at=now))
        elif oname and org.name != oname:
            org.name = oname
            org.updated_at = now
        report.organisations += 1
    session.flush()
    ids = [r.person_id for r in rows]
    keys = [k for r in rows for k in r.identities]
    previous: dict[str, str] = {}
    for chunk in _chunks(keys, 500):
        conds = [(k.split(":", 1)[0], k.split(":", 1)[1]) for k in chunk]
        for kind, value, pid in session.execute(
            select(Identity.kind, Identity.value, Identity.person_id).where(
                Identity.kind.in_({c[0] for c in conds}), Identity.value.in_({c[1] for c in conds})
            )
        ):
            previous[f"{kind}:{value}"] = pid
    for chunk in _chunks(ids, 500):
        session.execute(delete(Identity).where(Identity.person_id.in_(chunk)))
    for r in rows:
        person = session.get(Person, r.person_id)
        if person is None:
            session.add(
                Person(
                    id=r.person_id,
                    name=r.name,
                    organisation_id=r.organisation_id,
                    role=r.role,
                    active=r.active,
                    updated_at=now,
                )
            )
        else:
            person.name, person.organisation_id = r.name, r.organisation_id
            person.role, person.active, person.updated_at = r.role, r.active, now
        report.persons += 1
    session.flush()
    for r in rows:
        for key in r.identities:
            before = previous.get(key)
            if before is not None and before != r.person_id:
                kind, value = key.split(":", 1)
                session.execute(
                    delete(Identity).where(Identity.kind == kind, Identity.value == value)
                )
                report.moved.append((key, before, r.person_id))
    session.flush()
    session.add_all(
        Identity(kind=k.split(":", 1)[0], value=k.split(":", 1)[1], person_id=r.person_id)
        for r in rows
        for k in r.identities
    )
    report.identities = len(keys)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        target=f"directory:{source}",
        details={
            "persons": report.persons,
            "organisations": report.organisations,
            "identities": report.identities,
            "moved": len(report.moved),
            "problems": len(report.problems),
        },
    )
    return report


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
