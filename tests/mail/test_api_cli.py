"""Routes (real app, auth, database) and the command line, on a gateway fed through SMTP."""

from __future__ import annotations

import json
import smtplib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from portguard.api import create_api
from portguard.app.runtime import open_database
from portguard.cli.mail import app as cli
from portguard.core import auth
from portguard.core.audit import AuditEntry
from portguard.core.bus import EmbeddedBus
from portguard.core.clock import SystemClock
from portguard.core.db import Base, Database
from portguard.core.http import AppContext
from portguard.core.metrics import Metrics
from portguard.core.settings import Settings
from portguard.mail import MailGateway, MailSettings, service
from portguard.mail.api import router
from portguard.mail.testing import SmtpSink, message

from .test_gateway import PHISH


def mail_api(
    tmp_path: Path, db: Database, bus: EmbeddedBus, metrics: Metrics, gw: MailGateway | None
) -> tuple[AppContext, dict[str, str], dict[str, str]]:
    """The app's context around ``gw``, and the request headers of an analyst ("ana", may act
    on mail) and of an auditor ("aud", may only read)."""
    ctx = AppContext(
        settings=Settings.load(data_dir=tmp_path),
        db=db,
        bus=bus,
        clock=SystemClock(),
        metrics=metrics,
        extras={"mail": gw},
    )
    headers = []
    with db.session() as s:
        for name, role in (("ana", "analyst"), ("aud", "auditor")):
            user = auth.create_user(
                session=s, username=name, password="a long enough pw", role=role
            )
            token = auth.create_token(session=s, user=user, name="t")[1]
            headers.append({"Authorization": f"Bearer {token}"})
    return ctx, headers[0], headers[1]


def test_api_quarantine_release_report_stats(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pg.db'}")
    Base.metadata.create_all(db.engine)
    bus = EmbeddedBus(tmp_path / "bus.db")
    metrics = Metrics()
    with SmtpSink() as sink:
        gw = MailGateway(
            MailSettings(
                listen="127.0.0.1:0", next_hop=f"127.0.0.1:{sink.port}", reject_phishing_score=None
            ),
            db=db,
            bus=bus,
            spool_dir=tmp_path / "spool",
            registry=metrics.registry,
        )
        gw.start()
        try:
            assert gw.smtp is not None
            with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
                c.sendmail("x@evil.example", ["ops@portofantwerpbruges.com"], PHISH)
                c.sendmail("jan@katoennatie.com", ["ops@portofantwerpbruges.com"], message())
            assert sink.wait(1)
            end = time.monotonic() + 10
            while time.monotonic() < end and not list((tmp_path / "spool/quarantine").iterdir()):
                time.sleep(0.05)
            ctx, h, ha = mail_api(tmp_path, db, bus, metrics, gw)
            with TestClient(create_api(ctx, [router])) as c:
                assert c.get("/api/v1/mail/messages").status_code == 401
                r = c.get("/api/v1/mail/messages", headers=h, params={"q": "mailbox"})
                assert r.status_code == 200
                [item] = r.json()
                assert item["category"] == "phishing" and item["status"] == "quarantined"
                assert item["reasons"]
                sid = item["id"]
                r = c.get("/api/v1/mail/messages", headers=h, params={"status": "any"})
                assert len(r.json()) == 2
                raw = c.get(f"/api/v1/mail/messages/{sid}/raw", headers=h).content
                assert b"Subject: Your mailbox will expire" in raw
                assert c.get(f"/api/v1/mail/messages/{sid}/raw", headers=ha).status_code == 403
                r = c.post(
                    f"/api/v1/mail/messages/{sid}/report",
                    headers=h,
                    json={"label": "ham", "comment": "newsletter"},
                )
                assert r.status_code == 201
                assert c.post(f"/api/v1/mail/messages/{sid}/release", headers=ha).status_code == 403
                r = c.post(f"/api/v1/mail/messages/{sid}/release", headers=h)
                assert r.status_code == 200 and r.json()["status"] == "released"
                assert c.post(f"/api/v1/mail/messages/{sid}/release", headers=h).status_code in (
                    404,
                    409,
                )
                assert sink.wait(2)
                [day] = c.get("/api/v1/mail/stats", headers=h).json()
                assert day["scanned"] == 2 and day["phishing"] == 1 and day["clean"] == 1
                [month] = c.get("/api/v1/mail/stats", headers=h, params={"period": "month"}).json()
                assert month["scanned"] == 2 and len(month["period"]) == 7
            with db.session() as s:
                actions = [e.action for e in s.query(AuditEntry)]
            assert "mail.released" in actions and "mail.report" in actions
            assert actions.count("mail.raw_read") == 1  # the auditor's attempt was refused
            assert (tmp_path / "spool/feedback/ham" / f"{sid}.eml").exists()
            text = metrics.registry.get_sample_value(
                "portguard_mail_messages_total", {"category": "phishing"}
            )
            assert text == 1.0
        finally:
            gw.stop()
    bus.close()
    db.dispose()


def test_cli_scan_json_offline(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(message())
    (tmp_path / "b.eml").write_bytes(PHISH)
    box = b"".join(b"From x@y Thu Jan  1 00:00:00 2026\n" + m + b"\n" for m in (message(), PHISH))
    (tmp_path / "box.mbox").write_bytes(box)
    r = CliRunner().invoke(cli, ["scan", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(docs) == 4
    by = {d["path"]: d for d in docs}
    assert by[str(tmp_path / "a.eml")]["category"] == "clean"
    assert by[str(tmp_path / "b.eml")]["category"] == "phishing"
    assert by[f"{tmp_path / 'box.mbox'}#2"]["category"] == "phishing"
    for d in docs:
        assert set(d) >= {"path", "category", "score", "reasons"}
        assert all(set(x) == {"name", "score", "detail"} for x in d["reasons"])
    r = CliRunner().invoke(cli, ["scan", str(tmp_path / "b.eml")])
    assert r.exit_code == 0 and "phishing" in r.stdout
    # Several paths, as a shell glob gives them: each scanned once, in the order given.
    r = CliRunner().invoke(
        cli, ["scan", str(tmp_path / "b.eml"), str(tmp_path / "a.eml"), "--json"]
    )
    assert r.exit_code == 0, r.output
    got = [(d["path"], d["category"]) for d in map(json.loads, r.stdout.splitlines())]
    assert got == [(str(tmp_path / "b.eml"), "phishing"), (str(tmp_path / "a.eml"), "clean")]
    r = CliRunner().invoke(cli, ["scan", str(tmp_path / "missing.eml")])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_cli_train_and_eval(tmp_path: Path) -> None:
    for label, n in (("ham", 12), ("phishing", 12)):
        d = tmp_path / label
        d.mkdir()
        for i in range(n):
            body = (
                "Attached the berth planning for the vessel, regards"
                if label == "ham"
                else "Verify your mailbox password now or your account will be suspended"
            )
            (d / f"{i}.eml").write_bytes(message(subject=f"{label} {i}", text=f"{body} {i}"))
    model = tmp_path / "m.json"
    r = CliRunner().invoke(
        cli,
        ["train", f"ham={tmp_path / 'ham'}", f"phishing={tmp_path / 'phishing'}", "-o", str(model)],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        cli, ["scan", str(tmp_path / "phishing" / "0.eml"), "--json", "--model", str(model)]
    )
    assert json.loads(r.stdout)["reasons"][0]["name"] == "content.phishing"
    r = CliRunner().invoke(
        cli,
        ["eval", f"ham={tmp_path / 'ham'}", f"phishing={tmp_path / 'phishing'}", "--folds", "3"],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["train", "nolabel"])
    assert r.exit_code == 2
    # One label only, or too few messages for the folds: a clear error, not a traceback.
    r = CliRunner().invoke(cli, ["train", f"ham={tmp_path / 'ham'}", "-o", str(model)])
    assert r.exit_code == 2
    assert "needs ham and spam or phishing" in r.output
    r = CliRunner().invoke(
        cli,
        ["eval", f"ham={tmp_path / 'ham'}", f"phishing={tmp_path / 'phishing'}", "--folds", "20"],
    )
    assert r.exit_code == 2
    assert "too few messages" in r.output


def _record(
    session: Any, sid: str, when: datetime, sender: str, category: str, status: str
) -> None:
    service.record_message(
        session=session,
        sid=sid,
        received_at=when,
        sender=sender,
        recipients=["ops@portofantwerpbruges.com"],
        subject=f"{category} from {sender}",
        category=category,
        score=9.0 if category == "phishing" else 1.0,
        reasons=[],
        status=status,
        size=100,
        client="127.0.0.1",
        sha256="0" * 64,
    )


def test_cli_and_api_search_by_sender_category_and_time(tmp_path: Path) -> None:
    db = open_database(Settings(data_dir=tmp_path))
    day = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with db.session() as s:
        _record(s, "m1", day, "x@evil.example", "phishing", "quarantined")
        _record(s, "m2", day + timedelta(days=2), "y@evil.example", "phishing", "quarantined")
        _record(s, "m3", day + timedelta(days=2), "jan@katoennatie.com", "clean", "delivered")
    args = ["--data-dir", str(tmp_path)]

    def ids(*options: str) -> list[str]:
        r = CliRunner().invoke(cli, ["list", "--json", *options, *args])
        assert r.exit_code == 0, r.output
        return [json.loads(line)["id"] for line in r.output.splitlines()]

    assert ids() == ["m2", "m1"]  # the quarantine, newest first
    assert ids("--status", "any", "--category", "clean") == ["m3"]
    assert ids("--sender", "x@evil") == ["m1"]
    assert ids("--since", "2026-11-21") == ["m2"]
    assert ids("--until", "2026-11-21T00:00:00", "--status", "any") == ["m1"]
    assert sorted(ids("--since", "2026-11-22T09:00:00", "--status", "any")) == ["m2", "m3"]
    for bad in (["--status", "held"], ["--category", "scam"]):
        r = CliRunner().invoke(cli, ["list", *bad, *args])
        assert r.exit_code == 2 and "unknown" in r.output and "Traceback" not in r.output

    bus = EmbeddedBus(tmp_path / "bus.db")
    ctx, analyst, _auditor = mail_api(tmp_path, db, bus, Metrics(), None)
    with TestClient(create_api(ctx, [router])) as c:
        url = "/api/v1/mail/messages"
        got = c.get(url, headers=analyst, params={"since": "2026-11-21T00:00:00Z"}).json()
        assert [m["id"] for m in got] == ["m2"]
        got = c.get(url, headers=analyst, params={"status": "any", "category": "clean"}).json()
        assert [m["id"] for m in got] == ["m3"]
        assert c.get(url, headers=analyst, params={"status": "held"}).status_code == 422
        assert c.get(url, headers=analyst, params={"category": "scam"}).status_code == 422
    bus.close()
    db.dispose()


def test_cli_shows_a_verdict_and_the_held_message_audited(tmp_path: Path) -> None:
    db = open_database(Settings(data_dir=tmp_path))
    with SmtpSink() as sink:
        gw = MailGateway(
            MailSettings(
                listen="127.0.0.1:0", next_hop=f"127.0.0.1:{sink.port}", reject_phishing_score=None
            ),
            db=db,
            spool_dir=tmp_path / "mail-spool",
        )
        gw.start()
        try:
            assert gw.smtp is not None
            with smtplib.SMTP("127.0.0.1", gw.smtp.port) as c:
                c.sendmail("x@evil.example", ["ops@portofantwerpbruges.com"], PHISH)
            end = time.monotonic() + 10
            while time.monotonic() < end and not list(
                (tmp_path / "mail-spool/quarantine").iterdir()
            ):
                time.sleep(0.05)
        finally:
            gw.stop()
    with db.session() as s:
        [sid] = [m.id for m in service.search_messages(session=s)]
    args = ["--data-dir", str(tmp_path)]
    r = CliRunner().invoke(cli, ["show", sid, *args])
    assert r.exit_code == 0, r.output
    assert (
        "phishing" in r.output and "links." in r.output and "Your mailbox will expire" in r.output
    )
    shown = json.loads(CliRunner().invoke(cli, ["show", sid, "--json", *args]).output)
    assert shown["id"] == sid and shown["status"] == "quarantined" and shown["reasons"]
    r = CliRunner().invoke(cli, ["show", sid, "--raw", "--actor", "ana", *args])
    assert r.exit_code == 0 and "Subject: Your mailbox will expire" in r.output
    with db.session() as s:
        [entry] = s.query(AuditEntry).filter(AuditEntry.action == "mail.raw_read").all()
        assert entry.actor == "cli:ana" and entry.target == f"mail:{sid}"
    r = CliRunner().invoke(cli, ["show", "nope", *args])
    assert r.exit_code != 0 and "nope" in r.output and "Traceback" not in r.output
    db.dispose()
