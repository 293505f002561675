"""The names of the platform's topics: the only two the domains meet on.

Intake publishes normalised ``Event``s on ``EVENTS``; detectors consume them (one consumer group
each) and publish ``Alert``s on ``ALERTS``, which incidents consume.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ALERTS", "EVENTS"]

EVENTS: Final = "events"
ALERTS: Final = "alerts"
