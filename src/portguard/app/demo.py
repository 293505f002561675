"""Demo seed: an admin account and a small set of alerts that correlate into incidents, among
them a hybrid attack on Berendrecht lock. Alerts go through the real bus and incident engine.
Ids are fixed, so seeding twice changes nothing (the incident engine is idempotent by alert id)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from portguard.core import auth
from portguard.core.bus import ALERTS, Bus, encode_alert
from portguard.core.db import Database
from portguard.core.errors import NotFoundError
from portguard.core.types import TLP, Alert, Domain, EntityRef, Location, Severity
from portguard.mail.gateway import MailGateway
from portguard.mail.models import MailMessage
from portguard.mail.testing import message

#: The demo's infrastructure plan: the locks on the demo day's route operate only for planned
#: passages, so a command without one (the attack's) is out of schedule.
DEMO_INFRA: dict[str, object] = {
    "assets": {
        "berendrecht-lock": {"hours": "always", "require_plan": True},
        "zandvliet-lock": {"hours": "always", "require_plan": True},
    }
}

__all__ = [
    "DEMO_ADMIN",
    "DEMO_INFRA",
    "demo_alerts",
    "demo_mails",
    "seed_admin",
    "seed_alerts",
    "seed_mail",
]

DEMO_ADMIN = "admin"


def seed_admin(db: Database) -> str:
    """Create (or reset) the demo admin; returns the new password to print."""
    password = secrets.token_urlsafe(12)
    with db.session() as session:
        try:
            user = auth.get_user(session=session, username=DEMO_ADMIN)
            auth.set_password(session=session, user=user, password=password, actor="system:demo")
        except NotFoundError:
            auth.create_user(
                session=session,
                username=DEMO_ADMIN,
                password=password,
                role=auth.Role.ADMIN,
                actor="system:demo",
            )
    return password


def demo_alerts(now: datetime) -> list[Alert]:
    """A phishing mail to a lock operator, an out-of-schedule command at that lock from the same
    operator's account, a badge anomaly and a loitering craft at the same lock: one hybrid
    incident. Plus an unrelated speeding vessel and a badge probe elsewhere."""
    t0 = now - timedelta(hours=3)
    operator = EntityRef.of("email", "j.peeters@portofantwerpbruges.com")
    lock = Location(asset_id="berendrecht-lock", lat=51.3442, lon=4.2856)
    return [
        Alert(
            id="demo-0001-phish",
            rule_id="mail.phishing.lookalike",
            domain=Domain.MAIL,
            severity=Severity.HIGH,
            confidence=0.93,
            observed_at=t0,
            title="Phishing mail to lock operator from look-alike domain",
            why="Sender domain portofantwerpbruges-login.com is a look-alike of a protected "
            "domain; the link asks for VPN credentials.",
            entities=(
                operator,
                EntityRef.of("domain", "portofantwerpbruges-login.com"),
                EntityRef.of("url", "https://portofantwerpbruges-login.com/vpn"),
            ),
            category="phishing",
            tlp=TLP.AMBER,
        ),
        Alert(
            id="demo-0002-ot",
            rule_id="infra.command.out_of_schedule",
            domain=Domain.INFRA,
            severity=Severity.HIGH,
            confidence=0.85,
            observed_at=t0 + timedelta(minutes=95),
            title="Lock gate command outside the operating schedule at Berendrecht lock",
            why="Open-gate command at 03:12 by account jpeeters; no vessel passage planned.",
            entities=(operator, EntityRef.of("account", "jpeeters")),
            location=lock,
            category="sabotage",
        ),
        Alert(
            id="demo-0003-badge",
            rule_id="access.badge.beyond_clearance",
            domain=Domain.ACCESS,
            severity=Severity.MEDIUM,
            observed_at=t0 + timedelta(minutes=110),
            title="Badge used beyond clearance at Berendrecht lock control building",
            why="Badge B-40411 has no clearance for the lock control building at night.",
            entities=(EntityRef.of("badge", "B-40411"),),
            location=lock,
        ),
        Alert(
            id="demo-0004-loiter",
            rule_id="maritime.loitering",
            domain=Domain.MARITIME,
            severity=Severity.MEDIUM,
            observed_at=t0 + timedelta(minutes=120),
            title="Small craft loitering next to Berendrecht lock for 47 minutes",
            why="MMSI 205123456 below 1 kn within 300 m of the lock gates, not at a berth.",
            entities=(EntityRef.of("mmsi", "205123456"),),
            location=lock,
        ),
        Alert(
            id="demo-0005-speed",
            rule_id="maritime.speeding",
            domain=Domain.MARITIME,
            severity=Severity.LOW,
            observed_at=t0 + timedelta(minutes=30),
            title="Vessel speeding in Deurganckdok",
            why="MMSI 244660000 at 11.2 kn against a 6 kn limit.",
            entities=(EntityRef.of("mmsi", "244660000"),),
            location=Location(zone_id="deurganckdok", lat=51.2918, lon=4.2608),
        ),
        Alert(
            id="demo-0006-probe",
            rule_id="access.badge.probing",
            domain=Domain.ACCESS,
            severity=Severity.MEDIUM,
            observed_at=t0 + timedelta(minutes=45),
            title="Badge probing at MPET gate 1: 7 denials in 2 minutes",
            why="Seven denied badge reads at gate reader MPET-G1 within 2 minutes.",
            entities=(EntityRef.of("badge", "B-99817"),),
            location=Location(asset_id="terminal-mpet-gate-1"),
        ),
    ]


def seed_alerts(bus: Bus, now: datetime) -> int:
    alerts = demo_alerts(now)
    bus.publish_many(ALERTS, [(a.id, encode_alert(a)) for a in alerts])
    return len(alerts)


def demo_mails() -> list[tuple[bytes, str, list[str]]]:
    """Two mails for the gateway: the look-alike phishing that opens the hybrid attack (refused
    at SMTP time) and a container-release-PIN request from a free-mail address (quarantined)."""
    phish = message(
        sender="Port of Antwerp-Bruges IT <it-support@portofantwerpbruges-login.com>",
        to="j.peeters@portofantwerpbruges.com",
        subject="Urgent: your VPN access for the lock control system expires today",
        text=(
            "Dear lock operator,\n\nYour VPN certificate for the Berendrecht lock control system "
            "expires today. Confirm your credentials within 2 hours to avoid losing access:\n"
            "https://portofantwerpbruges-login.com/vpn/renew\n\nIT Service Desk"
        ),
        html=(
            "<p>Dear lock operator,</p><p>Your VPN certificate expires today. "
            '<a href="https://portofantwerpbruges-login.com/vpn/renew">'
            "https://vpn.portofantwerpbruges.com/renew</a></p>"
        ),
    )
    pin = message(
        sender="Terminal Operations <ops.desk.mpet@gmail.com>",
        to="planning@portofantwerpbruges.com",
        subject="Container release PIN needed urgently - MSCU 7731042",
        text=(
            "Hello,\n\nOur trucker is at the MPET gate and the release PIN for container "
            "MSCU 7731042 is rejected. Please send us the release PIN and the pickup reference "
            "urgently, the vessel closes in one hour.\n\nBest regards,\nTerminal operations desk"
        ),
    )
    return [
        (phish, "it-support@portofantwerpbruges-login.com", ["j.peeters@portofantwerpbruges.com"]),
        (pin, "ops.desk.mpet@gmail.com", ["planning@portofantwerpbruges.com"]),
    ]


def seed_mail(gateway: MailGateway, db: Database) -> int:
    """Pass the demo mails through the real gateway (scan, verdict, quarantine, alerts), once."""
    with db.session() as session:
        if session.execute(select(MailMessage.id).limit(1)).first() is not None:
            return 0
    for raw, mail_from, rcpt in demo_mails():
        gateway.submit(raw, mail_from, rcpt, client="198.51.100.23", helo="mail.example.net")
    return len(demo_mails())
