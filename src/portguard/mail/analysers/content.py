"""Content: the statistical classifier's view (see ``portguard.mail.classifier``), plus the
message's shape: malformed structure and bulk-mail markers."""

from __future__ import annotations

from collections.abc import Sequence

from portguard.mail.analysers.base import AnalysisContext, Envelope
from portguard.mail.parse import ParsedMessage
from portguard.mail.schemas import Reason

__all__ = ["analyse", "structure"]


def analyse(
    msg: ParsedMessage, env: Envelope, ctx: AnalysisContext, rules: Sequence[str] = ()
) -> list[Reason]:
    """The classifier's reasons; ``rules`` are the names of the other analysers' findings (the
    scanner runs this last and passes them, as the model was trained with them)."""
    if ctx.classifier is None:
        return []
    return ctx.classifier.reasons(ctx.classifier.predict(msg, rules))


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
