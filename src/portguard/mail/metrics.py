"""Prometheus metrics of the mail gateway (on the app's registry when given)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["MailMetrics"]


class MailMetrics:
    def __init__(self, registry: Any = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.messages = Counter(
            "portguard_mail_messages_total",
            "Messages scanned, by verdict",
            ["category"],
            registry=reg,
        )
        self.rejected = Counter(
            "portguard_mail_rejected_total",
            "Messages refused at SMTP time as phishing",
            registry=reg,
        )
        self.relayed = Counter(
            "portguard_mail_relayed_total", "Messages handed to the next hop", registry=reg
        )
        self.relay_failures = Counter(
            "portguard_mail_relay_failures_total",
            "Failed attempts to reach the next hop",
            registry=reg,
        )
        self.spool_pending = Gauge(
            "portguard_mail_spool_pending", "Messages in the spool not yet delivered", registry=reg
        )
        self.scan_seconds = Histogram(
            "portguard_mail_scan_seconds",
            "Time to scan one message",
            registry=reg,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5),
        )

    def count(self, category: str, rejected: bool) -> None:
        self.messages.labels(category=category).inc()
        if rejected:
            self.rejected.inc()
