"""Verdicts as platform shapes: every verdict an Event (domain ``mail``); phishing and malware
an Alert whose entities (sender, recipients, URLs, domains, attachment hashes) let the incident
engine correlate it, with a fingerprint stable across one campaign's copies."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from portguard.core.types import TLP, Alert, Domain, EntityKind, EntityRef, Event, Severity
from portguard.mail.links_util import link_hosts
from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Category, Verdict

__all__ = ["entities", "fingerprint", "to_alert", "to_event"]


def _ref(kind: EntityKind, value: str) -> EntityRef | None:
    try:
        return EntityRef(kind=kind, value=value)
    except ValueError:
        return None


def entities(msg: ParsedMessage, recipients: list[str], *, urls: int = 20) -> list[EntityRef]:
    out: list[EntityRef | None] = []
    if msg.from_addr:
        out.append(_ref(EntityKind.EMAIL, msg.from_addr))
    if msg.from_domain:
        out.append(_ref(EntityKind.DOMAIN, msg.from_domain))
    if msg.reply_to:
        out.append(_ref(EntityKind.EMAIL, msg.reply_to))
    out += [_ref(EntityKind.EMAIL, r) for r in recipients[:50]]
    web = [lk.url for lk in msg.links if lk.url.lower().startswith(("http://", "https://"))]
    out += [_ref(EntityKind.URL, u) for u in web[:urls]]
    out += [_ref(EntityKind.DOMAIN, h) for h in link_hosts(msg)[:urls]]
    out += [_ref(EntityKind.FILE_HASH, a.sha256) for a in msg.attachments[:20]]
    seen: set[str] = set()
    result = []
    for e in out:
        if e is not None and e.key not in seen:
            seen.add(e.key)
            result.append(e)
    return result


def fingerprint(msg: ParsedMessage, verdict: Verdict) -> str:
    """Same campaign, same fingerprint: sender domain, normalised subject, link hosts."""
    subject = re.sub(r"[\d\W_]+", " ", msg.subject.lower()).strip()
    basis = "|".join(
        [verdict.category.value, msg.from_domain, subject, ",".join(sorted(link_hosts(msg)))]
    )
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def to_event(
    sid: str,
    msg: ParsedMessage,
    verdict: Verdict,
    meta: dict[str, Any],
    at: datetime,
    action: str,
) -> Event:
    return Event(
        id=f"mail-{sid}",
        observed_at=at,
        source="portguard.mail",
        domain=Domain.MAIL,
        kind="mail.verdict",
        entities=tuple(entities(msg, list(meta.get("rcpt_to", [])), urls=10)),
        attributes={
            "message_id": sid,
            "category": verdict.category.value,
            "score": round(verdict.score, 2),
            "action": action,
            "subject": msg.subject[:300],
            "size": msg.raw_size,
            "client": meta.get("client", ""),
            "reasons": [r.as_dict() for r in verdict.reasons[:20]],
        },
        raw_ref=f"mail:{sid}",
    )


def to_alert(
    sid: str, msg: ParsedMessage, verdict: Verdict, meta: dict[str, Any], at: datetime
) -> Alert | None:
    if verdict.category not in (Category.PHISHING, Category.MALWARE):
        return None
    malware = verdict.category is Category.MALWARE
    top = "; ".join(f"{r.name}: {r.detail}" for r in verdict.reasons[:5])
    rcpts = list(meta.get("rcpt_to", []))
    return Alert(
        id=f"mail-alert-{sid}",
        rule_id=f"mail.{verdict.category.value}",
        domain=Domain.MAIL,
        severity=Severity.HIGH if malware or verdict.score >= 12 else Severity.MEDIUM,
        confidence=min(0.99, 0.5 + verdict.score / 30),
        title=f"{verdict.category.value.capitalize()} mail from {msg.from_addr or 'unknown'} "
        f"to {', '.join(rcpts[:3]) or 'unknown'}: {msg.subject[:120]}",
        why=f"Score {verdict.score:.1f}. {top}"[:10_000],
        observed_at=at,
        evidence=(f"mail-{sid}",),
        entities=tuple(entities(msg, rcpts)),
        tlp=TLP.AMBER,
        category="phishing" if not malware else "malware",
        attributes={
            "message_id": sid,
            "score": round(verdict.score, 2),
            "subject": msg.subject[:300],
        },
        fingerprint=fingerprint(msg, verdict),
    )
