"""Prometheus metrics: one registry per running app (so tests and side-by-side instances never
collide), with the platform-wide counters. Domains register their own on ``Metrics.registry``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "portguard_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "portguard_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
        )
        self.events_published = Counter(
            "portguard_bus_published_total", "Records published", ["topic"], registry=self.registry
        )
        self.consumer_processed = Counter(
            "portguard_consumer_processed_total",
            "Records processed by consumer group",
            ["group"],
            registry=self.registry,
        )
        self.consumer_failed = Counter(
            "portguard_consumer_failed_total",
            "Records a consumer failed on (sent to the dead-letter list)",
            ["group"],
            registry=self.registry,
        )
        self.alerts_ingested = Counter(
            "portguard_alerts_ingested_total",
            "Alerts taken in by the incident engine",
            ["domain", "outcome"],
            registry=self.registry,
        )
        self.incidents_open = Gauge(
            "portguard_incidents_open", "Incidents not closed", registry=self.registry
        )
