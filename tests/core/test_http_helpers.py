from __future__ import annotations

from collections import deque

from portguard.core.http import newest_alerts
from portguard.testing import make_alert


def test_newest_alerts_filters_newest_first_and_stops_at_the_limit() -> None:
    ring = deque([make_alert(rule_id=f"r{i % 2}", title=f"t{i}") for i in range(6)], maxlen=10)
    out = newest_alerts(ring, keep=lambda a: a.rule_id == "r1", limit=2)
    assert [a["title"] for a in out] == ["t5", "t3"]
    assert out[0]["severity"] == "high"  # JSON form
    assert newest_alerts(ring, keep=lambda a: False, limit=5) == []
