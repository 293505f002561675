"""Reading port-model files: valid files load; every kind of bad file is reported, all at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from portguard.core.errors import PortModelError, ValidationError
from portguard.portmodel import (
    FeatureKind,
    Problem,
    load_port_model,
    loads_port_model,
    parse_port_model,
    validate,
    validate_file,
)
from portguard.portmodel.testing import box, collection, feature, line, point, polygon

LOCK = box(51.300, 4.300, 51.302, 4.306)


def problems_of(*features: dict[str, Any]) -> list[str]:
    return [str(p) for p in validate(collection(*features))]


def error_of(obj: Any, source: str = "test.geojson") -> str:
    with pytest.raises(PortModelError) as info:
        parse_port_model(obj, source=source)
    return str(info.value)


# --- good files ----------------------------------------------------------------------------------


def test_a_valid_file_loads_with_typed_features(tmp_path: Path) -> None:
    path = tmp_path / "port.geojson"
    path.write_text(
        json.dumps(
            collection(
                feature("lock-a", "lock", LOCK, name="Lock A", chamber_width_m=68),
                feature(
                    "bridge-a",
                    "bridge",
                    line((51.2995, 4.3055), (51.3025, 4.3055)),
                    parent="lock-a",
                ),
                feature("t", "terminal", box(51.31, 4.31, 51.315, 4.32), security_level=2),
                feature("gate", "gate", point(51.3101, 4.315), facility="t"),
                feature("fw", "fairway", box(51.29, 4.28, 51.295, 4.33), speed_limit_kn=8.5),
                name="My port",
            )
        ),
        encoding="utf-8",
    )
    model = load_port_model(path)
    assert model.name == "My port" and model.source == str(path) and len(model) == 5
    lock = model.feature("lock-a")
    assert lock.kind is FeatureKind.LOCK and lock.name == "Lock A"
    assert lock.geometry.geom_type == "Polygon"
    assert lock.properties == {"chamber_width_m": 68}
    assert model.feature("bridge-a").parent == "lock-a"
    assert model.feature("t").security_level == 2 and model.feature("t").is_facility
    assert model.feature("gate").facility == "t"
    assert model.feature("fw").speed_limit_kn == 8.5
    assert validate_file(path) == []


def test_unknown_properties_are_kept_as_they_are() -> None:
    extra = {"operator": "DP World", "tags": ["a", "b"], "ot": {"plc": "S7-1500", "vlan": 42}}
    model = parse_port_model(collection(feature("t", "terminal", LOCK, security_level=1, **extra)))
    t = model.feature("t")
    assert dict(t.properties) == extra
    # ...and written back out unchanged, next to the modelled ones.
    out = model.to_geojson()["features"][0]["properties"]
    assert out == {"id": "t", "name": "t", "kind": "terminal", "security_level": 1, **extra}


def test_every_geometry_type_is_read() -> None:
    multi = {
        "type": "MultiPolygon",
        "coordinates": [
            box(51.30, 4.30, 51.31, 4.31)["coordinates"],
            box(51.32, 4.30, 51.33, 4.31)["coordinates"],
        ],
    }
    model = parse_port_model(
        collection(
            feature("p", "gate", point(51.3, 4.3)),
            feature("l", "road", line((51.3, 4.3), (51.31, 4.31))),
            feature("a", "dock", LOCK),
            feature("m", "anchorage", multi),
        )
    )
    assert [f.geometry_type for f in model] == ["Point", "LineString", "Polygon", "MultiPolygon"]
    assert [f.id for f in model.zones_containing(51.325, 4.305)] == ["m"]


def test_polygon_with_a_hole() -> None:
    outer = box(51.30, 4.30, 51.31, 4.31)["coordinates"][0]
    hole = box(51.303, 4.303, 51.306, 4.306)["coordinates"][0][::-1]
    model = parse_port_model(
        collection(
            feature("z", "exclusion_zone", {"type": "Polygon", "coordinates": [outer, hole]})
        )
    )
    assert [f.id for f in model.zones_containing(51.301, 4.301)] == ["z"]
    assert model.zones_containing(51.304, 4.304) == []


def test_feature_level_id_and_altitude_are_accepted() -> None:
    raw = {
        "type": "Feature",
        "id": "g1",
        "geometry": {"type": "Point", "coordinates": [4.3, 51.3, 12.5]},
        "properties": {"name": "Gate 1", "kind": "gate"},
    }
    g = parse_port_model(collection(raw)).feature("g1")
    assert (g.lon, g.lat) == (4.3, 51.3)
    assert not g.geometry.has_z


def test_utf8_bom_and_bytes_are_fine() -> None:
    text = json.dumps(collection(feature("g", "gate", point(51.3, 4.3), name="Poort Zuid")))
    assert len(loads_port_model("\ufeff" + text)) == 1
    assert len(loads_port_model(("\ufeff" + text).encode("utf-8"))) == 1


# --- bad JSON ------------------------------------------------------------------------------------


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text('{\n  "type": "FeatureCollection",\n  "features": [,]\n}\n', encoding="utf-8")
    with pytest.raises(PortModelError) as info:
        load_port_model(path)
    err = info.value
    assert isinstance(err, ValidationError)
    assert err.location == f"{path}:3:16"
    assert "not valid JSON" in err.message and "line 3, column 16" in err.message
    assert str(err).startswith(f"{path}:3:16: not valid JSON")
    (problem,) = validate_file(path)
    assert problem.where == f"{path}:3:16"


def test_nan_is_not_json() -> None:
    text = '{"type": "FeatureCollection", "features": [], "x": NaN}'
    with pytest.raises(PortModelError, match="NaN is not allowed"):
        loads_port_model(text)


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.geojson"
    with pytest.raises(PortModelError, match="cannot read the port-model file"):
        load_port_model(missing)
    (problem,) = validate_file(missing)
    assert problem.where == str(missing)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.geojson"
    path.write_bytes(b'{"name": "Poort \xe9"}')
    (problem,) = validate_file(path)
    assert "not UTF-8" in problem.message


# --- bad content: each names the feature and the field -------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ([], "collection: a port model must be a GeoJSON FeatureCollection object, not an array"),
        ({"type": "Feature", "features": []}, "collection: type must be 'FeatureCollection'"),
        ({"type": "FeatureCollection"}, "collection: features is missing"),
        ({"type": "FeatureCollection", "features": {}}, "features is an object, not an array"),
    ],
)
def test_bad_collection(obj: Any, expected: str) -> None:
    assert expected in error_of(obj)


def test_missing_id() -> None:
    (p,) = validate(collection(feature("a", "lock", LOCK), feature(None, "gate", point(51.3, 4.3))))
    assert str(p) == "features[1]: id is missing (properties.id)"
    assert (p.index, p.feature_id, p.field) == (1, None, "id")


def test_bad_id() -> None:
    (message,) = problems_of(feature("has space", "gate", point(51.3, 4.3)))
    assert message.startswith("features[0]: id 'has space' is not valid")


def test_duplicate_id() -> None:
    (p,) = validate(collection(feature("a", "lock", LOCK), feature("a", "gate", point(51.3, 4.3))))
    assert str(p) == "features[1] (id 'a'): id 'a' is already used by features[0]"
    assert (p.index, p.feature_id, p.field) == (1, "a", "id")


def test_unknown_kind() -> None:
    (p,) = validate(
        collection(
            feature("a", "lock", LOCK),
            feature("b", "lock", LOCK),
            feature("c", "lock", LOCK),
            feature("kallo-lock", "lockk", LOCK),
        )
    )
    assert str(p).startswith(
        "features[3] (id 'kallo-lock'): kind 'lockk' is not one of lock, bridge, road, gate, "
    )
    assert p.field == "kind"


def test_missing_name_and_kind() -> None:
    raw = {"type": "Feature", "geometry": point(51.3, 4.3), "properties": {"id": "x"}}
    assert [p.field for p in validate(collection(raw))] == ["name", "kind"]


@pytest.mark.parametrize(
    ("geometry", "field", "text"),
    [
        (None, "geometry", "geometry is missing"),
        ([4.3, 51.3], "geometry", "must be a GeoJSON geometry object"),
        ({"type": "MultiLineString", "coordinates": []}, "geometry.type", "is not supported"),
        ({"type": "Point"}, "geometry.coordinates", "geometry.coordinates is missing"),
        ({"type": "Point", "coordinates": [4.3]}, "geometry.coordinates", "must be a position"),
        ({"type": "Point", "coordinates": [4.3, "51"]}, "geometry.coordinates", "numbers"),
        ({"type": "Point", "coordinates": [4.3, True]}, "geometry.coordinates", "numbers"),
        ({"type": "Point", "coordinates": [200, 51.3]}, "geometry.coordinates", "longitude 200"),
        ({"type": "Point", "coordinates": [4.3, 1e999]}, "geometry.coordinates", "finite"),
        ({"type": "Point", "coordinates": [10**400, 51.3]}, "geometry.coordinates", "finite"),
        (
            {"type": "LineString", "coordinates": [[4.3, 51.3]]},
            "geometry.coordinates",
            "needs at least 2 positions",
        ),
        (
            {"type": "LineString", "coordinates": [[4.3, 51.3], [4.3, 51.3]]},
            "geometry",
            "not a valid LineString",
        ),
        (
            {"type": "Polygon", "coordinates": [[[4.3, 51.3], [4.31, 51.3], [4.31, 51.31]]]},
            "geometry.coordinates[0]",
            "needs at least 4 positions",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[4.3, 51.3], [4.31, 51.3], [4.31, 51.31], [4.3, 51.32]]],
            },
            "geometry.coordinates[0]",
            "is not closed",
        ),
        (
            polygon((51.30, 4.30), (51.31, 4.31), (51.31, 4.30), (51.30, 4.31)),
            "geometry",
            "not a valid Polygon: Self-intersection",
        ),
        ({"type": "Polygon", "coordinates": []}, "geometry.coordinates", "non-empty array"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "geometry.coordinates[0]", "non-empty"),
    ],
)
def test_bad_geometry(geometry: Any, field: str, text: str) -> None:
    (p,) = validate(collection(feature("kallo-lock", "lock", geometry)))
    assert p.where == "features[0] (id 'kallo-lock')"
    assert p.field == field
    assert text in p.message


def test_bad_position_is_named_by_its_path_and_lat_lon_swap_is_hinted() -> None:
    geometry = {"type": "LineString", "coordinates": [[4.3, 51.3], [51.3, 94.3]]}
    (p,) = validate(collection(feature("r", "road", geometry)))
    assert p.field == "geometry.coordinates[1]"
    assert "latitude 94.3 outside -90..90" in p.message
    assert "GeoJSON order is [longitude, latitude]" in p.message


def test_many_bad_positions_are_summarised() -> None:
    geometry = {"type": "LineString", "coordinates": [[4.3, 99 + i] for i in range(10)]}
    problems = validate(collection(feature("r", "road", geometry)))
    assert len(problems) == 4
    assert problems[-1].message == "... and 7 more bad positions"


def test_geometry_must_suit_the_kind() -> None:
    (p,) = validate(
        collection(
            feature("g", "gate", LOCK),
        )
    )
    assert str(p) == "features[0] (id 'g'): geometry.type Polygon does not suit a gate; use Point"
    (p,) = validate(collection(feature("l", "lock", point(51.3, 4.3))))
    assert "use MultiPolygon or Polygon" in p.message


@pytest.mark.parametrize("level", [0, 4, "2", 2.0, True, -1])
def test_bad_security_level(level: Any) -> None:
    (p,) = validate(collection(feature("t", "terminal", LOCK, security_level=level)))
    assert p.where == "features[0] (id 't')"
    assert p.field == "security_level"
    assert p.message.startswith("security_level must be the ISPS level 1, 2 or 3, got ")


@pytest.mark.parametrize("speed", [0, -5, "10", True, 10**400, float("inf")])
def test_bad_speed_limit(speed: Any) -> None:
    (p,) = validate(collection(feature("f", "fairway", LOCK, speed_limit_kn=speed)))
    assert p.field == "speed_limit_kn" and "above 0" in p.message


def test_references() -> None:
    problems = problems_of(
        feature("lock", "lock", LOCK),
        feature("t", "terminal", LOCK, security_level=1),
        feature("g1", "gate", point(51.3, 4.3), facility="nowhere"),
        feature("g2", "gate", point(51.3, 4.3), facility="lock"),
        feature("b1", "bridge", point(51.3, 4.3), parent="nowhere"),
        feature("b2", "bridge", point(51.3, 4.3), parent="b2"),
        feature("b3", "bridge", point(51.3, 4.3), parent=7),
        feature("g3", "gate", point(51.3, 4.3), facility="t", parent="lock"),
    )
    assert problems == [
        "features[2] (id 'g1'): facility 'nowhere' is not the id of any feature in the file",
        "features[3] (id 'g2'): facility 'lock' is not a facility: it has no security_level",
        "features[4] (id 'b1'): parent 'nowhere' is not the id of any feature in the file",
        "features[5] (id 'b2'): parent must be another feature, not the feature itself",
        "features[6] (id 'b3'): parent must be a feature id (a string), got 7",
    ]


def test_parent_cycle() -> None:
    problems = problems_of(
        feature("a", "bridge", point(51.3, 4.3), parent="b"),
        feature("b", "bridge", point(51.3, 4.3), parent="c"),
        feature("c", "bridge", point(51.3, 4.3), parent="a"),
    )
    assert problems == ["features[0] (id 'a'): parent forms a cycle: a -> b -> c -> a"]


def test_all_problems_are_reported_together_in_file_order() -> None:
    message = error_of(
        collection(
            feature("ok", "lock", LOCK),
            feature(None, "gate", point(51.3, 4.3)),
            feature("ok", "gate", point(51.3, 4.3)),
            feature("kallo-lock", "lockk", LOCK),
            feature("t", "terminal", LOCK, security_level=4),
            feature("bad-geo", "gate", {"type": "Point", "coordinates": [4.3, 95]}),
            [1, 2],
            {"type": "Feature", "geometry": None, "properties": None},
        ),
        source="ports/antwerp.geojson",
    )
    lines = message.splitlines()
    assert lines[0] == "ports/antwerp.geojson: 8 problems in the port model:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "features[1]",
        "features[2] (id 'ok')",
        "features[3] (id 'kallo-lock')",
        "features[4] (id 't')",
        "features[5] (id 'bad-geo')",
        "features[6]",
        "features[7]",
        "features[7]",
    ]
    assert "features[7]: properties is missing" in message
    assert "features[7]: geometry is missing" in message


def test_a_long_list_of_problems_is_cut_in_the_message_but_not_in_validate() -> None:
    obj = collection(*[feature(f"g{i}", "gat", point(51.3, 4.3)) for i in range(60)])
    assert len(validate(obj)) == 60
    message = error_of(obj)
    assert "60 problems" in message
    assert message.splitlines()[-1].strip() == "... and 10 more (run `validate` to see all)"


def test_one_problem_reads_singular() -> None:
    assert "test.geojson: 1 problem in the port model:" in error_of(
        collection(feature("g", "gat", point(51.3, 4.3)))
    )


def test_problem_is_a_value() -> None:
    p = Problem("features[0] (id 'a')", "kind", "kind 'x' is not one of ...", 0, "a")
    assert str(p) == "features[0] (id 'a'): kind 'x' is not one of ..."
