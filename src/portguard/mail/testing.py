"""Test helpers shipped with the package: build messages, and a downstream SMTP server (the
"next hop") that records what it receives."""

from __future__ import annotations

import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from portguard.mail.smtp import free_port

__all__ = ["SmtpSink", "message"]


def message(
    *,
    sender: str = "Jan Peeters <jan.peeters@katoennatie.com>",
    to: str = "ops@portofantwerpbruges.com",
    subject: str = "Berth planning next week",
    text: str = "Hi, attached the berth planning for next week. Regards, Jan",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> bytes:
    """An RFC 822 message; ``attachments`` are ``(filename, data, mime type)``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<test@portguard.invalid>"
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data, mime in attachments or []:
        main, _, sub = mime.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return bytes(msg)


class _Recorder:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.refuse:
            return self.sink.refuse
        with self.sink.lock:
            self.sink.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        self.sink.arrived.set()
        return "250 OK"


class SmtpSink:
    """A real SMTP server on loopback that keeps every message it is given."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        #: Set to an SMTP reply (e.g. "451 busy") to refuse messages.
        self.refuse: str | None = None
        self.controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def wait(self, n: int, timeout: float = 10.0) -> bool:
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.received) >= n:
                    return True
            time.sleep(0.05)
        return False
