"""ISAC hub benchmarks, one run, side by side.

1. TAXII paging: objects/s fetched with the OASIS taxii2-client from PortGuard (a separate
   uvicorn process on loopback, SQLite) and from OASIS medallion (memory backend, started on
   loopback here), the same 1,000 indicators; then PortGuard alone at 100,000.
2. Matching: observables/s through the indicator index with the 190k phishing domains and
   the 20k malware IPs loaded (+1,000 CIDRs): exact and parent-domain lookups, URLs, IPs, CIDRs.
3. Import: the ATT&CK for ICS bundle and the 190k-domain list, seconds end to end (parse,
   validate, store, index).

Needs ../shared/data/intel (skips with a message when absent).

    .venv/bin/python bench/intel.py [--big 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from rich.table import Table

from portguard.core.clock import SystemClock
from portguard.core.db import Base, Database
from portguard.core.types import TLP
from portguard.intel.hub import IntelHub
from portguard.intel.importers import parse_bundle, parse_plain_list

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "intel"
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, proc: subprocess.Popen[bytes], **kw: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.returncode}")
        try:
            requests.get(url, timeout=1, **kw)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def indicators(n: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=i + 1, version=4)}",
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "name": f"phishing domain {i}",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[domain-name:value = 'phish{i}.example']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
            "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
        }
        for i in range(n)
    ]


def hub_at(data: Path) -> IntelHub:
    db = Database(f"sqlite:///{data / 'portguard.db'}")
    Base.metadata.create_all(db.engine)
    hub = IntelHub(db=db, bus=None, clock=SystemClock(), organisation="port-of-antwerp-bruges")
    hub.start()
    return hub


def serve(data: Path, port: int) -> None:
    """The server process: the TAXII router over the data dir's database."""
    import uvicorn

    from portguard.api import create_api
    from portguard.core.bus import EmbeddedBus
    from portguard.core.http import AppContext
    from portguard.core.metrics import Metrics
    from portguard.core.settings import Settings
    from portguard.intel.taxii import router

    hub = hub_at(data)
    ctx = AppContext(
        settings=Settings.load(data_dir=data),
        db=hub.db,
        bus=EmbeddedBus(data / "bus.db"),
        clock=SystemClock(),
        metrics=Metrics(),
        extras={"intel": hub},
    )
    uvicorn.run(create_api(ctx, [router]), host="127.0.0.1", port=port, log_level="warning")


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def fetch_all(coll: Any, per_request: int) -> tuple[int, float]:
    from taxii2client.v21 import as_pages

    t = time.perf_counter()
    n = sum(len(p.get("objects", [])) for p in as_pages(coll.get_objects, per_request=per_request))
    return n, time.perf_counter() - t


def portguard_paging(n_objects: int, per_request: list[int]) -> list[tuple[str, int, int, float]]:
    from taxii2client.v21 import Collection

    from portguard.core import auth
    from portguard.intel.members import collection_id_for

    data = Path(tempfile.mkdtemp(prefix="pg-intel-"))
    hub = hub_at(data)
    with hub.db.session() as s:
        user = auth.create_user(
            session=s, username="bench", password="a long enough password", role="analyst"
        )
        token = auth.create_token(session=s, user=user, name="bench")[1]
        member = hub.member(s, username="bench", organisation=None, role="analyst")
    objs = indicators(n_objects)
    for i in range(0, n_objects, 20_000):
        chunk = objs[i : i + 20_000]
        hub.ingest(member=member, parsed=parse_bundle(chunk), trusted=True)
    hub.db.dispose()
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(data), str(port)])
    try:
        wait(f"http://127.0.0.1:{port}/healthz", proc)
        coll = Collection(
            f"http://127.0.0.1:{port}/taxii2/hub/collections/{collection_id_for('port-community')}/",
            auth=Bearer(token),
        )
        fetch_all(coll, per_request[0])  # warm-up
        rows = []
        for pr in per_request:
            n, dt = fetch_all(coll, pr)
            rows.append(("PortGuard", n_objects, pr, n / dt))
        return rows
    finally:
        proc.terminate()
        proc.wait(10)


def medallion_paging(n_objects: int, per_request: list[int]) -> list[tuple[str, int, int, float]]:
    from taxii2client.v21 import Collection

    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="medallion-"))
    root = f"http://127.0.0.1:{port}/api1/"
    cid = str(uuid.uuid4())
    (tmp / "data.json").write_text(
        json.dumps(
            {
                "/discovery": {"title": "medallion", "default": root, "api_roots": [root]},
                "api1": {
                    "information": {
                        "title": "api1",
                        "versions": ["application/taxii+json;version=2.1"],
                        "max_content_length": 100_000_000,
                    },
                    "status": [],
                    "collections": [
                        {
                            "id": cid,
                            "title": "bench",
                            "can_read": True,
                            "can_write": True,
                            "media_types": ["application/stix+json;version=2.1"],
                            "objects": [],
                            "manifest": [],
                        }
                    ],
                },
            }
        )
    )
    (tmp / "config.json").write_text(
        json.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(tmp / "data.json"),
                },
                "users": {"bench": "bench"},
                "taxii": {"max_page_size": max(per_request)},
            }
        )
    )
    code = (
        "import sys; from medallion.scripts.run import main; "
        "sys.argv=['medallion', '--port', sys.argv[1], sys.argv[2]]; main()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(port), str(tmp / "config.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(root, proc)
        coll = Collection(f"{root}collections/{cid}/", user="bench", password="bench")
        objs = indicators(n_objects)
        for i in range(0, n_objects, 500):
            coll.add_objects({"objects": objs[i : i + 500]}, wait_for_completion=False)
        fetch_all(coll, per_request[0])
        rows = []
        for pr in per_request:
            n, dt = fetch_all(coll, pr)
            rows.append(("medallion", n, pr, n / dt))
        return rows
    finally:
        proc.terminate()
        proc.wait(10)


def rate(fn: Any, n: int) -> float:
    t = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t)


def import_and_match() -> tuple[list[tuple[str, str, float]], list[tuple[str, int, float]]]:
    data = Path(tempfile.mkdtemp(prefix="pg-intel-"))
    hub = hub_at(data)
    with hub.db.session() as s:
        member = hub.member(s, username="bench", organisation=None, role="admin")
    imports = []
    t = time.perf_counter()
    res = hub.ingest(
        member=member,
        parsed=parse_bundle((DATA / "ics-attack-18.1.json").read_text()),
        tlp=TLP.CLEAR,
    )
    imports.append(
        ("ATT&CK for ICS bundle", f"{len(res.written):,} objects", time.perf_counter() - t)
    )
    for name in ("phishing-domains.txt", "malware-ips.txt"):
        t = time.perf_counter()
        parsed = parse_plain_list(
            (DATA / name).read_text(),
            now=hub.clock.now(),
            owner_identity=member.identity_id,
            tlp=TLP.GREEN,
        )
        res = hub.ingest(member=member, parsed=parsed, tlp=TLP.GREEN, trusted=True)
        imports.append(
            (
                name,
                f"{len(res.written):,} indicators, {len(res.failures)} bad lines",
                time.perf_counter() - t,
            )
        )
    domains = [
        line.strip()
        for line in (DATA / "phishing-domains.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    ips = [
        line.strip()
        for line in (DATA / "malware-ips.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    rnd = random.Random(7)
    cidrs = [".".join(ip.split(".")[:3]) + ".0/24" for ip in rnd.sample(ips, 1000)]
    t = time.perf_counter()
    res = hub.ingest(
        member=member,
        parsed=parse_plain_list("\n".join(cidrs), now=hub.clock.now(), tlp=TLP.GREEN),
        tlp=TLP.GREEN,
        trusted=True,
    )
    ix = hub.index
    n = 200_000
    exact = [rnd.choice(domains) for _ in range(n)]
    sub = ["www.login." + d for d in exact]
    miss = [f"harmless{i}.example.org" for i in range(n)]
    ipq = [rnd.choice(ips) for _ in range(n)]
    cidrq = [
        c.rsplit(".", 1)[0] + f".{rnd.randint(1, 254)}"
        for c in (rnd.choice(cidrs) for _ in range(n))
    ]
    urls = [f"http://{d}/login/index.php?id=1" for d in exact[:50_000]]
    # Bulk lookups test membership in a per-kind snapshot of live keys, rebuilt after a change
    # (or when an indicator's validity starts or ends): build it once, report its cost.
    t = time.perf_counter()
    ix.live_keys("domain")
    ix.live_keys("ip")
    console.print(
        f"live-key snapshots (domains + IPs) built in {time.perf_counter() - t:.2f} s "
        "after the last index change"
    )
    rows = [
        (
            "domain exact, batch (count_hits)",
            len(domains) and n,
            rate(lambda: ix.count_hits("domain", exact), n),
        ),
        ("domain parent walk, batch", n, rate(lambda: ix.count_hits("domain", sub), n)),
        ("domain miss, batch", n, rate(lambda: ix.count_hits("domain", miss), n)),
        ("IP exact, batch", n, rate(lambda: ix.count_hits("ip", ipq), n)),
        ("domain exact, lookup_domain()", n, rate(lambda: [ix.lookup_domain(d) for d in exact], n)),
        ("domain parent, lookup_domain()", n, rate(lambda: [ix.lookup_domain(d) for d in sub], n)),
        ("IP exact + CIDR, lookup_ip()", n, rate(lambda: [ix.lookup_ip(x) for x in ipq], n)),
        ("IP in a CIDR, lookup_ip()", n, rate(lambda: [ix.lookup_ip(x) for x in cidrq], n)),
        (
            "URL (normalise + host walk), lookup_url()",
            len(urls),
            rate(lambda: [ix.lookup_url(u) for u in urls], len(urls)),
        ),
    ]
    hits = sum(1 for d in sub[:1000] if ix.lookup_domain(d))
    console.print(
        f"index: {len(ix):,} indicators; parent-walk hit rate on sampled sub-domains "
        f"{hits / 10:.0f}%"
    )
    return imports, rows


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("--big", type=int, default=100_000)
    args = p.parse_args()
    if not DATA.exists():
        console.print(f"[yellow]skipped:[/] {DATA} is absent (the shared reference data)")
        return
    os.environ.setdefault("PORTGUARD_LOG_LEVEL", "warning")
    t = Table(
        "server", "objects", "per request", "objects/s", title="TAXII paging with taxii2-client"
    )
    med = medallion_paging(1000, [100, 1000])
    pg = portguard_paging(1000, [100, 1000])
    for row in med + pg:
        t.add_row(row[0], f"{row[1]:,}", str(row[2]), f"{row[3]:,.0f}")
    for a, b in zip(pg, med, strict=True):
        console.print(f"per request {a[2]}: PortGuard / medallion = {a[3] / b[3]:.0f}x")
    for row in portguard_paging(args.big, [1000, 10_000]):
        t.add_row(row[0], f"{row[1]:,}", f"{row[2]:,}", f"{row[3]:,.0f}")
    console.print(t)
    imports, rows = import_and_match()
    t2 = Table("import", "what", "seconds", title="Import, end to end")
    for name, what, secs in imports:
        t2.add_row(name, what, f"{secs:.1f}")
    console.print(t2)
    t3 = Table("lookup", "observables", "observables/s", title="Matching")
    for name, n, r in rows:
        t3.add_row(name, f"{n:,}", f"{r:,.0f}")
    console.print(t3)


if __name__ == "__main__":
    main()
