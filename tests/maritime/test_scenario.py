"""The scenario with one injected anomaly of each kind, and decoys that must stay silent."""

from __future__ import annotations

from collections import Counter

import pytest

from portguard.maritime import KINDS, MaritimeConfig, Pipeline, finding_json
from portguard.maritime.detectors import Detector, Finding
from portguard.maritime.testing import scenario
from portguard.portmodel import builtin_port_model


def _run(batch: int = 20, config: MaritimeConfig | None = None) -> tuple[list[Finding], Pipeline]:
    sc = scenario()
    p = Pipeline(builtin_port_model(), config, start=0)
    lines = [ln.encode() for ln in sc.lines]
    found: list[Finding] = []
    for i in range(0, len(lines), batch):
        found += p.feed(lines[i : i + batch])
    found += p.finish()
    return found, p


@pytest.mark.parametrize("batch", [1, 20, 4096])
def test_exactly_the_expected_alerts(batch: int) -> None:
    found, p = _run(batch)
    got = sorted((f.kind, f.mmsi) for f in found)
    assert got == sorted(scenario().expected)
    assert {k for k, _ in got} == set(KINDS)
    assert p.stats.bad_checksum == 0 and p.stats.detector_errors == 0


def test_decoys_stay_silent() -> None:
    found, _ = _run()
    decoy = {m for ms in scenario().decoys.values() for m in ms}
    assert not [f for f in found if decoy & set(f.mmsi)]


def test_findings_carry_evidence_and_why() -> None:
    found, p = _run()
    by_kind = {f.kind: f for f in found}
    loiter = by_kind["loitering"]
    assert loiter.asset in {"berendrecht-lock", "berendrecht-bridge"}
    assert len(loiter.positions) >= 10
    assert "Berendrecht" in loiter.why
    for f in found:
        j = finding_json(f, p.registry)
        assert j["why"] and j["start"] <= j["end"] and j["positions"]


def test_security_level_three_shortens_loitering() -> None:
    _, p1 = _run()
    assert p1.findings["loitering"] == 1
    sc = scenario()
    pipe = Pipeline(builtin_port_model(), start=0)
    pipe.set_levels({"antwerp-port-area": 3})
    out: list[Finding] = []
    for i in range(0, len(sc.lines), 20):
        out += pipe.feed([ln.encode() for ln in sc.lines[i : i + 20]])
    loiter = next(f for f in out if f.kind == "loitering")
    assert loiter.end - loiter.start < 400  # 5 min at level 3 instead of 20


def test_zone_override_and_allow_list() -> None:
    cfg = MaritimeConfig.from_dict(
        {
            "zones": {"berendrecht-lock": {"loitering": {"threshold_s": 7200}}},
            "allow": {"exclusion-petrochem-jetties": {"mmsi": [244000007]}},
        }
    )
    found, _ = _run(config=cfg)
    kinds = Counter(f.kind for f in found)
    assert kinds["loitering"] == 0 and kinds["zone_incursion"] == 0
    assert kinds["rendezvous"] == 1


def test_a_failing_detector_is_isolated() -> None:
    class Broken(Detector):
        kind = "broken"

        def observe(self, fixes: object, world: object) -> list[Finding]:
            raise RuntimeError("boom")

    sc = scenario()
    p = Pipeline(builtin_port_model(), start=0)
    p.detectors = {"broken": Broken(), **p.detectors}
    out: list[Finding] = []
    for i in range(0, len(sc.lines), 50):
        out += p.feed([ln.encode() for ln in sc.lines[i : i + 50]])
    out += p.finish()
    assert p.detector_errors["broken"] > 0
    assert len(out) == len(sc.expected)


def test_invalid_config_is_refused() -> None:
    from portguard.core.errors import ConfigError

    with pytest.raises(ConfigError):
        MaritimeConfig.from_dict({"detectors": {"loitering": {"treshold_s": 1}}})
    with pytest.raises(ConfigError):
        MaritimeConfig.from_dict({"zones": {"x": {"nope": {}}}})
