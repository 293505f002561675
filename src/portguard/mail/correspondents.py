"""Known correspondents: senders whose authenticated mail this gateway has delivered before.

A supplier's invoice is the mail a content model most often holds wrongly (docs/mail.md): its
words ("dear customer", "payment", "account") are phishing's words. What the people it is
addressed to know, and the model does not, is that this supplier has written before. So the
gateway keeps, per From address, how many of its messages it delivered with the From domain
authenticated (DMARC passes, or a DKIM signature or SPF aligned with it; ``auth.pass``) and
when it first did. A message from such a correspondent, itself authenticated, gets a credit
against the content model's points, and only against those:

- rule findings keep their points: a hijacked supplier account that sends a credential page
  still meets the link and attachment checks;
- there is no credit at all when a business-e-mail-compromise, impersonation, indicator,
  attachment or lure-link finding is present: the bank-detail change from a hijacked supplier
  account is exactly the mail not to wave through;
- a sender becomes a correspondent after ``min_messages`` deliveries, the first at least
  ``min_age`` ago (a fresh address cannot be warmed up in minutes), and a user's report of one
  of its messages as phishing or spam ends the credit for good.

Unauthenticated mail never counts and never earns the credit: anyone can write a From header.
The history lives in the database (``mail_correspondents``); ``CorrespondentBook`` keeps it in
memory for the scanner's threads and writes through.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portguard.core.clock import ensure_utc, utcnow
from portguard.core.db import Database
from portguard.mail.analysers.auth import authenticated
from portguard.mail.analysers.base import registered_domain
from portguard.mail.links_util import link_hosts
from portguard.mail.models import MailCorrespondent
from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Reason

__all__ = ["KNOWN", "Correspondent", "CorrespondentBook", "credit"]

log = logging.getLogger(__name__)

#: The credit's reason name.
KNOWN = "sender.known_correspondent"
#: Findings that cancel the credit (prefixes), and the lure-link findings that do too.
_NO_CREDIT_PREFIXES = ("bec.", "impersonation.", "intel.", "attachments.", "auth.")
_NO_CREDIT_LINKS = frozenset(
    {
        "links.lookalike_host",
        "links.html_form",
        "links.hosted_page",
        "links.qr_code",
        "links.userinfo",
        "links.ip_url",
        "links.shortener",
        "links.chat_contact",
    }
)


@dataclass
class Correspondent:
    address: str
    first_seen: datetime
    last_seen: datetime
    delivered: int = 0
    reported: int = 0


def _from_row(row: MailCorrespondent) -> Correspondent:
    return Correspondent(
        row.address,
        ensure_utc(row.first_seen),
        ensure_utc(row.last_seen),
        row.delivered,
        row.reported,
    )


class CorrespondentBook:
    """The correspondents in memory (read by the scanner's threads), written through to
    ``db`` when there is one."""

    def __init__(
        self,
        db: Database | None = None,
        *,
        points: float = 12.0,
        min_messages: int = 5,
        min_age: timedelta = timedelta(days=7),
    ) -> None:
        self.db = db
        self.points = points
        self.min_messages = min_messages
        self.min_age = min_age
        self._known: dict[str, Correspondent] = {}
        self._lock = threading.Lock()

    def load(self) -> int:
        """Read the history from the database; the number of senders."""
        if self.db is None:
            return 0
        with self.db.session() as session:
            rows = list(session.execute(select(MailCorrespondent)).scalars())
            loaded = {r.address: _from_row(r) for r in rows}
        with self._lock:
            self._known = loaded
        return len(loaded)

    def get(self, address: str) -> Correspondent | None:
        with self._lock:
            return self._known.get(address.lower())

    def known(self, address: str, now: datetime | None = None) -> Correspondent | None:
        """The correspondent when ``address`` has earned the credit, else None.

        Memory answers for everyone who has not earned it (nearly every sender); a sender who
        has is confirmed against the database first, because a report or a "forget" from
        another process (the CLI, a second gateway) changes only the row."""
        now = now or utcnow()
        c = self.get(address)
        if c is None or not self._earned(c, now):
            return None
        if self.db is None:
            return c
        c = self._reload(address.lower())
        return c if c is not None and self._earned(c, now) else None

    def _earned(self, c: Correspondent, now: datetime) -> bool:
        return (
            not c.reported
            and c.delivered >= self.min_messages
            and (now - c.first_seen >= self.min_age)
        )

    def _reload(self, address: str) -> Correspondent | None:
        assert self.db is not None
        try:
            with self.db.session() as session:
                row = session.get(MailCorrespondent, address)
                fresh = None if row is None else _from_row(row)
        except SQLAlchemyError:
            # No credit without the history to back it: the model's points stand.
            log.warning("could not read the history of %s; no credit", address, exc_info=True)
            return None
        with self._lock:
            if fresh is None:
                self._known.pop(address, None)
            else:
                self._known[address] = fresh
        return fresh

    def forget(self, address: str) -> None:
        """Drop ``address`` from memory (the caller deletes its row)."""
        with self._lock:
            self._known.pop(address.lower(), None)

    def note_delivered(self, address: str, at: datetime | None = None) -> None:
        """One more authenticated message from ``address`` delivered."""
        self._note(address.lower(), ensure_utc(at or utcnow()), delivered=1)

    def note_reported(self, address: str) -> None:
        """A user reported a message from ``address`` as phishing or spam: no more credit."""
        self._note(address.lower(), utcnow(), reported=1)

    def _note(self, address: str, at: datetime, *, delivered: int = 0, reported: int = 0) -> None:
        if not address or "@" not in address:
            return
        address = address[:320]
        with self._lock:
            c = self._known.get(address)
            if c is None:
                c = self._known[address] = Correspondent(address, at, at)
            c.delivered += delivered
            c.reported += reported
            c.last_seen = max(c.last_seen, at)
            c.first_seen = min(c.first_seen, at)
        if self.db is None:
            return
        with self.db.session() as session:
            row = session.get(MailCorrespondent, address)
            if row is None:
                row = MailCorrespondent(
                    address=address, first_seen=at, last_seen=at, delivered=0, reported=0
                )
                session.add(row)
            # Counted in the row, not copied from memory: two gateways on one database add up.
            row.delivered += delivered
            row.reported += reported
            row.last_seen = max(ensure_utc(row.last_seen), at)
            row.first_seen = min(ensure_utc(row.first_seen), at)


def credit(
    msg: ParsedMessage,
    reasons: list[Reason],
    book: CorrespondentBook,
    now: datetime | None = None,
) -> Reason | None:
    """The known-correspondent credit for ``msg`` with these ``reasons``, or None."""
    if book.points <= 0 or not msg.from_addr:
        return None
    if not authenticated(r.name for r in reasons):
        return None
    for r in reasons:
        if r.score > 0 and (r.name.startswith(_NO_CREDIT_PREFIXES) or r.name in _NO_CREDIT_LINKS):
            return None
        if r.kind == "malware" and r.score > 0:
            return None
    words = [r for r in reasons if r.name.startswith("content.") and r.score > 0]
    if not words:
        return None
    c = book.known(msg.from_addr, now)  # a dict lookup: most senders end here
    if c is None:
        return None
    own = registered_domain(msg.from_domain)
    if any(registered_domain(h) != own for h in link_hosts(msg)):
        # A hijacked supplier account has to send people somewhere: mail that links elsewhere
        # keeps the model's points.
        return None
    top = max(words, key=lambda r: r.score)
    points = min(book.points, sum(r.score for r in words))
    since = c.first_seen.strftime("%Y-%m-%d")
    return Reason(
        KNOWN,
        -points,
        f"{msg.from_addr} is a known correspondent: {c.delivered} authenticated message(s) "
        f"delivered since {since}, none reported; its links stay on {own}",
        kind=top.kind,
    )
