"""The mail gateway: SMTP intake, analysis, verdicts, quarantine (see docs/mail.md).

Public API::

    parse_message(raw) -> ParsedMessage          pure, never raises
    Scanner / build_scanner(settings) / Policy    raw → (ParsedMessage, Verdict)
    MailSettings                                  configuration as data
    MailGateway                                   the runtime object (ctx.extras["mail"])
    Classifier                                    the content model (portguard mail train)
"""

from __future__ import annotations

from portguard.mail.classifier import DEFAULT_MODEL, Classifier
from portguard.mail.config import MailSettings, build_scanner
from portguard.mail.gateway import MailGateway
from portguard.mail.parse import ParsedMessage, parse_message
from portguard.mail.scanner import Policy, Scanner
from portguard.mail.schemas import Category, Reason, Verdict

__all__ = [
    "DEFAULT_MODEL",
    "Category",
    "Classifier",
    "MailGateway",
    "MailSettings",
    "ParsedMessage",
    "Policy",
    "Reason",
    "Scanner",
    "Verdict",
    "build_scanner",
    "parse_message",
]
