"""Known correspondents: a supplier's authenticated mail is not held on the content model's
word alone once the gateway has delivered its mail before; everything else still counts."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from portguard.api import create_api
from portguard.app.runtime import open_database
from portguard.cli.mail import app as cli
from portguard.core.audit import AuditEntry
from portguard.core.bus import EmbeddedBus
from portguard.core.clock import utcnow
from portguard.core.db import Base, Database
from portguard.core.metrics import Metrics
from portguard.core.settings import Settings
from portguard.mail import MailGateway, MailSettings
from portguard.mail.api import router
from portguard.mail.config import build_scanner
from portguard.mail.correspondents import KNOWN, CorrespondentBook
from portguard.mail.models import MailCorrespondent, MailMessage
from portguard.mail.scanner import Scanner
from portguard.mail.testing import SmtpSink, message

from .test_api_cli import mail_api
from .test_gateway import _wait

UPSTREAM = "mx.upstream.example"
SUPPLIER = "Van Damme Logistics <billing@vandamme-logistics.be>"
ADDRESS = "billing@vandamme-logistics.be"
PASSED = {
    "Authentication-Results": f"{UPSTREAM}; spf=pass smtp.mailfrom=vandamme-logistics.be; "
    "dkim=pass header.d=vandamme-logistics.be; dmarc=pass header.from=vandamme-logistics.be"
}
# Worded the way the public corpora's phishing is ("dear customer", "payment", "account"): the
# shipped model holds it, which is why an invoice from a new supplier is at risk (docs/mail.md).
INVOICE = (
    "Dear customer,\n\nPlease find your invoice 2026-1187 for the account below. Payment is due "
    "within 30 days to our usual account. If you have any questions about your account, please "
    "contact us.\n\nKind regards,\nAccounts receivable"
)


def _invoice(text: str = INVOICE, headers: dict[str, str] | None = None) -> bytes:
    return message(
        sender=SUPPLIER,
        subject="Invoice 2026-1187",
        text=text,
        headers=PASSED if headers is None else headers,
    )


def _scanner(book: CorrespondentBook) -> Scanner:
    sc = build_scanner(MailSettings(trusted_authserv_ids=[UPSTREAM]))
    sc.ctx.correspondents = book
    return sc


def _known_book() -> CorrespondentBook:
    book = CorrespondentBook()
    for days in (30, 25, 20, 15, 10):
        book.note_delivered(ADDRESS, utcnow() - timedelta(days=days))
    return book


def test_a_known_correspondents_invoice_is_delivered_a_strangers_is_held() -> None:
    _, stranger = _scanner(CorrespondentBook()).scan(_invoice())
    assert stranger.category.value == "phishing"
    assert KNOWN not in [r.name for r in stranger.reasons]

    _, known = _scanner(_known_book()).scan(_invoice())
    assert known.category.value == "clean"
    [credit] = [r for r in known.reasons if r.name == KNOWN]
    content = sum(r.score for r in known.reasons if r.name.startswith("content."))
    assert credit.score == pytest.approx(-content)  # the model's points, and only those
    assert "5 authenticated message(s)" in credit.detail
    # A link to the supplier's own site is what invoices have.
    own = _invoice(INVOICE + "\nhttps://portal.vandamme-logistics.be/invoices/2026-1187")
    assert _scanner(_known_book()).scan(own)[1].category.value == "clean"


def test_no_credit_without_history_authentication_or_with_a_lure() -> None:
    young = CorrespondentBook()
    for days in (6, 5, 4, 3, 2, 1):  # six, but the first under a week ago
        young.note_delivered(ADDRESS, utcnow() - timedelta(days=days))
    few = CorrespondentBook()
    for days in (40, 30, 20, 10):  # one short of the five
        few.note_delivered(ADDRESS, utcnow() - timedelta(days=days))
    reported = _known_book()
    reported.note_reported(ADDRESS)
    for book in (young, few, reported):
        assert _scanner(book).scan(_invoice())[1].category.value == "phishing"

    held = {
        # Anyone can write the From header: no authentication, no credit.
        "unauthenticated": _invoice(headers={}),
        "forged results": _invoice(
            headers={
                "Authentication-Results": PASSED["Authentication-Results"].replace(
                    UPSTREAM, "mx.evil.example"
                )
            }
        ),
        # A hijacked supplier account has to send people somewhere else.
        "link elsewhere": _invoice(INVOICE + "\nView it at https://vandamme-invoices.web.app/x"),
        # The bank-detail change from a hijacked account is the mail not to wave through.
        "bank change": _invoice(
            "Dear customer,\n\nPlease note our bank details have changed. From today, make all "
            "payments to our new account IBAN BE71 0961 2345 6769. Please update your records."
        ),
    }
    for why, raw in held.items():
        _, verdict = _scanner(_known_book()).scan(raw)
        assert verdict.category.value in ("phishing", "spam"), why
        assert KNOWN not in [r.name for r in verdict.reasons], why


def _lenient(db: Database) -> CorrespondentBook:
    return CorrespondentBook(db, min_messages=3, min_age=timedelta(days=1))


def test_history_survives_a_restart_and_a_report_ends_it(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pg.db'}")
    Base.metadata.create_all(db.engine)
    try:
        book = _lenient(db)
        for days in (3, 2, 1.5):
            book.note_delivered(ADDRESS.upper(), utcnow() - timedelta(days=days))
        again = _lenient(db)
        assert again.load() == 1
        c = again.known(ADDRESS)
        assert c is not None and c.delivered == 3
        assert utcnow() - c.first_seen > timedelta(days=2.9)
        again.note_reported(ADDRESS)
        third = _lenient(db)
        third.load()
        assert third.known(ADDRESS) is None
        with db.session() as s:
            row = s.get(MailCorrespondent, ADDRESS)
            assert row is not None and (row.delivered, row.reported) == (3, 1)
    finally:
        db.dispose()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[MailGateway, Database, SmtpSink]]:
    db = Database(f"sqlite:///{tmp_path / 'pg.db'}")
    Base.metadata.create_all(db.engine)
    with SmtpSink() as sink:
        settings = MailSettings(
            listen="127.0.0.1:0",
            next_hop=f"127.0.0.1:{sink.port}",
            trusted_authserv_ids=[UPSTREAM],
            known_sender_days=0,
            known_sender_messages=3,
            reject_phishing_score=None,
        )
        gw = MailGateway(settings, db=db, spool_dir=tmp_path / "spool")
        gw.start()
        try:
            yield gw, db, sink
        finally:
            gw.stop()
            db.dispose()


def _delivered(db: Database, address: str) -> int:
    with db.session() as s:
        row = s.get(MailCorrespondent, address)
        return row.delivered if row is not None else 0


def test_the_gateway_learns_its_correspondents_from_what_it_delivers(
    gateway: tuple[MailGateway, Database, SmtpSink],
) -> None:
    gw, db, sink = gateway
    assert gw.smtp is not None
    to = ["finance@portofantwerpbruges.com"]
    planning = message(sender=SUPPLIER, headers=PASSED)
    with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
        # Unauthenticated mail is delivered but does not count.
        c.sendmail(ADDRESS, to, message(sender=SUPPLIER))
        for _ in range(3):
            c.sendmail(ADDRESS, to, planning)
    assert sink.wait(4)
    assert _wait(lambda: _delivered(db, ADDRESS) == 3)

    with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
        c.sendmail(ADDRESS, to, _invoice())
    assert sink.wait(5)
    assert sink.received[-1][2].startswith(b"X-PortGuard-Verdict: clean")
    with db.session() as s:
        row = s.query(MailMessage).filter(MailMessage.subject == "Invoice 2026-1187").one()
        assert KNOWN in [r["name"] for r in row.reasons]
        sid = row.id

    # Someone reports it as phishing: that sender's next invoice is held again.
    gw.report(sid, "phishing", actor="user:ana")
    with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
        c.sendmail(ADDRESS, to, _invoice())
    assert _wait(lambda: len(list((gw.spool.root / "quarantine").glob("*.eml"))) == 1)
    assert len(sink.received) == 5


def test_operators_see_and_forget_correspondents_through_the_api(
    gateway: tuple[MailGateway, Database, SmtpSink], tmp_path: Path
) -> None:
    gw, db, _sink = gateway
    assert gw.correspondents is not None
    for days in (30, 20, 10):
        gw.correspondents.note_delivered(ADDRESS, utcnow() - timedelta(days=days))
    gw.correspondents.note_delivered("jan@katoennatie.com")
    bus = EmbeddedBus(tmp_path / "bus.db")
    ctx, analyst, auditor = mail_api(tmp_path, db, bus, Metrics(), gw)
    url = "/api/v1/mail/correspondents"
    with TestClient(create_api(ctx, [router])) as c:
        assert c.get(url).status_code == 401
        listed = c.get(url, headers=auditor).json()
        assert [r["address"] for r in listed] == ["jan@katoennatie.com", ADDRESS]
        assert listed[1]["delivered"] == 3 and listed[1]["reported"] == 0
        assert [
            r["address"] for r in c.get(url, headers=auditor, params={"q": "vandamme"}).json()
        ] == [ADDRESS]
        # Reading is not enough to change it.
        assert c.delete(f"{url}/{ADDRESS}", headers=auditor).status_code == 403
        assert c.delete(f"{url}/{ADDRESS}", headers=analyst).status_code == 204
        assert c.delete(f"{url}/{ADDRESS}", headers=analyst).status_code == 404
        assert [r["address"] for r in c.get(url, headers=auditor).json()] == ["jan@katoennatie.com"]
    bus.close()
    assert gw.correspondents.get(ADDRESS) is None
    with db.session() as s:
        [entry] = s.query(AuditEntry).filter(AuditEntry.action == "mail.forget_correspondent").all()
        assert entry.actor == "user:ana" and entry.target == f"mail-sender:{ADDRESS}"


def test_a_report_or_forget_from_another_process_ends_the_credit(tmp_path: Path) -> None:
    # The running gateway holds the history in memory; the CLI (or a second gateway) changes
    # only the database row. The credit must follow the row.
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings)
    running = CorrespondentBook(db)
    for days in (30, 25, 20, 15, 10):
        running.note_delivered(ADDRESS, utcnow() - timedelta(days=days))
    held = _scanner(running)
    assert KNOWN in [r.name for r in held.scan(_invoice())[1].reasons]

    other = CorrespondentBook(db)
    other.load()
    other.note_reported(ADDRESS)
    assert running.known(ADDRESS) is None
    assert KNOWN not in [r.name for r in held.scan(_invoice())[1].reasons]

    args = ["--data-dir", str(tmp_path)]
    running.note_delivered("jan@katoennatie.com", utcnow() - timedelta(days=30))
    for _ in range(4):
        running.note_delivered("jan@katoennatie.com")
    assert running.known("jan@katoennatie.com") is not None
    r = CliRunner().invoke(cli, ["correspondents", *args])
    assert r.exit_code == 0, r.output
    assert ADDRESS in r.output and "jan@katoennatie.com" in r.output
    r = CliRunner().invoke(cli, ["correspondents", "--q", "katoen", *args])
    assert "jan@katoennatie.com" in r.output and ADDRESS not in r.output

    r = CliRunner().invoke(cli, ["forget", "Jan@Katoennatie.com", "--actor", "ana", *args])
    assert r.exit_code == 0, r.output
    assert running.known("jan@katoennatie.com") is None
    assert running.get("jan@katoennatie.com") is None
    with db.session() as s:
        [entry] = s.query(AuditEntry).filter(AuditEntry.action == "mail.forget_correspondent").all()
        assert entry.actor == "cli:ana" and entry.target == "mail-sender:jan@katoennatie.com"
    r = CliRunner().invoke(cli, ["forget", "jan@katoennatie.com", *args])
    assert r.exit_code != 0 and "no correspondent" in r.output
    assert "Traceback" not in r.output
    db.dispose()
