"""The loader is total: whatever JSON it is given, it answers with a model or PortModelError."""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portguard.core.errors import PortModelError
from portguard.portmodel import builtin_port_model, loads_port_model, parse_port_model, validate
from portguard.portmodel.testing import box, collection, feature, point

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
numbers = st.integers(-200, 200) | st.floats(-200, 200, allow_nan=False) | st.integers()
positions = st.lists(numbers, min_size=0, max_size=4)
geometries = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Point", "LineString", "Polygon", "MultiPolygon", "Nope"]),
        "coordinates": positions
        | st.lists(positions, max_size=5)
        | st.lists(st.lists(positions, max_size=5), max_size=2),
    }
)
features = st.builds(
    lambda fid, kind, geometry, level, parent: feature(
        fid, kind, geometry, security_level=level, parent=parent
    ),
    st.sampled_from(["a", "b", "c", None, "", "x y"]),
    st.sampled_from(["lock", "gate", "road", "terminal", "dock", "nope", None]),
    geometries | st.just(point(51.3, 4.3)) | st.just(box(51.3, 4.3, 51.31, 4.31)),
    st.sampled_from([None, 1, 2, 3, 4, "1"]),
    st.sampled_from([None, "a", "b", "c", "zz"]),
)


def check(obj: Any) -> None:
    problems = validate(obj)
    try:
        model = parse_port_model(obj)
    except PortModelError:
        assert problems
    else:
        assert not problems
        assert validate(model.to_geojson()) == []


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value(obj: Any) -> None:
    check(obj)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(features, max_size=6))
def test_feature_like_collections(items: list[dict[str, Any]]) -> None:
    check(collection(*items))


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    with contextlib.suppress(PortModelError):
        loads_port_model(text)


def test_round_trip_through_json_text() -> None:
    model = builtin_port_model()
    assert loads_port_model(json.dumps(model.to_geojson())).to_geojson() == model.to_geojson()


def test_queries_from_many_threads_agree_with_one_thread() -> None:
    model = loads_port_model(json.dumps(builtin_port_model().to_geojson()))  # a fresh model
    points = [(51.22 + i * 0.0009, 4.18 + (i * 37 % 200) * 0.0013) for i in range(200)]

    def ask(p: tuple[float, float]) -> tuple[list[str], list[tuple[str, float]]]:
        zones = [f.id for f in model.zones_containing(*p)]
        near = [(n.feature.id, n.distance_m) for n in model.nearest_assets(*p, limit=5)]
        return zones, near

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(ask, points * 5))
    assert parallel == [ask(p) for p in points] * 5
