"""The kind vocabulary is complete, and docs/portmodel.md documents it with a working example."""

from __future__ import annotations

import json
import re
from pathlib import Path

from portguard.portmodel import ASSET_KINDS, KIND_SPECS, ZONE_KINDS, FeatureKind, parse_port_model
from portguard.portmodel.feature import RESERVED_PROPERTIES

DOC = Path(__file__).resolve().parents[2] / "docs" / "portmodel.md"


def test_every_kind_has_a_spec_and_is_a_zone_or_an_asset() -> None:
    assert set(KIND_SPECS) == set(FeatureKind)
    assert set(FeatureKind) == ZONE_KINDS | ASSET_KINDS
    assert not ZONE_KINDS & ASSET_KINDS
    required = {
        "lock", "bridge", "road", "gate", "terminal", "berth", "jetty", "dock", "anchorage",
        "fairway", "exclusion_zone", "critical_infrastructure", "port_area",
    }  # fmt: skip
    assert required <= {k.value for k in FeatureKind}


def test_the_doc_lists_every_kind_and_property() -> None:
    text = DOC.read_text(encoding="utf-8")
    for kind in FeatureKind:
        assert f"`{kind.value}`" in text, kind
    for prop in RESERVED_PROPERTIES:
        assert f"`{prop}`" in text, prop


def test_the_doc_example_is_a_valid_port_model() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "docs/portmodel.md should carry a ```json example"
    model = parse_port_model(json.loads(blocks[0]), source=str(DOC))
    assert len(model) >= 3
