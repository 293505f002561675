"""Blocklists from the indicators a viewer may read: plain values, DNS RPZ, a firewall set
(nftables), a mail-gateway access map (Postfix), or a STIX bundle. Indicators on a
warninglist, revoked or outside their validity are never exported (the STIX bundle keeps
everything readable: it is for sharing, not blocking)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from portguard.core.errors import ValidationError
from portguard.intel import service
from portguard.intel.index import _epoch
from portguard.intel.matching import compile_pattern
from portguard.intel.tlp import Viewer
from portguard.intel.warninglists import Warninglists

__all__ = ["FORMATS", "blocklist", "readable_objects"]

FORMATS = ("plain", "rpz", "nft", "postfix", "stix")


def readable_objects(
    session: Session, viewer: Viewer, *, types: list[str] | None = None
) -> Iterator[Any]:
    """Every latest version the viewer may read, in every collection."""
    from sqlalchemy import select

    from portguard.intel.models import Community

    colls = list(session.execute(select(Community.collection_id)).scalars())
    after = 0
    while True:
        page = service.page_objects(
            session=session,
            viewer=viewer,
            collection_ids=colls,
            limit=10_000,
            after_seq=after,
            types=types or (),
        )
        yield from page.rows
        if not page.more:
            return
        after = page.last_seq


def _entries(session: Session, viewer: Viewer, warninglists: Warninglists) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {
        "domain": set(),
        "ip": set(),
        "cidr": set(),
        "url": set(),
        "email": set(),
        "hash": set(),
    }
    now = time.time()
    for row in readable_objects(session, viewer, types=["indicator"]):
        obj = json.loads(row.body)
        if obj.get("revoked"):
            continue
        vu = _epoch(obj.get("valid_until"))
        if vu is not None and vu <= now:
            continue
        for term in compile_pattern(str(obj.get("pattern", ""))) or ():
            if term.kind not in out:
                continue
            kind = "ip" if term.kind == "cidr" else term.kind
            if warninglists.check(kind, term.value):
                continue
            out[term.kind].add(term.value)
    return out


def blocklist(session: Session, viewer: Viewer, warninglists: Warninglists, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "stix":
        objs = [json.loads(r.body) for r in readable_objects(session, viewer)]
        bundle: dict[str, Any] = {
            "type": "bundle",
            "id": f"bundle--{uuid.uuid4()}",
            "objects": objs,
        }
        return json.dumps(bundle, indent=1)
    e = _entries(session, viewer, warninglists)
    lines: list[str] = []
    if fmt == "plain":
        for kind in ("domain", "ip", "cidr", "url", "email", "hash"):
            lines += sorted(e[kind])
    elif fmt == "rpz":
        lines += [
            "$TTL 300",
            "@ SOA localhost. root.localhost. 1 3600 600 86400 300",
            "@ NS localhost.",
            "; PortGuard ISAC hub: NXDOMAIN for shared phishing and malware domains",
        ]
        for d in sorted(e["domain"]):
            lines += [f"{d} CNAME .", f"*.{d} CNAME ."]
    elif fmt == "nft":
        v4 = sorted(x for x in e["ip"] | e["cidr"] if ":" not in x)
        v6 = sorted(x for x in e["ip"] | e["cidr"] if ":" in x)
        lines.append("# nft -f this file: PortGuard ISAC hub blocklist")
        lines.append("table inet portguard {")
        lines.append(
            "  set block4 { type ipv4_addr; flags interval;"
            + (f" elements = {{ {', '.join(v4)} }}" if v4 else "")
            + " }"
        )
        lines.append(
            "  set block6 { type ipv6_addr; flags interval;"
            + (f" elements = {{ {', '.join(v6)} }}" if v6 else "")
            + " }"
        )
        lines.append("}")
    elif fmt == "postfix":
        lines.append("# Postfix check_sender_access / check_recipient_access map (postmap it)")
        lines += [f"{d} REJECT listed by the port community ISAC" for d in sorted(e["domain"])]
        lines += [f"{m} REJECT listed by the port community ISAC" for m in sorted(e["email"])]
    return "\n".join(lines) + "\n"
