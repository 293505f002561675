from __future__ import annotations

from portguard.app.demo import demo_alerts
from portguard.core.clock import utcnow
from portguard.portmodel import builtin_port_model


def test_demo_alerts_name_real_places_of_the_port_model() -> None:
    model = builtin_port_model()
    for alert in demo_alerts(utcnow()):
        loc = alert.location
        if loc is None:
            continue
        for ref in (loc.asset_id, loc.zone_id):
            assert ref is None or model.get(ref) is not None, (alert.id, ref)


def test_ignored_correlation_keys_exist_in_the_builtin_model() -> None:
    from portguard.incidents.correlation import CorrelationRules

    model = builtin_port_model()
    for key in CorrelationRules.builtin().ignore_keys:
        kind, _, value = key.partition(":")
        if kind in ("zone", "asset"):
            assert model.get(value) is not None, key
