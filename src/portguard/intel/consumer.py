"""The indicator-match detector on the event stream: every domain, IP, URL, file hash and e-mail
address in any Event is looked up in the ISAC indicator index; a match raises an INTEL alert and
records a sighting (``IntelHub.check``)."""

from __future__ import annotations

from collections.abc import Callable

from portguard.core.bus import Record, decode_event
from portguard.core.types import EntityKind
from portguard.intel.hub import IntelHub

__all__ = ["GROUP", "make_event_handler"]

GROUP = "intel-match"

_KIND = {
    EntityKind.DOMAIN: "domain",
    EntityKind.HOST: "domain",
    EntityKind.IP: "ip",
    EntityKind.URL: "url",
    EntityKind.FILE_HASH: "hash",
    EntityKind.EMAIL: "email",
}


def make_event_handler(hub: IntelHub) -> Callable[[Record], None]:
    def handle(record: Record) -> None:
        event = decode_event(record.payload)
        observables = [(_KIND[e.kind], e.value) for e in event.entities if e.kind in _KIND]
        if observables:
            hub.check(observables, source=event.source, evidence=(event.id,))

    return handle
