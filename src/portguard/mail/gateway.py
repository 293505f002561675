"""``MailGateway``: the mail domain at run time (what the app wires as ``ctx.extras["mail"]``).

    MailGateway(settings, db=db, bus=bus, indicator_index=index, spool_dir=path,
                registry=metrics.registry)

``start()`` recovers the spool (messages accepted before a crash are scanned and routed), starts
the worker thread and the SMTP listener; ``stop()`` stops both. ``submit`` is the one way in
(SMTP or tests): it spools the message durably, scans it within ``scan_timeout_s`` and answers
the SMTP reply. The worker records each verdict (database, Event, Alert), quarantines or relays,
and retries the next hop with exponential back-off until it answers.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import ssl
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portguard.core.bus import Bus, publish_alert, publish_event
from portguard.core.clock import utcnow
from portguard.core.db import Database
from portguard.core.errors import ConfigError, ConflictError, NotFoundError
from portguard.mail import service
from portguard.mail.alerts import to_alert, to_event
from portguard.mail.analysers import Envelope
from portguard.mail.analysers.auth import authenticated
from portguard.mail.config import MailSettings, build_scanner
from portguard.mail.correspondents import CorrespondentBook
from portguard.mail.metrics import MailMetrics
from portguard.mail.models import MailMessage
from portguard.mail.parse import ParsedMessage, parse_message
from portguard.mail.relay import deliver, verdict_header
from portguard.mail.scanner import Scanner
from portguard.mail.schemas import Category, Reason, Verdict
from portguard.mail.smtp import SmtpFront
from portguard.mail.spool import Spool

if TYPE_CHECKING:
    from portguard.intel.index import IndicatorIndex

__all__ = ["MailGateway"]

log = logging.getLogger(__name__)


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise ConfigError(f"not host:port: {text!r}") from None


#: Rows the retention handles per transaction: held messages (a file each), verdict rows.
_EXPIRE_BATCH = 500
_PURGE_BATCH = 5000


class MailGateway:
    def __init__(
        self,
        settings: MailSettings | None = None,
        *,
        db: Database | None = None,
        bus: Bus | None = None,
        indicator_index: IndicatorIndex | None = None,
        spool_dir: Path,
        registry: Any = None,
        scanner: Scanner | None = None,
    ) -> None:
        self.settings = settings or MailSettings()
        self.db = db
        self.bus = bus
        self._scanner = scanner
        self._indicator_index = indicator_index
        self._scanner_lock = threading.Lock()
        self.correspondents: CorrespondentBook | None = None
        if db is not None and self.settings.known_sender_credit > 0:
            self.correspondents = CorrespondentBook(
                db,
                points=self.settings.known_sender_credit,
                min_messages=self.settings.known_sender_messages,
                min_age=timedelta(days=self.settings.known_sender_days),
            )
            if scanner is not None:
                scanner.ctx.correspondents = self.correspondents
        self.spool = Spool(spool_dir)
        self.metrics = MailMetrics(registry)
        self.next_hop = _hostport(self.settings.next_hop)
        self.smtp: SmtpFront | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="mail-scan")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        #: Messages ``submit`` is still scanning: the worker leaves them alone.
        self._inflight: set[str] = set()
        self._lock = threading.Lock()

    @property
    def scanner(self) -> Scanner:
        """The scanner, built on first use: the quarantine's actions (release, delete, report)
        never scan, and loading the content model takes about a second of a CLI command."""
        with self._scanner_lock:
            if self._scanner is None:
                self._scanner = build_scanner(self.settings, indicator_index=self._indicator_index)
                if self.correspondents is not None:
                    self._scanner.ctx.correspondents = self.correspondents
            return self._scanner

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, *, smtp: bool = True) -> None:
        self.scanner  # noqa: B018 - a model that does not load is an error at start, not at mail
        if self.correspondents is not None:
            self.correspondents.load()
        pending = self.spool.recover()
        if pending:
            log.info("mail spool: %d message(s) to finish from before", pending)
        self._stop.clear()
        self._worker = threading.Thread(target=self._run, name="mail-worker", daemon=True)
        self._worker.start()
        if smtp:
            host, port = _hostport(self.settings.listen)
            self.smtp = SmtpFront(
                self.submit,
                host=host,
                port=port,
                accept_domains=self.settings.accept_domains,
                rate_limit_per_minute=self.settings.rate_limit_per_minute,
                max_message_bytes=self.settings.max_message_bytes,
                tls_context=self._tls(),
                require_starttls=self.settings.require_starttls,
            )
            self.smtp.start()
            log.info("mail gateway listening on %s:%d", host, self.smtp.port)

    def stop(self) -> None:
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
            self._worker = None

    def _tls(self) -> ssl.SSLContext | None:
        s = self.settings
        if s.tls_cert is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_cert_chain(str(s.tls_cert), str(s.tls_key) if s.tls_key else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load the mail TLS certificate: {exc}") from None
        return ctx

    # -- intake -------------------------------------------------------------------------------
    def scan(self, raw: bytes, env: Envelope) -> tuple[ParsedMessage, Verdict]:
        """Scan with a hard time limit; a scan that overruns is a "malformed" verdict."""
        fut = self._pool.submit(self.scanner.scan, raw, env)
        t0 = time.perf_counter()
        try:
            msg, verdict = fut.result(timeout=self.settings.scan_timeout_s)
        except concurrent.futures.TimeoutError:
            msg = ParsedMessage(raw_size=len(raw))
            block = self.scanner.policy.block
            verdict = Verdict(
                Category.SPAM,
                block,
                [
                    Reason(
                        "malformed",
                        block,
                        f"scan did not finish in {self.settings.scan_timeout_s}s; held for review",
                        kind="spam",
                    )
                ],
            )
        self.metrics.scan_seconds.observe(time.perf_counter() - t0)
        return msg, verdict

    def submit(
        self, raw: bytes, mail_from: str, rcpt_to: list[str], client: str = "", helo: str = ""
    ) -> str:
        """Spool, scan, answer: the SMTP reply for this message."""
        meta = {
            "state": "received",
            "mail_from": mail_from,
            "rcpt_to": rcpt_to,
            "client": client,
            "helo": helo,
            "received_at": utcnow().isoformat(),
        }
        sid = self.spool.accept(raw, meta)
        with self._lock:
            self._inflight.add(sid)
        try:
            return self._decide(sid, raw, meta)
        finally:
            with self._lock:
                self._inflight.discard(sid)

    def _decide(self, sid: str, raw: bytes, meta: dict[str, Any]) -> str:
        env = Envelope(meta["client"], meta["helo"], meta["mail_from"], tuple(meta["rcpt_to"]))
        _, verdict = self.scan(raw, env)
        reject_at = self.scanner.policy.reject_phishing
        if (
            verdict.category is Category.PHISHING
            and reject_at is not None
            and verdict.score >= reject_at
        ):
            self._record_rejected(sid, raw, meta, verdict)
            self.spool.remove(sid)
            top = verdict.reasons[0].detail if verdict.reasons else "phishing"
            return f"550 5.7.1 Message refused as phishing ({top[:120]}) [{sid}]"
        self.spool.update(
            sid, {**meta, "id": sid, "state": "scanned", "verdict": verdict.to_state()}
        )
        self._wake.set()
        return f"250 2.0.0 OK queued as {sid}"

    # -- worker -------------------------------------------------------------------------------
    def _run(self) -> None:
        housekeeping = 0.0
        while not self._stop.is_set():
            try:
                busy = self.process_pending()
            except Exception:
                log.exception("mail worker failed; will retry")
                busy = False
            if time.monotonic() >= housekeeping:
                housekeeping = time.monotonic() + 3600
                try:
                    self.apply_retention()
                except Exception:
                    log.exception("mail quarantine retention failed; will retry in an hour")
            self.metrics.spool_pending.set(len(self.spool.ids()))
            if not busy:
                self._wake.wait(1.0)
                self._wake.clear()

    def process_pending(self) -> bool:
        """One pass over the spool; True when something was done."""
        did = False
        for sid in self.spool.ids():
            if self._stop.is_set():
                break
            with self._lock:
                if sid in self._inflight:
                    continue
            meta = self.spool.meta(sid)
            if meta is None:
                continue
            state = meta.get("state")
            if state == "received":
                raw = self.spool.raw(sid)
                env = Envelope(
                    meta.get("client", ""),
                    meta.get("helo", ""),
                    meta.get("mail_from", ""),
                    tuple(meta.get("rcpt_to", [])),
                )
                _, verdict = self.scan(raw, env)
                meta = {**meta, "state": "scanned", "verdict": verdict.to_state()}
                self.spool.update(sid, meta)
                state = "scanned"
            if state == "scanned":
                self._route(sid, meta)
                did = True
            elif state == "relay" and float(meta.get("next_try", 0)) <= time.time():
                self._relay(sid, meta)
                did = True
        return did

    def _route(self, sid: str, meta: dict[str, Any]) -> None:
        raw = self.spool.raw(sid)
        msg = parse_message(raw)
        verdict = Verdict.from_state(meta["verdict"])
        cat = verdict.category
        quarantine = cat in (Category.PHISHING, Category.MALWARE) or (
            cat is Category.SPAM and self.settings.spam_action == "quarantine"
        )
        status = "quarantined" if quarantine else "queued"
        self._record(sid, raw, msg, meta, verdict, status)
        if quarantine:
            self.spool.to_quarantine(sid)
            return
        relay = {**meta, "state": "relay", "attempts": 0, "next_try": 0}
        good = cat in (Category.CLEAN, Category.BULK)
        if good and authenticated(r.name for r in verdict.reasons):
            # Counted once delivered (``_relay``): the sender's history of good mail.
            relay["correspondent"] = msg.from_addr
        self.spool.update(sid, relay)

    def _received_at(self, meta: dict[str, Any]) -> Any:
        from datetime import datetime

        try:
            return datetime.fromisoformat(meta["received_at"])
        except (KeyError, ValueError):
            return utcnow()

    def _record(
        self,
        sid: str,
        raw: bytes,
        msg: ParsedMessage,
        meta: dict[str, Any],
        verdict: Verdict,
        status: str,
    ) -> None:
        at = self._received_at(meta)
        if self.db is not None:
            with self.db.session() as session:
                new = service.record_message(
                    session=session,
                    sid=sid,
                    received_at=at,
                    sender=msg.from_addr or meta.get("mail_from", ""),
                    recipients=list(meta.get("rcpt_to", [])),
                    subject=msg.subject,
                    category=verdict.category.value,
                    score=verdict.score,
                    reasons=[r.as_dict() for r in verdict.reasons],
                    status=status,
                    size=len(raw),
                    client=meta.get("client", ""),
                    sha256=hashlib.sha256(raw).hexdigest(),
                )
            if new:
                self.metrics.count(verdict.category.value, status == "rejected")
        else:
            self.metrics.count(verdict.category.value, status == "rejected")
        if self.bus is not None:
            publish_event(self.bus, to_event(sid, msg, verdict, meta, at, status))
            alert = to_alert(sid, msg, verdict, meta, at)
            if alert is not None:
                publish_alert(self.bus, alert)

    def _record_rejected(self, sid: str, raw: bytes, meta: dict[str, Any], v: Verdict) -> None:
        try:
            self._record(sid, raw, parse_message(raw), meta, v, "rejected")
        except Exception:
            log.exception("could not record rejected message %s", sid)

    def _relay(self, sid: str, meta: dict[str, Any]) -> None:
        raw = self.spool.raw(sid)
        host, port = self.next_hop
        data = verdict_header(meta.get("verdict", {})) + raw
        outcome, why = deliver(
            host, port, meta.get("mail_from", ""), list(meta.get("rcpt_to", [])), data
        )
        if outcome == "retry":
            self._retry(sid, meta, why)
        elif outcome == "refused":
            log.warning("next hop refused %s for good (%s); kept in quarantine", sid, why)
            self._set_status(sid, "undeliverable")
            self.spool.to_quarantine(sid)
        else:
            self._set_status(sid, "released" if meta.get("released") else "delivered")
            if self.correspondents is not None and meta.get("correspondent"):
                try:
                    self.correspondents.note_delivered(str(meta["correspondent"]))
                except Exception:
                    log.exception("could not count the correspondent of %s", sid)
            self.spool.remove(sid)
            self.metrics.relayed.inc()

    def _retry(self, sid: str, meta: dict[str, Any], error: str) -> None:
        n = int(meta.get("attempts", 0)) + 1
        delay = min(self.settings.retry_initial_s * 2 ** (n - 1), self.settings.retry_max_s)
        self.spool.update(
            sid, {**meta, "attempts": n, "next_try": time.time() + delay, "last_error": error[:300]}
        )
        self.metrics.relay_failures.inc()
        log.info(
            "next hop unavailable for %s (attempt %d): %s; retry in %.0fs", sid, n, error, delay
        )

    def _set_status(self, sid: str, status: str) -> None:
        if self.db is None:
            return
        with self.db.session() as session:
            row = session.get(MailMessage, sid)
            if row is not None and row.status not in ("rejected",):
                row.status = status

    # -- quarantine actions -------------------------------------------------------------------
    def quarantined_raw(self, sid: str) -> bytes:
        try:
            return self.spool.quarantined(sid)
        except OSError:
            raise NotFoundError(f"message {sid} is not in quarantine") from None

    def release(self, sid: str, *, actor: str) -> None:
        """Re-inject a quarantined message to the next hop (audited); it also becomes ham
        feedback for the next training run."""
        if self.db is None:
            raise ConfigError("the mail gateway has no database")
        raw = self.quarantined_raw(sid)
        with self.db.session() as session:
            row = service.set_status(
                session=session,
                sid=sid,
                status="released",
                actor=actor,
                expect=service.HELD,
            )
            meta = {
                "id": sid,
                "state": "relay",
                "attempts": 0,
                "next_try": 0,
                "released": True,
                "mail_from": row.sender,
                "rcpt_to": list(row.recipients),
                "client": row.client,
                "received_at": row.received_at.isoformat(),
                "verdict": {"category": row.category, "score": row.score},
            }
            if authenticated(r.get("name") for r in row.reasons or []):
                meta["correspondent"] = row.sender
        self.save_feedback(sid, "ham", raw)
        self.spool.requeue(sid, meta)
        self._wake.set()

    def delete(self, sid: str, *, actor: str) -> None:
        if self.db is None:
            raise ConfigError("the mail gateway has no database")
        with self.db.session() as session:
            service.set_status(
                session=session, sid=sid, status="deleted", actor=actor, expect=service.HELD
            )
        self.spool.drop_quarantined(sid)

    def apply_retention(self, now: datetime | None = None) -> tuple[int, int]:
        """Held messages past ``quarantine_days`` deleted, then verdict rows past
        ``message_days`` (both audited as ``system:retention``); how many of each. The worker
        runs it hourly."""
        expired = self.expire_quarantine(now)
        days = self.settings.message_days
        if self.db is None or days <= 0:
            return expired, 0
        before = (now or utcnow()) - timedelta(days=days)
        purged = 0
        while True:
            with self.db.session() as session:
                n = service.purge_messages(session=session, before=before, limit=_PURGE_BATCH)
            purged += n
            if n < _PURGE_BATCH:
                break
        if purged:
            log.info("mail: %d verdict row(s) older than %g days deleted", purged, days)
        return expired, purged

    def expire_quarantine(self, now: datetime | None = None) -> int:
        """Delete held messages older than ``quarantine_days`` (audited as
        ``system:retention``); the number deleted."""
        days = self.settings.quarantine_days
        if self.db is None or days <= 0:
            return 0
        before = (now or utcnow()) - timedelta(days=days)
        done = 0
        while True:
            with self.db.session() as session:
                sids = service.expiring(session=session, before=before, limit=_EXPIRE_BATCH)
                for sid in sids:
                    try:
                        service.set_status(
                            session=session,
                            sid=sid,
                            status="expired",
                            actor="system:retention",
                            expect=service.HELD,
                        )
                    except ConflictError:
                        continue  # released or deleted meanwhile: its file is not ours
                    # Before the commit: a crash in between leaves rows that expire again,
                    # never a row that says "expired" beside a message still on disk.
                    self.spool.drop_quarantined(sid)
                    done += 1
            if len(sids) < _EXPIRE_BATCH:
                break
        if done:
            log.info("mail quarantine: %d message(s) older than %g days deleted", done, days)
        return done

    def report(self, sid: str, label: str, *, actor: str, comment: str = "") -> None:
        if self.db is None:
            raise ConfigError("the mail gateway has no database")
        with self.db.session() as session:
            service.add_feedback(
                session=session, sid=sid, label=label, actor=actor, comment=comment
            )
            sender = service.get_message(session=session, sid=sid).sender
        if label != "ham" and self.correspondents is not None:
            self.correspondents.note_reported(sender)
        # Delivered mail is not kept: the report is still recorded, without a training copy.
        with contextlib.suppress(OSError):
            self.save_feedback(sid, label, self.spool.quarantined(sid))

    def forget_correspondent(self, address: str, *, actor: str) -> None:
        """An operator drops a sender's history (audited): no credit until it earns one again."""
        if self.db is None:
            raise ConfigError("the mail gateway has no database")
        with self.db.session() as session:
            service.forget_correspondent(session=session, address=address, actor=actor)
        if self.correspondents is not None:
            self.correspondents.forget(address)

    def save_feedback(self, sid: str, label: str, raw: bytes) -> None:
        """Keep a copy under ``feedback/<label>/`` for ``portguard mail train --feedback``."""
        d = self.spool.root / "feedback" / label
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{sid}.eml").write_bytes(raw)
