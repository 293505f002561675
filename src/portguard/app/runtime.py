"""Build and run a PortGuard instance from Settings."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from portguard.access.api import router as access_router
from portguard.access.config import AccessConfig
from portguard.access.service import AccessControl
from portguard.api import create_api
from portguard.app.migrations import SCRIPT_LOCATION
from portguard.core.bus import ALERTS, EVENTS, Bus, Dispatcher, encode_alert, open_bus
from portguard.core.clock import Clock, SystemClock
from portguard.core.db import Database
from portguard.core.http import AppContext
from portguard.core.metrics import Metrics
from portguard.core.settings import Settings
from portguard.incidents import reporting
from portguard.incidents.api import router as incidents_router
from portguard.incidents.consumer import BatchAlertConsumer
from portguard.incidents.correlation import CorrelationRules
from portguard.incidents.nis2_api import router as nis2_router
from portguard.incidents.service import count_open_incidents
from portguard.infra.api import router as infra_router
from portguard.infra.config import InfraConfig
from portguard.infra.service import InfraWatch
from portguard.intel import remote
from portguard.intel.api import router as intel_router
from portguard.intel.consumer import GROUP as INTEL_GROUP
from portguard.intel.consumer import make_event_handler as intel_event_handler
from portguard.intel.hub import IntelHub
from portguard.intel.taxii import router as taxii_router
from portguard.logs.api import router as logs_router
from portguard.logs.service import LogWatch
from portguard.mail import MailGateway, MailSettings
from portguard.mail.api import router as mail_router
from portguard.maritime.api import router as maritime_router
from portguard.maritime.service import MaritimeSettings, MaritimeWatch
from portguard.portmodel import (
    PortModel,
    builtin_port_model,
    current_security_levels,
    load_port_model,
)
from portguard.portmodel.api import router as portmodel_router
from portguard.portmodel.directory import DirectoryCache
from portguard.web import install_console

__all__ = ["MIGRATIONS", "Runtime", "build_runtime", "open_database"]

log = logging.getLogger("portguard.app")

MIGRATIONS = SCRIPT_LOCATION


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    clock: Clock
    metrics: Metrics
    port_model: PortModel
    rules: CorrelationRules
    dispatcher: Dispatcher
    intel: IntelHub
    logs: LogWatch
    maritime: MaritimeWatch
    access: AccessControl
    infra: InfraWatch
    incident_engine: BatchAlertConsumer
    mail: MailGateway
    #: Bound syslog ports ({"udp": n, "tcp": n}) once started.
    syslog_ports: dict[str, int] = field(default_factory=dict)
    _levels: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def context(self) -> AppContext:
        return AppContext(
            settings=self.settings,
            db=self.db,
            bus=self.bus,
            clock=self.clock,
            metrics=self.metrics,
            extras={
                "port_model": self.port_model,
                "rules": self.rules,
                "intel": self.intel,
                "logs": self.logs,
                "maritime": self.maritime,
                "access": self.access,
                "infra": self.infra,
                "mail": self.mail,
            },
        )

    def api(self) -> FastAPI:
        """The HTTP app; starting it starts the consumers, stopping it stops them."""
        routers = [
            incidents_router,
            nis2_router,
            portmodel_router,
            intel_router,
            taxii_router,
            logs_router,
            maritime_router,
            access_router,
            infra_router,
            mail_router,
        ]
        app = create_api(self.context, routers)
        install_console(app)

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> Any:
            self.start()
            try:
                yield
            finally:
                self.stop()

        app.router.lifespan_context = lifespan
        return app

    def start(self, *, consumers: bool | None = None) -> None:
        """Start the background work: the bus consumers (unless another process runs them), the
        syslog and AIS listeners, and the periodic jobs (NIS2 deadlines, ISPS levels, TAXII)."""
        self._stop.clear()
        if self.settings.in_process_consumers if consumers is None else consumers:
            self.dispatcher.start()
            self.incident_engine.start()
        s = self.settings
        if s.syslog_udp_port is not None or s.syslog_tcp_port is not None:
            self.syslog_ports = self.logs.start_syslog(
                s.syslog_host, udp_port=s.syslog_udp_port, tcp_port=s.syslog_tcp_port
            )
            log.info("listening for syslog on %s %s", s.syslog_host, self.syslog_ports)
        self.maritime.start()
        # The SMTP listener is opt-in (a `listen` address in the [mail] settings); the spool and
        # the quarantine always work, e.g. for messages scanned through the API or CLI.
        self.mail.start(smtp="listen" in self.settings.mail)
        jobs: list[tuple[str, float, Callable[[], object]]] = [
            ("NIS2 deadline check", 60.0, self.check_nis2_deadlines),
            ("security-level refresh", 5.0, self.refresh_security_levels),
            ("TAXII remote sync", 30.0, self.sync_remote_intel),
        ]
        if s.bus_retention_days is not None:
            jobs.append(("bus retention", 3600.0, self.trim_bus))
        for name, every_s, job in jobs:
            t = threading.Thread(
                target=self._periodic, args=(name, every_s, job), name=name, daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self.dispatcher.stop()
        self.incident_engine.stop()
        self.logs.stop()
        self.maritime.stop()
        self.mail.stop()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()

    def close(self) -> None:
        self.stop()
        self.bus.close()
        self.db.dispose()

    def run_worker(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set: the body of `portguard worker`."""
        self.dispatcher.start()
        self.incident_engine.start()
        try:
            stop.wait()
        finally:
            self.dispatcher.stop()
            self.incident_engine.stop()

    def check_nis2_deadlines(self) -> int:
        """Raise an alert for each overdue NIS2 report (deduplicated per incident and stage)."""
        with self.db.session() as session:
            alerts = reporting.overdue_alerts(session=session, now=self.clock.now())
        if alerts:
            self.bus.publish_many(ALERTS, [(a.id, encode_alert(a)) for a in alerts])
        return len(alerts)

    def refresh_security_levels(self) -> None:
        # Levels are set through the API of any process; reading them back from the database
        # reaches every process's detectors, whoever made the change.
        with self.db.session() as session:
            levels = current_security_levels(session=session, model=self.port_model)
        if levels != self._levels:
            self._apply_levels(levels)

    def _apply_levels(self, levels: dict[str, int]) -> None:
        """Hand the ISPS levels in force to every detector that tightens with them."""
        self.maritime.pipeline.set_levels(levels)
        self.access.set_levels(levels)
        self.infra.set_levels(levels)
        self._levels = levels

    def trim_bus(self) -> int:
        """Apply the bus retention (``bus_retention_days``); returns the records deleted."""
        days = self.settings.bus_retention_days
        if days is None:
            return 0
        deleted = self.bus.trim(days * 86400)
        if deleted:
            log.info("bus retention: deleted %d records older than %g days", deleted, days)
        return deleted

    def sync_remote_intel(self) -> None:
        """Pull from / push to the configured TAXII servers whose interval has passed."""
        for result in remote.run_due(self.intel):
            if result.error:
                log.warning("TAXII remote %s failed: %s", result.remote, result.error)

    def _periodic(self, name: str, every_s: float, job: Callable[[], object]) -> None:
        while not self._stop.wait(every_s):
            try:
                job()
            except Exception:
                log.exception("%s failed; will retry in %.0f s", name, every_s)


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """The database of ``settings``, migrated to the current schema."""
    settings.ensure_dirs()
    db = Database(settings.effective_database_url)
    if migrate:
        db.upgrade(MIGRATIONS)
    return db


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, migrate: bool = True
) -> Runtime:
    """Open storage (migrating it), the bus and the port model, and wire the consumers."""
    db = open_database(settings, migrate=migrate)
    bus = open_bus(settings)
    metrics = Metrics()
    port_model = (
        load_port_model(settings.port_model) if settings.port_model else builtin_port_model()
    )
    rules = CorrelationRules.load(settings.correlation_rules)
    import os
    import socket

    dispatcher = Dispatcher(bus, consumer=f"{socket.gethostname()}:{os.getpid()}")
    directory = DirectoryCache(db)
    incident_engine = BatchAlertConsumer(
        bus,
        db=db,
        rules=rules,
        dedup_window=timedelta(seconds=settings.dedup_window_s),
        consumer=f"incidents-{socket.gethostname()}-{os.getpid()}",
        metrics=metrics,
        directory=directory.get,
    )

    def open_incidents() -> float:
        with db.session() as session:
            return float(count_open_incidents(session=session))

    metrics.incidents_open.set_function(open_incidents)
    intel = IntelHub(
        db=db,
        bus=bus,
        clock=clock or SystemClock(),
        organisation=settings.organisation,
    )
    intel.start()
    dispatcher.subscribe(EVENTS, INTEL_GROUP, intel_event_handler(intel))
    logs = LogWatch(settings.sigma_rules, bus=bus, indicator_lookup=intel.index)
    maritime = MaritimeWatch(
        MaritimeSettings(
            tcp_connect=list(settings.ais_tcp_connect),
            tcp_listen=list(settings.ais_tcp_listen),
            udp_listen=list(settings.ais_udp_listen),
        ),
        port_model=port_model,
        bus=bus,
        db=db,
    )
    mail = MailGateway(
        MailSettings.from_dict(dict(settings.mail)),
        db=db,
        bus=bus,
        indicator_index=intel.index,
        spool_dir=settings.data_dir / "mail-spool",
        registry=metrics.registry,
    )
    access = AccessControl(
        AccessConfig.from_dict(settings.access), port_model=port_model, bus=bus, db=db
    )
    infra = InfraWatch(InfraConfig.from_dict(settings.infra), port_model=port_model, bus=bus, db=db)
    for topic, group, handler in access.make_handlers() + infra.make_handlers():
        dispatcher.subscribe(topic, group, handler)
    runtime = Runtime(
        settings=settings,
        db=db,
        bus=bus,
        clock=clock or SystemClock(),
        metrics=metrics,
        port_model=port_model,
        rules=rules,
        dispatcher=dispatcher,
        intel=intel,
        logs=logs,
        maritime=maritime,
        access=access,
        infra=infra,
        incident_engine=incident_engine,
        mail=mail,
    )
    with db.session() as session:
        runtime._apply_levels(current_security_levels(session=session, model=port_model))
    return runtime
