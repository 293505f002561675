"""What an intake run reports: the Events it accepted, the records it refused counted by reason,
and the first problems with their location. Shared by every domain's intake, so that a refused
record is never a silent drop."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from portguard.core.types import Event

__all__ = ["MAX_PROBLEMS", "IntakeReport"]

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
