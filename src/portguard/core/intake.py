"""What an intake run reports: the Events it accepted, the records it refused counted by reason,
and the first problems with their location. Shared by every domain's intake, so that a refused
record is never a silent drop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from portguard.core.types import Event

__all__ = ["MAX_PROBLEMS", "IntakeReport", "RecordRefused", "collect"]

#: Problems kept verbatim; the rest are only counted.
MAX_PROBLEMS: Final = 100


@dataclass
class IntakeReport:
    """Accepted events, refused records by reason, the first problems."""

    events: list[Event] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.events)

    def refuse(self, reason: str, where: str, message: str) -> None:
        self.rejected[reason] += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{where}: {message}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected),
            "problems": self.problems,
        }


class RecordRefused(Exception):
    """A converter's verdict on one record: why (``reason``, counted) and what (the message)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def collect(records: Iterable[tuple[str, Any]], to_event: Callable[[Any], Event]) -> IntakeReport:
    """``(location, record)`` pairs through ``to_event``: every refusal (RecordRefused, a value
    pydantic refused, the same event twice in one batch) counted with its location."""
    report = IntakeReport()
    seen: set[str] = set()
    for where, rec in records:
        try:
            event = to_event(rec)
        except RecordRefused as exc:
            report.refuse(exc.reason, where, str(exc))
            continue
        except ValueError as exc:  # an entity pydantic refused
            report.refuse("malformed", where, str(exc).splitlines()[0])
            continue
        if event.id in seen:
            report.refuse("duplicate", where, "the same event twice in one batch")
            continue
        seen.add(event.id)
        report.events.append(event)
    return report
