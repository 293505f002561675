"""The gateway with a real SMTP client (smtplib) and a real next hop on loopback."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from portguard.core.audit import AuditEntry
from portguard.core.bus import ALERTS, EVENTS, EmbeddedBus, decode_alert, decode_event
from portguard.core.clock import utcnow
from portguard.core.db import Base, Database
from portguard.core.errors import ConfigError
from portguard.incidents.consumer import make_alert_handler
from portguard.incidents.correlation import CorrelationRules
from portguard.incidents.models import Incident
from portguard.mail import MailGateway, MailSettings, service
from portguard.mail.models import MailDailyStat, MailFeedback, MailMessage
from portguard.mail.testing import SmtpSink, message

PHISH = message(
    sender="Port of Antwerp-Bruges IT <helpdesk@portofantwerpbruges-secure.com>",
    subject="Your mailbox will expire",
    text="Verify your account now at http://198.51.100.7/owa or your mailbox will expire.",
    html='<a href="http://198.51.100.7/owa">https://portofantwerpbruges.com/owa</a>'
    '<form><input type="password"></form>',
)


def _wait(cond: object, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


Parts = tuple[Database, EmbeddedBus, SmtpSink]


def _parts(url: str, tmp_path: Path) -> Iterator[Parts]:
    """A database with the tables, an embedded bus and a next hop that accepts everything."""
    db = Database(url)
    Base.metadata.create_all(db.engine)
    bus = EmbeddedBus(tmp_path / "bus.db")
    with SmtpSink() as sink:
        yield db, bus, sink
    bus.close()
    db.dispose()


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Parts]:
    yield from _parts(f"sqlite:///{tmp_path / 'pg.db'}", tmp_path)


@pytest.fixture
def parts_any_db(tmp_path: Path, db_url: str) -> Iterator[Parts]:
    """As ``parts``, on each database engine (PostgreSQL when scripts/test.sh started one)."""
    yield from _parts(db_url, tmp_path)


def _gw(
    tmp_path: Path, db: Database, bus: EmbeddedBus, sink_port: int, **kw: object
) -> MailGateway:
    settings = MailSettings(
        listen="127.0.0.1:0",
        next_hop=f"127.0.0.1:{sink_port}",
        retry_initial_s=0.2,
        retry_max_s=0.5,
        **kw,
    )  # type: ignore[arg-type]
    return MailGateway(settings, db=db, bus=bus, spool_dir=tmp_path / "spool")


def test_clean_relayed_phishing_quarantined(tmp_path: Path, parts: tuple) -> None:  # type: ignore[type-arg]
    db, bus, sink = parts
    gw = _gw(tmp_path, db, bus, sink.port, reject_phishing_score=None)
    gw.start()
    try:
        assert gw.smtp is not None
        with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
            c.sendmail("jan@katoennatie.com", ["ops@portofantwerpbruges.com"], message())
            c.sendmail("x@evil.example", ["ops@portofantwerpbruges.com"], PHISH)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                c.sendmail("x@evil.example", ["someone@gmail.com"], message())
        assert sink.wait(1)
        _frm, rcpts, raw = sink.received[0]
        assert rcpts == ["ops@portofantwerpbruges.com"]
        assert raw.startswith(b"X-PortGuard-Verdict: clean")
        assert _wait(lambda: len(list((tmp_path / "spool" / "quarantine").glob("*.eml"))) == 1)
        with db.session() as s:
            rows = {r.status: r for r in s.query(MailMessage)}
        assert set(rows) >= {"quarantined", "delivered"}
        assert rows["quarantined"].category == "phishing"
        assert _wait(lambda: len(bus.replay(ALERTS)) == 1)
        alert = decode_alert(bus.replay(ALERTS)[0].payload)
        keys = {e.key for e in alert.entities}
        assert "email:helpdesk@portofantwerpbruges-secure.com" in keys
        assert "email:ops@portofantwerpbruges.com" in keys
        assert "ip:198.51.100.7" not in keys and "url:http://198.51.100.7/owa" in keys
        assert alert.fingerprint and alert.rule_id == "mail.phishing"
        # The incident engine turns the alert into an incident.
        handle = make_alert_handler(
            db=db, rules=CorrelationRules.load(None), dedup_window=timedelta(hours=1)
        )
        handle(bus.replay(ALERTS)[0])
        with db.session() as s:
            [incident] = s.query(Incident).all()
            assert incident.category == "phishing"
        events = [decode_event(r.payload) for r in bus.replay(EVENTS)]
        assert {e.attributes["category"] for e in events} == {"clean", "phishing"}
        # Release re-injects it to the next hop, audited.
        sid = rows["quarantined"].id
        gw.release(sid, actor="user:ana")
        assert sink.wait(2)
        with db.session() as s:
            assert s.get(MailMessage, sid).status == "released"  # type: ignore[union-attr]
    finally:
        gw.stop()


def test_the_quarantine_works_without_the_content_model(tmp_path: Path, parts: tuple) -> None:  # type: ignore[type-arg]
    """Releasing, reporting and deleting held mail never scans: they work when the model file
    is broken (and do not pay its loading), while serving mail with it is a clear error."""
    db, bus, sink = parts
    gw = _gw(tmp_path, db, bus, sink.port, reject_phishing_score=None)
    gw.start(smtp=False)
    try:
        assert gw.submit(PHISH, "x@evil.example", ["ops@portofantwerpbruges.com"]).startswith("250")
        assert _wait(lambda: len(list((tmp_path / "spool" / "quarantine").glob("*.eml"))) == 1)
    finally:
        gw.stop()
    with db.session() as s:
        [sid] = [r.id for r in s.query(MailMessage) if r.status == "quarantined"]
    broken = tmp_path / "broken-model.json"
    broken.write_text("{}")
    offline = _gw(tmp_path, db, bus, sink.port, model=broken)
    offline.report(sid, "phishing", actor="user:ana")
    offline.delete(sid, actor="user:ana")
    with db.session() as s:
        assert s.get(MailMessage, sid).status == "deleted"  # type: ignore[union-attr]
    assert not list((tmp_path / "spool" / "quarantine").glob("*.eml"))
    with pytest.raises(ConfigError, match="mail model"):
        offline.start(smtp=False)


def test_reject_at_smtp_time_rate_and_size_limits(tmp_path: Path, parts: tuple) -> None:  # type: ignore[type-arg]
    db, bus, sink = parts
    gw = _gw(
        tmp_path,
        db,
        bus,
        sink.port,
        reject_phishing_score=10.0,
        rate_limit_per_minute=3,
        max_message_bytes=200_000,
    )
    gw.start()
    try:
        assert gw.smtp is not None
        with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
            with pytest.raises(smtplib.SMTPDataError) as exc:
                c.sendmail("x@evil.example", ["ops@portofantwerpbruges.com"], PHISH)
            assert exc.value.smtp_code == 550
            with pytest.raises(smtplib.SMTPSenderRefused) as big:  # SIZE= declared at MAIL
                c.sendmail(
                    "a@b.example", ["ops@portofantwerpbruges.com"], message(text="x" * 300_000)
                )
            assert big.value.smtp_code == 552
            with pytest.raises(smtplib.SMTPSenderRefused) as exc2:
                for _ in range(3):  # the 4th message within a minute is one too many
                    c.sendmail("a@b.example", ["ops@portofantwerpbruges.com"], message())
            assert exc2.value.smtp_code == 421
        assert not list((tmp_path / "spool" / "msgs").glob("*.eml")) or sink.wait(1)
        with db.session() as s:
            assert s.query(MailMessage).filter_by(status="rejected").count() == 1
    finally:
        gw.stop()


def test_next_hop_down_then_up(tmp_path: Path, parts: tuple) -> None:  # type: ignore[type-arg]
    db, bus, sink = parts
    sink.refuse = "451 4.3.0 try later"
    gw = _gw(tmp_path, db, bus, sink.port)
    gw.start()
    try:
        assert gw.smtp is not None
        with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
            c.sendmail("jan@katoennatie.com", ["ops@portofantwerpbruges.com"], message())
        assert _wait(
            lambda: any(
                int((gw.spool.meta(i) or {}).get("attempts", 0)) >= 2 for i in gw.spool.ids()
            )
        )
        sink.refuse = None
        assert sink.wait(1, timeout=10)
        assert _wait(lambda: not gw.spool.ids())
    finally:
        gw.stop()


def test_starttls(tmp_path: Path, parts: tuple) -> None:  # type: ignore[type-arg]
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    db, bus, sink = parts
    gw = _gw(
        tmp_path,
        db,
        bus,
        sink.port,
        tls_cert=tmp_path / "c.pem",
        tls_key=tmp_path / "k.pem",
        require_starttls=True,
    )
    gw.start()
    try:
        assert gw.smtp is not None
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c, pytest.raises(smtplib.SMTPSenderRefused):
            c.sendmail("a@b.example", ["ops@portofantwerpbruges.com"], message())
        with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
            c.starttls(context=ctx)
            c.sendmail("a@b.example", ["ops@portofantwerpbruges.com"], message())
        assert sink.wait(1)
    finally:
        gw.stop()


def _send(gw: MailGateway, sink: SmtpSink, *, phishing: int = 0, clean: int = 0) -> None:
    """Send through the gateway; return once every message is relayed or held."""
    assert gw.smtp is not None
    with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
        for _ in range(phishing):
            c.sendmail("x@evil.example", ["ops@portofantwerpbruges.com"], PHISH)
        for _ in range(clean):
            c.sendmail("jan@katoennatie.com", ["ops@portofantwerpbruges.com"], message())
    assert sink.wait(clean)
    assert _wait(lambda: len(list(gw.spool.quarantine_dir.glob("*.eml"))) == phishing)


def test_quarantine_retention_deletes_old_held_mail_and_audits_it(
    tmp_path: Path,
    parts_any_db: tuple,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, bus, sink = parts_any_db
    gw = _gw(tmp_path, db, bus, sink.port, reject_phishing_score=None, quarantine_days=30)
    gw.start()
    try:
        _send(gw, sink, phishing=2)
        held = gw.spool.quarantine_dir
        with db.session() as s:
            old, new = s.query(MailMessage).order_by(MailMessage.id).all()
            old.received_at = utcnow() - timedelta(days=31)
            old_id, new_id = old.id, new.id
        assert gw.expire_quarantine() == 1
        assert [p.stem for p in held.glob("*.eml")] == [new_id]
        with db.session() as s:
            assert s.get(MailMessage, old_id).status == "expired"  # type: ignore[union-attr]
            assert s.get(MailMessage, new_id).status == "quarantined"  # type: ignore[union-attr]
            [entry] = s.query(AuditEntry).filter(AuditEntry.action == "mail.expired").all()
            assert entry.actor == "system:retention" and entry.target == f"mail:{old_id}"
        assert gw.expire_quarantine() == 0  # done once
        # Released between the retention's query and its update: left alone, and delivered.
        monkeypatch.setattr(service, "expiring", lambda **_: [new_id])
        gw.release(new_id, actor="user:ana")
        assert gw.expire_quarantine() == 0
        assert sink.wait(1)
        monkeypatch.undo()
        assert gw.expire_quarantine(utcnow() + timedelta(days=365)) == 0  # nothing held now
        with db.session() as s:
            assert s.get(MailMessage, new_id).status in ("released", "queued")  # type: ignore[union-attr]
    finally:
        gw.stop()


def test_numeric_mail_settings_are_checked() -> None:
    # A string used to reach a '<' comparison and raise TypeError (a traceback, not a message).
    for name in (
        "quarantine_days",
        "message_days",
        "known_sender_days",
        "known_sender_credit",
        "known_sender_messages",
    ):
        for bad in (-1, "thirty", True):
            with pytest.raises(ConfigError, match=name):
                MailSettings.from_dict({name: bad})


def test_verdict_rows_are_deleted_after_message_days_counters_stay(
    tmp_path: Path,
    parts_any_db: tuple,  # type: ignore[type-arg]
) -> None:
    db, bus, sink = parts_any_db
    gw = _gw(tmp_path, db, bus, sink.port, reject_phishing_score=None, message_days=365)
    gw.start()
    try:
        _send(gw, sink, phishing=1, clean=2)
        with db.session() as s:
            rows = s.query(MailMessage).order_by(MailMessage.status).all()
            assert [r.status for r in rows] == ["delivered", "delivered", "quarantined"]
            delivered = rows[0].id
        gw.report(delivered, "spam", actor="user:ana")
        with db.session() as s:
            scanned = sum(d.scanned for d in s.query(MailDailyStat))
        assert gw.apply_retention() == (0, 0)
        # A year and a day on: the delivered rows and the report go; the held one expires first
        # (after 30 days), and only then may its row go too.
        later = utcnow() + timedelta(days=366)
        gw.settings.quarantine_days = 0
        assert gw.apply_retention(later) == (0, 2)
        with db.session() as s:
            assert [r.status for r in s.query(MailMessage)] == ["quarantined"]
            assert s.query(MailFeedback).count() == 0
            assert sum(d.scanned for d in s.query(MailDailyStat)) == scanned == 3
            [entry] = s.query(AuditEntry).filter(AuditEntry.action == "mail.purged").all()
            assert entry.actor == "system:retention" and entry.details["messages"] == 2
        gw.settings.quarantine_days = 30
        assert gw.apply_retention(later) == (1, 1)
        with db.session() as s:
            assert s.query(MailMessage).count() == 0
            assert service.search_messages(session=s, status=None) == []
    finally:
        gw.stop()
