"""Content: the statistical classifier's view (see ``portguard.mail.classifier``), plus the
message's shape: malformed structure and bulk-mail markers."""

from __future__ import annotations

from collections.abc import Sequence

from portguard.mail.analysers.base import AnalysisContext, Envelope
from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Reason

__all__ = ["structure", "weigh"]


def weigh(msg: ParsedMessage, ctx: AnalysisContext, rules: Sequence[Reason]) -> list[Reason]:
    """``rules`` (the other analysers' findings) as the classifier weighs them, plus its own
    reason on the words; the scanner runs this last, as the model was trained with them."""
    if ctx.classifier is None:
        return list(rules)
    return ctx.classifier.weigh(ctx.classifier.evidence(msg, rules), rules)


def structure(msg: ParsedMessage, env: Envelope, ctx: AnalysisContext) -> list[Reason]:
    out: list[Reason] = []
    if msg.malformed:
        out.append(
            Reason("malformed", 0.5, "; ".join(dict.fromkeys(msg.malformed))[:300], kind="spam")
        )
    precedence = (msg.header("precedence") or "").lower()
    if msg.header("list-unsubscribe") or precedence in ("bulk", "list", "junk"):
        out.append(Reason("bulk.list_headers", 3.0, "sent as bulk or list mail", kind="bulk"))
    return out
