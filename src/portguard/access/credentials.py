"""Credentials: the in-memory ``Credential`` detectors read, and the audited changes to the
``access_credential`` table (upsert, revoke, CSV import). Functions take the caller's session.

CSV format (header row; several values in one cell separated by ``;``)::

    badge,holder,person_id,organisation,clearances,valid_from,valid_until,revoked,hours,visitor,responder
    B-40411,Jan Peeters,P-0001,poab,lock-complex-berendrecht,2026-01-01,2027-01-01,no,,no,no
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from portguard.access.models import CredentialRecord
from portguard.core import audit
from portguard.core.clock import ensure_utc, utcnow
from portguard.core.errors import NotFoundError, ValidationError
from portguard.portmodel.schedule import Hours

__all__ = [
    "Credential",
    "CredentialImport",
    "CredentialIn",
    "import_credentials_csv",
    "load_credentials",
    "revoke_credential",
    "upsert_credentials",
]

_CSV_COLUMNS: Final = (
    "badge",
    "holder",
    "person_id",
    "organisation",
    "clearances",
    "valid_from",
    "valid_until",
    "revoked",
    "hours",
    "visitor",
    "responder",
)
_YES: Final = {"1", "yes", "y", "true"}
_NO: Final = {"", "0", "no", "n", "false"}


@dataclass(frozen=True, slots=True)
class Credential:
    """A badge as detectors see it."""

    badge: str
    holder: str = ""
    person_id: str | None = None
    organisation: str | None = None
    clearances: frozenset[str] = frozenset()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked: bool = False
    hours: str = ""
    visitor: bool = False
    responder: bool = False

    def cleared_for(self, places: Iterable[str]) -> bool:
        return "*" in self.clearances or not self.clearances.isdisjoint(places)

    def valid_at(self, at: datetime) -> bool:
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_until is None or at < self.valid_until


class CredentialIn(BaseModel):
    """A credential as given over the API or in a file; unknown fields refused."""

    model_config = ConfigDict(extra="forbid")

    badge: str = Field(min_length=1, max_length=100, pattern=r"^[\w.:/-]+$")
    holder: str = Field(default="", max_length=500)
    person_id: str | None = Field(default=None, max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    clearances: list[str] = Field(default_factory=list, max_length=1_000)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked: bool = False
    hours: str = Field(default="", max_length=200)
    visitor: bool = False
    responder: bool = False

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return ensure_utc(v) if v is not None else None

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        try:
            Hours.parse(v or None)
        except ValidationError as exc:
            raise ValueError(exc.message) from None
        return v.strip()

    def to_credential(self) -> Credential:
        return Credential(
            badge=self.badge,
            holder=self.holder,
            person_id=self.person_id or None,
            organisation=self.organisation or None,
            clearances=frozenset(c.strip() for c in self.clearances if c.strip()),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            revoked=self.revoked,
            hours=self.hours,
            visitor=self.visitor,
            responder=self.responder,
        )


def _to_credential(r: CredentialRecord) -> Credential:
    return Credential(
        badge=r.badge,
        holder=r.holder,
        person_id=r.person_id,
        organisation=r.organisation,
        clearances=frozenset(r.clearances or ()),
        valid_from=ensure_utc(r.valid_from) if r.valid_from else None,
        valid_until=ensure_utc(r.valid_until) if r.valid_until else None,
        revoked=r.revoked,
        hours=r.hours,
        visitor=r.visitor,
        responder=r.responder,
    )


def load_credentials(*, session: Session) -> dict[str, Credential]:
    """Every credential, by badge id."""
    return {r.badge: _to_credential(r) for r in session.execute(select(CredentialRecord)).scalars()}


def upsert_credentials(
    *, session: Session, credentials: Iterable[CredentialIn], actor: str, source: str = "api"
) -> list[Credential]:
    """Create or replace credentials (one audit entry for the batch)."""
    now = utcnow()
    out: list[Credential] = []
    for c in credentials:
        row = session.get(CredentialRecord, c.badge)
        if row is None:
            row = CredentialRecord(badge=c.badge, updated_at=now)
            session.add(row)
        row.holder, row.person_id, row.organisation = c.holder, c.person_id, c.organisation
        row.clearances = sorted({x.strip() for x in c.clearances if x.strip()})
        row.valid_from, row.valid_until = c.valid_from, c.valid_until
        if c.revoked and not row.revoked:
            row.revoked_reason = "revoked in import"
        row.revoked, row.hours = c.revoked, c.hours
        row.visitor, row.responder, row.updated_at = c.visitor, c.responder, now
        out.append(c.to_credential())
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="access.credentials.upsert",
        target=f"credentials:{source}",
        details={"count": len(out), "badges": [c.badge for c in out[:20]]},
    )
    return out


def revoke_credential(*, session: Session, badge: str, actor: str, reason: str) -> Credential:
    row = session.get(CredentialRecord, badge)
    if row is None:
        raise NotFoundError(f"no credential {badge!r}")
    if not reason.strip():
        raise ValidationError("a revocation needs a reason", location="reason")
    row.revoked, row.revoked_reason, row.updated_at = True, reason.strip(), utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="access.credential.revoke",
        target=f"badge:{badge}",
        details={"reason": reason.strip()},
    )
    return _to_credential(row)


@dataclass
class CredentialImport:
    imported: int = 0
    problems: list[str] = field(default_factory=list)


def _flag(value: str, where: str, name: str) -> bool:
    v = value.strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValueError(f"{name} must be yes or no, got {value!r}")


def parse_credentials_csv(
    text: str, *, source: str = "<csv>"
) -> tuple[list[CredentialIn], list[str]]:
    """Rows as ``CredentialIn``; bad rows become ``source:line: message`` problems."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "badge" not in header:
        raise ValidationError(
            f"the header must name badge (columns: {', '.join(_CSV_COLUMNS)})",
            location=f"{source}:1",
        )
    unknown = [h for h in header if h not in _CSV_COLUMNS]
    if unknown:
        raise ValidationError(f"unknown column(s) {unknown}", location=f"{source}:1")
    rows: list[CredentialIn] = []
    problems: list[str] = []
    for raw in reader:
        where = f"{source}:{reader.line_num}"
        if None in raw:
            problems.append(f"{where}: more cells than columns")
            continue
        cells: Mapping[str, str] = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        try:
            data: dict[str, Any] = {
                "badge": cells.get("badge", ""),
                "holder": cells.get("holder", ""),
                "person_id": cells.get("person_id") or None,
                "organisation": cells.get("organisation") or None,
                "clearances": [c for c in cells.get("clearances", "").split(";") if c.strip()],
                "valid_from": cells.get("valid_from") or None,
                "valid_until": cells.get("valid_until") or None,
                "revoked": _flag(cells.get("revoked", ""), where, "revoked"),
                "hours": cells.get("hours", ""),
                "visitor": _flag(cells.get("visitor", ""), where, "visitor"),
                "responder": _flag(cells.get("responder", ""), where, "responder"),
            }
            rows.append(CredentialIn.model_validate(data))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            problems.append(f"{where}: {_short(exc)}")
    return rows, problems


def _short(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in errors(include_input=False, include_url=False)
        )
    return str(exc)


def import_credentials_csv(
    *, session: Session, text: str, actor: str, source: str = "<csv>"
) -> CredentialImport:
    rows, problems = parse_credentials_csv(text, source=source)
    if rows:
        upsert_credentials(session=session, credentials=rows, actor=actor, source=source)
    return CredentialImport(imported=len(rows), problems=problems)
