"""The analysers: each a pure function ``(ParsedMessage, Envelope, AnalysisContext) → [Reason]``.

``ANALYSERS`` lists them in order; the scanner runs each in isolation (one that fails is reported
as a reason and the rest go on)."""

from __future__ import annotations

from portguard.mail.analysers import (
    attachments,
    auth,
    content,
    impersonation,
    links,
    obfuscation,
)
from portguard.mail.analysers.base import Analyser, AnalysisContext, Envelope, Resolver
from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Reason

__all__ = ["ANALYSERS", "Analyser", "AnalysisContext", "Envelope", "Resolver"]

#: The rule analysers. The content classifier (``content.analyse``) runs after them and is
#: given their findings' names.
ANALYSERS: dict[str, Analyser] = {
    "structure": content.structure,
    "auth": auth.analyse,
    "impersonation": impersonation.analyse,
    "links": links.analyse,
    "obfuscation": obfuscation.analyse,
    "attachments": attachments.analyse,
}


def rule_reasons(msg: ParsedMessage, env: Envelope, ctx: AnalysisContext) -> list[Reason]:
    """Every rule analyser, each in isolation (one that fails is skipped): for training."""
    out: list[Reason] = []
    for fn in ANALYSERS.values():
        try:
            out += fn(msg, env, ctx)
        except Exception:  # noqa: S112 - training goes on without a broken rule
            continue
    return out
