"""Raw message → ``Verdict``: parse, run every analyser in isolation, weigh the reasons.

Pure apart from the clock: no network (the resolver and indicator index are whatever the
context carries), no disk. The per-message budget is cooperative here (analysers after the
deadline are skipped and the verdict says so); the gateway adds a hard limit around it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from portguard.mail import correspondents
from portguard.mail.analysers import ANALYSERS, Analyser, AnalysisContext, Envelope, content
from portguard.mail.parse import ParsedMessage, parse_message
from portguard.mail.schemas import Category, Reason, Verdict

__all__ = ["Policy", "Scanner"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """Thresholds on the summed reason scores (per kind) that decide the category."""

    #: phishing + spam evidence at or above this blocks the message (the larger kind names it).
    block: float = 6.0
    malware: float = 5.0
    bulk: float = 3.0
    #: Reject phishing at SMTP time (5xx) at or above this score; None never rejects.
    reject_phishing: float | None = 15.0
    #: Spam: "quarantine" or "tag" (delivered with an X-PortGuard-Verdict header).
    spam_action: str = "quarantine"
    budget_s: float = 5.0


class Scanner:
    def __init__(
        self,
        ctx: AnalysisContext | None = None,
        policy: Policy | None = None,
        analysers: dict[str, Analyser] | None = None,
        *,
        classifier_enabled: bool = True,
    ) -> None:
        self.ctx = ctx or AnalysisContext()
        self.policy = policy or Policy()
        self.analysers = dict(ANALYSERS if analysers is None else analysers)
        self.classifier_enabled = classifier_enabled

    def scan(self, raw: bytes, env: Envelope | None = None) -> tuple[ParsedMessage, Verdict]:
        t0 = time.perf_counter()
        env = env or Envelope()
        msg = parse_message(raw)
        reasons: list[Reason] = []
        for name, fn in self.analysers.items():
            if time.perf_counter() - t0 > self.policy.budget_s:
                reasons.append(
                    Reason("malformed", 0.5, f"time budget spent before {name}", kind="spam")
                )
                break
            try:
                found = fn(msg, env, self.ctx)
            except Exception as exc:
                log.exception("mail analyser %s failed", name)
                found = [
                    Reason(f"{name}.error", 0.0, f"{type(exc).__name__}: {exc}"[:300], kind="info")
                ]
            reasons += found
        if self.classifier_enabled and self.ctx.classifier is not None:
            try:
                reasons = content.weigh(msg, self.ctx, reasons)
            except Exception as exc:
                log.exception("mail classifier failed")
                reasons.append(
                    Reason("content.error", 0.0, f"{type(exc).__name__}: {exc}"[:300], kind="info")
                )
        if self.ctx.correspondents is not None:
            known = correspondents.credit(msg, reasons, self.ctx.correspondents)
            if known is not None:
                reasons.append(known)
        verdict = self.decide(reasons)
        verdict.elapsed_ms = (time.perf_counter() - t0) * 1000
        return msg, verdict

    def decide(self, reasons: list[Reason]) -> Verdict:
        totals: dict[str, float] = {}
        for r in reasons:
            totals[r.kind] = totals.get(r.kind, 0.0) + r.score
        phish = totals.get("phishing", 0.0)
        spam = totals.get("spam", 0.0)
        malware = totals.get("malware", 0.0)
        score = phish + spam + malware
        p = self.policy
        if malware >= p.malware:
            cat = Category.MALWARE
        elif phish + spam >= p.block:
            cat = Category.PHISHING if phish >= spam else Category.SPAM
        elif totals.get("bulk", 0.0) >= p.bulk:
            cat = Category.BULK
        else:
            cat = Category.CLEAN
        ordered = sorted(reasons, key=lambda r: -r.score)
        return Verdict(category=cat, score=score, reasons=ordered)
