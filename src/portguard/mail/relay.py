"""Hand a message to the next hop (the MTA behind the gateway) over SMTP."""

from __future__ import annotations

import re
import smtplib
from typing import Any, Literal

__all__ = ["deliver", "verdict_header"]

Outcome = Literal["delivered", "retry", "refused"]

_BARE_LF = re.compile(rb"(?<!\r)\n")


def verdict_header(verdict: dict[str, Any]) -> bytes:
    return (
        f"X-PortGuard-Verdict: {verdict.get('category', 'clean')}; "
        f"score={float(verdict.get('score', 0)):.1f}\r\n"
    ).encode()


def deliver(
    host: str, port: int, mail_from: str, rcpt_to: list[str], data: bytes, *, timeout: float = 30
) -> tuple[Outcome, str]:
    """``("delivered", "")``, ``("retry", why)`` for a temporary failure (4xx, connection), or
    ``("refused", why)`` when the next hop refuses for good (5xx)."""
    # SMTP lines end in CRLF; smtplib converts bare LFs only in str messages, so a message
    # written with Unix line endings (a file, an API upload, a generator) would reach the next
    # hop as one over-long line and be refused.
    data = _BARE_LF.sub(b"\r\n", data)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            client.sendmail(mail_from, rcpt_to, data)
    except (
        smtplib.SMTPRecipientsRefused,
        smtplib.SMTPDataError,
        smtplib.SMTPSenderRefused,
    ) as exc:
        code = getattr(exc, "smtp_code", 0) or 0
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code = min((c for c, _ in exc.recipients.values()), default=0)
        return ("refused" if code >= 500 else "retry"), str(exc)
    except (OSError, smtplib.SMTPException) as exc:
        return "retry", str(exc)
    return "delivered", ""
