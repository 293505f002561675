"""Reading a port-model file: GeoJSON text → validated ``PortModel``, with every problem reported.

This module owns the file format's rules. Parsing does no I/O except in ``load_port_model`` and
``validate_file``. Nothing stops at the first problem: all of them are collected, each naming the
feature (its index and id) and the field, and raised together as one ``PortModelError``;
``validate``/``validate_file`` return them as a list instead (for the CLI and the console).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from portguard.core.errors import PortModelError
from portguard.portmodel.feature import RESERVED_PROPERTIES, Feature
from portguard.portmodel.geometry import parse_geometry
from portguard.portmodel.kinds import KIND_SPECS, FeatureKind
from portguard.portmodel.model import PortModel

__all__ = [
    "Problem",
    "load_port_model",
    "loads_port_model",
    "parse_port_model",
    "validate",
    "validate_file",
]

#: Feature ids: letters, digits and ``. _ : -``, starting with a letter or digit.
ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
#: At most this many problems are spelt out in an exception message (``validate`` returns all).
MAX_LISTED: Final = 50
_KIND_LIST: Final = ", ".join(k.value for k in FeatureKind)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a port-model file.

    ``where`` names the place (``features[3] (id 'kallo-lock')``, ``collection``, or
    ``file:line:col`` for JSON syntax), ``field`` the property or member at fault, ``message`` a
    sentence that starts with the field.
    """

    where: str
    field: str
    message: str
    index: int | None = None
    feature_id: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class _Problems:
    """Collects problems for one place."""

    def __init__(self, out: list[Problem], where: str, index: int | None = None) -> None:
        self.out = out
        self.where = where
        self.index = index
        self.feature_id: str | None = None

    def add(self, field: str, message: str) -> None:
        self.out.append(Problem(self.where, field, message, self.index, self.feature_id))


def _describe(value: Any) -> str:
    """A short, safe rendering of a bad value for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _optional_ref(props: dict[str, Any], key: str, p: _Problems) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        p.add(key, f"{key} must be a feature id (a string), got {_describe(value)}")
        return None
    return value


def _parse_feature(raw: Any, p: _Problems) -> Feature | None:
    """Check one feature; add its problems to ``p``; return it if it has none."""
    before = len(p.out)
    if not isinstance(raw, dict):
        p.add("", f"a feature must be a GeoJSON Feature object, not {_type_name(raw)}")
        return None
    if raw.get("type") != "Feature":
        p.add("type", f"type must be 'Feature', got {_describe(raw.get('type'))}")
    props = raw.get("properties")
    if not isinstance(props, dict):
        got = "missing" if props is None else f"{_type_name(props)}, not an object"
        p.add("properties", f"properties is {got}; it must hold at least id, name and kind")
        for field, message in parse_geometry(raw.get("geometry"))[1]:
            p.add(field, message)
        return None

    # id first, so that every later problem names the feature.
    fid: Any = props.get("id", raw.get("id"))
    if "id" in props and "id" in raw and raw["id"] != props["id"]:
        p.add("id", f"id {_describe(props['id'])} differs from the Feature's id {raw['id']!r}")
    if fid is None:
        p.add("id", "id is missing (properties.id)")
    elif not isinstance(fid, str) or not ID_RE.match(fid):
        p.add(
            "id",
            f"id {_describe(fid)} is not valid: use 1-200 letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit",
        )
    else:
        p.feature_id = fid
        p.where = f"{p.where} (id {fid!r})"

    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        missing = name is None
        p.add("name", "name is missing" if missing else f"name must be text, got {_describe(name)}")

    kind: FeatureKind | None = None
    raw_kind = props.get("kind")
    if raw_kind is None:
        p.add("kind", f"kind is missing; use one of {_KIND_LIST}")
    else:
        try:
            kind = FeatureKind(raw_kind)
        except ValueError:
            p.add("kind", f"kind {_describe(raw_kind)} is not one of {_KIND_LIST}")

    speed: float | None = None
    if props.get("speed_limit_kn") is not None:
        speed = _number(props["speed_limit_kn"])
        if speed is None or speed <= 0:
            got = _describe(props["speed_limit_kn"])
            p.add("speed_limit_kn", f"speed_limit_kn must be a number above 0 (knots), got {got}")
            speed = None

    level: int | None = None
    if props.get("security_level") is not None:
        value = props["security_level"]
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3:
            level = value
        else:
            p.add(
                "security_level",
                f"security_level must be the ISPS level 1, 2 or 3, got {_describe(value)}",
            )

    facility = _optional_ref(props, "facility", p)
    parent = _optional_ref(props, "parent", p)
    if parent is not None and parent == fid:
        p.add("parent", "parent must be another feature, not the feature itself")

    geometry, geo_problems = parse_geometry(raw.get("geometry"))
    for field, message in geo_problems:
        p.add(field, message)
    if geometry is not None and kind is not None:
        allowed = KIND_SPECS[kind].geometries
        if geometry.geom_type not in allowed:
            p.add(
                "geometry.type",
                f"geometry.type {geometry.geom_type} does not suit a {kind.value}; "
                f"use {' or '.join(sorted(allowed))}",
            )

    if len(p.out) > before or geometry is None or kind is None:
        return None
    assert isinstance(fid, str) and isinstance(name, str)
    extra = {k: v for k, v in props.items() if k not in RESERVED_PROPERTIES}
    return Feature.create(
        id=fid,
        name=name.strip(),
        kind=kind,
        geometry=geometry,
        facility=facility,
        security_level=level,
        speed_limit_kn=speed,
        parent=parent,
        properties=extra,
    )


def _check_references(raws: list[Any], problems: list[Problem], labels: list[str]) -> None:
    """Duplicate ids, and facility/parent references that lead nowhere or to the wrong thing."""
    first: dict[str, int] = {}
    props_by_id: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(raws):
        props = raw.get("properties") if isinstance(raw, dict) else None
        if not isinstance(props, dict):
            continue
        fid = props.get("id", raw.get("id"))
        if not isinstance(fid, str):
            continue
        if fid in first:
            problems.append(
                Problem(
                    labels[i],
                    "id",
                    f"id {fid!r} is already used by features[{first[fid]}]",
                    i,
                    fid,
                )
            )
        else:
            first[fid] = i
            props_by_id[fid] = props
    for i, raw in enumerate(raws):
        props = raw.get("properties") if isinstance(raw, dict) else None
        if not isinstance(props, dict):
            continue
        fid = props.get("id", raw.get("id"))
        fid = fid if isinstance(fid, str) else None
        for key in ("facility", "parent"):
            ref = props.get(key)
            if not isinstance(ref, str) or ref == fid:
                continue
            if ref not in props_by_id:
                message = f"{key} {ref!r} is not the id of any feature in the file"
            elif key == "facility" and props_by_id[ref].get("security_level") is None:
                message = f"facility {ref!r} is not a facility: it has no security_level"
            else:
                continue
            problems.append(Problem(labels[i], key, message, i, fid))
    _check_cycles(raws, problems, labels)


def _check_cycles(raws: list[Any], problems: list[Problem], labels: list[str]) -> None:
    parent_of: dict[str, str] = {}
    index_of: dict[str, int] = {}
    for i, raw in enumerate(raws):
        props = raw.get("properties") if isinstance(raw, dict) else None
        if isinstance(props, dict):
            fid, ref = props.get("id", raw.get("id")), props.get("parent")
            if isinstance(fid, str) and isinstance(ref, str) and fid not in index_of:
                parent_of[fid] = ref
                index_of[fid] = i
    reported: set[str] = set()
    for start in parent_of:
        seen = [start]
        node = parent_of[start]
        while node in parent_of and node not in seen:
            seen.append(node)
            node = parent_of[node]
        if node == start and len(seen) > 1 and start not in reported:
            reported.update(seen)
            cycle = " -> ".join([*seen, start])
            i = index_of[start]
            message = f"parent forms a cycle: {cycle}"
            problems.append(Problem(labels[i], "parent", message, i, start))


def _collect(obj: Any) -> tuple[list[Feature], list[Problem], str]:
    problems: list[Problem] = []
    top = _Problems(problems, "collection")
    if not isinstance(obj, dict):
        got = _type_name(obj)
        top.add("", f"a port model must be a GeoJSON FeatureCollection object, not {got}")
        return [], problems, ""
    if obj.get("type") != "FeatureCollection":
        top.add("type", f"type must be 'FeatureCollection', got {_describe(obj.get('type'))}")
    name = obj.get("name", "")
    if not isinstance(name, str):
        top.add("name", f"name must be text, got {_describe(name)}")
        name = ""
    raws = obj.get("features")
    if not isinstance(raws, list):
        got = "missing" if raws is None else f"{_type_name(raws)}, not an array"
        top.add("features", f"features is {got}")
        return [], problems, name
    features: list[Feature] = []
    labels: list[str] = []
    for i, raw in enumerate(raws):
        p = _Problems(problems, f"features[{i}]", i)
        feature = _parse_feature(raw, p)
        labels.append(p.where)
        if feature is not None:
            features.append(feature)
    _check_references(raws, problems, labels)
    # Per feature, in file order; a feature's own problems before its references'.
    problems.sort(key=lambda problem: -1 if problem.index is None else problem.index)
    return features, problems, name


def validate(obj: Any) -> list[Problem]:
    """Every problem with a parsed GeoJSON object as a port model; empty when it is fine."""
    return _collect(obj)[1]


def _error(problems: list[Problem], source: str) -> PortModelError:
    n = len(problems)
    lines = [f"  {p}" for p in problems[:MAX_LISTED]]
    if n > MAX_LISTED:
        lines.append(f"  ... and {n - MAX_LISTED} more (run `validate` to see all)")
    heading = "1 problem in the port model" if n == 1 else f"{n} problems in the port model"
    return PortModelError("\n".join([f"{heading}:", *lines]), location=source)


def parse_port_model(obj: Any, *, source: str = "<memory>") -> PortModel:
    """A port model from a parsed GeoJSON FeatureCollection; ``PortModelError`` lists problems."""
    features, problems, name = _collect(obj)
    if problems:
        raise _error(problems, source)
    return PortModel(features, name=name, source=source)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _decode(text: str | bytes, source: str) -> tuple[Any, Problem | None]:
    try:
        body = text.decode("utf-8-sig") if isinstance(text, bytes) else text.removeprefix("\ufeff")
        return json.loads(body, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        where = f"{source}:{exc.lineno}:{exc.colno}"
        message = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return None, Problem(where, "", message)
    except UnicodeDecodeError as exc:
        return None, Problem(source, "", f"not UTF-8 text: byte {exc.start} cannot be decoded")
    except (ValueError, RecursionError) as exc:
        return None, Problem(source, "", f"not valid JSON: {exc}")


def loads_port_model(text: str | bytes, *, source: str = "<string>") -> PortModel:
    """A port model from GeoJSON text; bad JSON raises ``PortModelError`` at ``source:line:col``."""
    obj, problem = _decode(text, source)
    if problem is not None:
        raise PortModelError(problem.message, location=problem.where)
    return parse_port_model(obj, source=source)


def _read(path: str | os.PathLike[str]) -> tuple[bytes | None, Problem | None]:
    try:
        return Path(path).read_bytes(), None
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        return None, Problem(str(path), "", f"cannot read the port-model file: {reason}")


def load_port_model(path: str | os.PathLike[str]) -> PortModel:
    """A port model from a GeoJSON file; every problem is raised in one ``PortModelError``."""
    data, problem = _read(path)
    if problem is not None or data is None:
        assert problem is not None
        raise PortModelError(problem.message, location=problem.where)
    return loads_port_model(data, source=str(path))


def validate_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem with a port-model file (unreadable, bad JSON, or bad content); never raises."""
    data, problem = _read(path)
    if problem is None and data is not None:
        obj, problem = _decode(data, str(path))
        if problem is None:
            return validate(obj)
    assert problem is not None
    return [problem]
