"""The inline SMTP front (aiosmtpd): recipient-domain check (not an open relay), per-client rate
limit, message size limit, optional STARTTLS, and the hand-over to the gateway, which spools the
message durably and scans it before the ``250`` (or rejects high-confidence phishing with 5xx)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["RateLimiter", "SmtpFront", "free_port"]

#: (raw, mail_from, rcpt_to, client_ip, helo) → SMTP reply line.
Submit = Callable[[bytes, str, list[str], str, str], str]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class RateLimiter:
    """At most ``per_minute`` messages per client address in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._seen.setdefault(client, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= self.per_minute:
                return False
            q.append(now)
            if len(self._seen) > 100_000:
                self._seen = {k: v for k, v in self._seen.items() if v}
            return True


class _Handler:
    def __init__(self, submit: Submit, accept_domains: list[str], limiter: RateLimiter) -> None:
        self.submit = submit
        self.accept = [d.lower().strip(".") for d in accept_domains]
        self.limiter = limiter

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        client = str(session.peer[0]) if session.peer else ""
        if not self.limiter.allow(client):
            return "421 4.7.0 Too many messages from your address, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower().strip().rstrip(".")
        if not any(domain == d or domain.endswith("." + d) for d in self.accept):
            return "550 5.7.1 Relaying denied: not a domain this gateway protects"
        if len(envelope.rcpt_tos) >= 500:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        client = str(session.peer[0]) if session.peer else ""
        helo = str(session.host_name or "")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                None,
                self.submit,
                raw,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                client,
                helo,
            )
        except Exception:
            return "451 4.3.0 Temporary failure, please retry"


class SmtpFront:
    def __init__(
        self,
        submit: Submit,
        *,
        host: str,
        port: int,
        accept_domains: list[str],
        rate_limit_per_minute: int,
        max_message_bytes: int,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        kwargs: dict[str, Any] = {"data_size_limit": max_message_bytes}
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
            kwargs["require_starttls"] = require_starttls
        self.controller = Controller(
            _Handler(submit, accept_domains, RateLimiter(rate_limit_per_minute)),
            hostname=host,
            port=self.port,
            server_hostname="portguard-mail",
            **kwargs,
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
