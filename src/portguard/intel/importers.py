"""Parsers for what members share: STIX 2.1 bundles (or TAXII envelopes), plain lists of
observables (one a line), and MISP event JSON. Pure: text in, STIX objects and per-record
errors out; storing is ``service``'s job.

A bad record never stops the others: each becomes a ``RecordError`` with its position
(``objects[12]``, ``line 40``, ``Event.Attribute[3]``).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portguard.core.errors import ValidationError
from portguard.core.types import TLP
from portguard.intel.matching import normalise_domain, normalise_url, quote
from portguard.intel.tlp import marking_id

__all__ = [
    "Parsed",
    "RecordError",
    "detect_kind",
    "indicator_for",
    "parse_any",
    "parse_bundle",
    "parse_misp_event",
    "parse_plain_list",
    "stix_timestamp",
    "validate_object",
]

#: Namespace of the deterministic ids of indicators the hub makes from plain observables.
NAMESPACE = uuid.UUID("2b1f3f2e-7a43-4a5c-9a53-5d0a6c1b9e11")
MAX_OBJECTS = 1_000_000

_ID_RE = re.compile(
    r"^[a-z][a-z0-9-]{0,249}--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_HASH_RE = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$")
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}$"
)
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")
_IPISH = re.compile(r"^[0-9a-f:.]+(?:/\d{1,3})?$")
_HASH_NAMES = {32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"}


@dataclass(frozen=True)
class RecordError:
    position: str
    message: str
    id: str | None = None

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


@dataclass
class Parsed:
    """STIX objects with their positions, and the records that could not be used."""

    objects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    #: TLP the source declared for all its records (MISP event tags), if any.
    tlp: TLP | None = None
    #: The objects were made here from plain values (lists, MISP): valid by construction, and
    #: a re-import with fresh timestamps is the same content.
    generated: bool = False


def stix_timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def detect_kind(value: str) -> str | None:
    """domain, ip, url, hash or email for a bare observable; None if it is none of them."""
    v = value.strip()
    if not v:
        return None
    if "://" in v:
        return "url"
    low = v.lower()
    if _IPISH.match(low):
        try:
            ipaddress.ip_network(v, strict=False)
            return "ip"
        except ValueError:
            pass
    if _HASH_RE.match(low):
        return "hash"
    if "@" in v:
        return "email" if _EMAIL_RE.match(low) else None
    if "/" in v:
        return "url"
    return "domain" if _DOMAIN_RE.match(normalise_domain(v)) else None


def _pattern(kind: str, value: str) -> tuple[str, str]:
    """(pattern, normalised value) for an observable."""
    if kind == "domain":
        v = normalise_domain(value)
        if not _DOMAIN_RE.match(v):
            raise ValueError(f"not a domain name: {value!r}")
        return f"[domain-name:value = {quote(v)}]", v
    if kind == "url":
        v = normalise_url(value)
        return f"[url:value = {quote(v)}]", v
    if kind == "ip":
        net = ipaddress.ip_network(value.strip(), strict=False)
        typ = "ipv4-addr" if net.version == 4 else "ipv6-addr"
        v = str(net.network_address) if net.num_addresses == 1 else str(net)
        return f"[{typ}:value = {quote(v)}]", v
    if kind == "hash":
        v = value.strip().lower()
        if not _HASH_RE.match(v):
            raise ValueError(f"not an MD5/SHA-1/SHA-256/SHA-512 digest: {value!r}")
        return f"[file:hashes.{quote(_HASH_NAMES[len(v)])} = {quote(v)}]", v
    if kind == "email":
        v = value.strip().lower()
        if not _EMAIL_RE.match(v):
            raise ValueError(f"not an e-mail address: {value!r}")
        return f"[email-addr:value = {quote(v)}]", v
    raise ValueError(f"unknown observable kind {kind!r}")


def indicator_for(
    kind: str,
    value: str,
    *,
    now: datetime,
    owner_identity: str | None = None,
    tlp: TLP | None = None,
    name: str | None = None,
    valid_until: datetime | None = None,
    labels: Iterable[str] = (),
) -> dict[str, Any]:
    """A STIX 2.1 indicator for one observable. Its id is derived from (kind, value, owner),
    so importing the same list twice names the same indicators."""
    pattern, norm = _pattern(kind, value)
    stamp = stix_timestamp(now)
    seed = f"{owner_identity or ''}|{kind}|{norm}"
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(NAMESPACE, seed)}",
        "created": stamp,
        "modified": stamp,
        "name": name or f"{kind} {norm}",
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": stamp,
    }
    if valid_until is not None:
        obj["valid_until"] = stix_timestamp(valid_until)
    if owner_identity:
        obj["created_by_ref"] = owner_identity
    if labels:
        obj["labels"] = sorted(set(labels))
    if tlp is not None:
        obj["object_marking_refs"] = [marking_id(tlp)]
    return obj


def validate_object(obj: Any) -> str | None:
    """Why ``obj`` is not a valid STIX 2.1 object (None when it is): stix2 checks the
    properties; for indicators that includes the STIX pattern grammar (stix2-patterns)."""
    import stix2  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from stix2.exceptions import STIXError  # type: ignore[import-not-found,import-untyped,unused-ignore]

    if not isinstance(obj, dict):
        return "not a JSON object"
    typ, oid = obj.get("type"), obj.get("id")
    if not isinstance(typ, str) or not isinstance(oid, str):
        return "an object needs a 'type' and an 'id'"
    if not _ID_RE.match(oid) or not oid.startswith(typ + "--"):
        return f"id {oid!r} is not '{typ}--<UUID>'"
    if typ == "bundle":
        return "bundles cannot be nested"
    if obj.get("spec_version", "2.1") != "2.1":
        return f"spec_version {obj.get('spec_version')!r} is not supported (only 2.1)"
    try:
        stix2.parse(obj, allow_custom=True, version="2.1")
    except (STIXError, ValueError, TypeError, KeyError) as exc:
        return f"invalid STIX: {exc}"
    return None


def parse_bundle(data: Any, *, source: str = "bundle") -> Parsed:
    """Objects of a STIX bundle, a TAXII envelope, a list of objects or one object (not yet
    validated: ``service`` validates each and reports the bad ones)."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValidationError(f"not JSON: {exc}", location=source) from None
    if (isinstance(data, dict) and data.get("type") == "bundle") or (
        isinstance(data, dict) and "objects" in data and "type" not in data
    ):
        items = data.get("objects")
        if not isinstance(items, list):
            raise ValidationError("'objects' must be a list", location=source)
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and "type" in data:
        items = [data]
    else:
        raise ValidationError("not a STIX bundle, envelope or object", location=source)
    if len(items) > MAX_OBJECTS:
        raise ValidationError(f"{len(items)} objects: more than {MAX_OBJECTS}", location=source)
    out = Parsed()
    for i, obj in enumerate(items):
        out.objects.append((f"objects[{i}]", obj))
    return out


def parse_plain_list(
    text: str,
    *,
    now: datetime,
    owner_identity: str | None = None,
    kind: str | None = None,
    tlp: TLP | None = None,
    label: str | None = None,
) -> Parsed:
    """One observable a line (``#`` comments, blank lines and hosts-file ``0.0.0.0 name``
    lines allowed); the kind is detected per line unless given."""
    out = Parsed(generated=True)
    seen: set[str] = set()
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("0.0.0.0", "127.0.0.1", "::"):  # noqa: S104
            line = parts[1]
        elif len(parts) != 1:
            out.errors.append(RecordError(f"line {n}", f"expected one value, got {line[:80]!r}"))
            continue
        k = kind or detect_kind(line)
        if k is None:
            out.errors.append(
                RecordError(f"line {n}", f"not a domain, IP, URL, hash or e-mail: {line[:200]!r}")
            )
            continue
        try:
            obj = indicator_for(
                k,
                line,
                now=now,
                owner_identity=owner_identity,
                tlp=tlp,
                labels=[label] if label else (),
            )
        except ValueError as exc:
            out.errors.append(RecordError(f"line {n}", str(exc)))
            continue
        if obj["id"] in seen:
            continue
        seen.add(obj["id"])
        out.objects.append((f"line {n}", obj))
    return out


_MISP_KINDS = {
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "uri": "url",
    "link": "url",
    "ip-src": "ip",
    "ip-dst": "ip",
    "md5": "hash",
    "sha1": "hash",
    "sha256": "hash",
    "sha512": "hash",
    "email-src": "email",
    "email-dst": "email",
    "email": "email",
}


def parse_misp_event(
    data: Any,
    *,
    now: datetime,
    owner_identity: str | None = None,
    source: str = "event",
    tlp: TLP | None = None,
) -> Parsed:
    """Indicators from the ``to_ids`` attributes of a MISP event (top level and inside MISP
    objects); the event's ``tlp:`` tag becomes the TLP; other attribute types are skipped."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValidationError(f"not JSON: {exc}", location=source) from None
    event = data.get("Event", data) if isinstance(data, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("Attribute", []), list):
        raise ValidationError("not a MISP event (no 'Event' object)", location=source)
    out = Parsed(generated=True)
    for tag in event.get("Tag") or []:
        name = str(tag.get("name", "")) if isinstance(tag, dict) else ""
        if name.lower().startswith("tlp:"):
            try:
                out.tlp = TLP.parse(name)
            except ValueError:
                out.errors.append(RecordError("Event.Tag", f"unknown TLP tag {name!r}"))
    out.tlp = out.tlp or tlp
    info = str(event.get("info") or "MISP event")[:200]
    attrs: list[tuple[str, Any]] = [
        (f"Event.Attribute[{i}]", a) for i, a in enumerate(event.get("Attribute") or [])
    ]
    for j, mobj in enumerate(event.get("Object") or []):
        if isinstance(mobj, dict):
            attrs += [
                (f"Event.Object[{j}].Attribute[{i}]", a)
                for i, a in enumerate(mobj.get("Attribute") or [])
            ]
    for pos, attr in attrs:
        if not isinstance(attr, dict) or "type" not in attr or "value" not in attr:
            out.errors.append(RecordError(pos, "an attribute needs 'type' and 'value'"))
            continue
        if attr.get("to_ids") in (False, 0, "0"):
            continue
        mtype, value = str(attr["type"]), str(attr["value"])
        if "|" in mtype:  # domain|ip, filename|sha256, ip-dst|port: take the useful half
            left, _, right = mtype.partition("|")
            lv, _, rv = value.partition("|")
            mtype, value = (right, rv) if right in _MISP_KINDS else (left, lv)
        kind = _MISP_KINDS.get(mtype)
        if kind is None:
            continue
        try:
            obj = indicator_for(
                kind,
                value,
                now=now,
                owner_identity=owner_identity,
                tlp=out.tlp,
                name=f"{info}: {value}"[:300],
            )
        except ValueError as exc:
            out.errors.append(RecordError(pos, str(exc)))
            continue
        out.objects.append((pos, obj))
    return out


def parse_any(
    text: str,
    *,
    now: datetime,
    owner_identity: str | None = None,
    source: str = "input",
    tlp: TLP | None = None,
) -> Parsed:
    """Guess the format: JSON with ``Event`` is MISP, other JSON is STIX, else a plain list."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"not JSON: {exc}", location=source) from None
        if isinstance(data, dict) and "Event" in data:
            return parse_misp_event(
                data, now=now, owner_identity=owner_identity, source=source, tlp=tlp
            )
        return parse_bundle(data, source=source)
    return parse_plain_list(text, now=now, owner_identity=owner_identity, tlp=tlp)
