"""Console benchmarks, in headless Chromium (Debian's ``chromium`` driven by Playwright):

1. ``portguard demo`` to the first rendered map: start the real command, log in with the printed
   password, wait until the map is drawn (port model and vessels).
2. Responsiveness at scale: 5,000 moving vessels and 10,000 alerts; frame times of the map while
   it pans (and vessel updates stream in), the vessel layer's draw time, and the time to open an
   incident from the queue.

Usage: ``.venv/bin/python bench/console.py [--vessels 5000] [--alerts 10000]``; prints Markdown
rows for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from sqlalchemy import func, select

from portguard.core.bus import ALERTS, encode_alert
from portguard.core.clock import utcnow
from portguard.core.types import Alert, Domain, EntityRef, Location, Severity
from portguard.incidents.models import AlertRecord, Incident
from portguard.web.testing import Console, free_port, serve_console

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parent.parent


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def login(page: Page, url: str, user: str, password: str) -> None:
    page.goto(url + "/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")


def bench_demo_start(browser: Any) -> dict[str, float]:
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="pg-bench-demo-"))
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "portguard", "demo", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        password = None
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.search(r"log in as admin / (\S+)", line)
            if m:
                password = m.group(1)
                break
        assert password, "portguard demo printed no password"
        t_printed = time.monotonic() - t0
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        url = f"http://127.0.0.1:{port}"
        while True:  # the URL is printed before uvicorn listens
            try:
                page.goto(url + "/console/login", timeout=2000)
                break
            except Exception:
                if time.monotonic() - t0 > 60:
                    raise
                time.sleep(0.05)
        login(page, url, "admin", password)
        page.wait_for_selector("body[data-map-ready='1']", timeout=60_000)
        t_map = time.monotonic() - t0
        page.close()
        return {"printed_s": t_printed, "map_s": t_map}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


def many_alerts(n: int) -> list[Alert]:
    now = utcnow()
    places = ["berendrecht-lock", "kallo-lock", "deurganckdok", "terminal-mpet", "royers-lock"]
    doms = [Domain.MARITIME, Domain.ACCESS, Domain.INFRA, Domain.MAIL, Domain.LOGS]
    out = []
    for i in range(n):
        d = doms[i % len(doms)]
        out.append(
            Alert(
                id=f"bench-{i:06d}",
                rule_id=f"{d.value}.bench.rule{i % 7}",
                domain=d,
                severity=Severity(i % 4),
                observed_at=now - timedelta(seconds=n - i),
                title=f"Benchmark alert {i} ({d.value})",
                why="benchmark",
                entities=(EntityRef.of("account", f"user{i % 1500}"),),
                location=Location(asset_id=places[i % len(places)]),
            )
        )
    return out


def wait_alerts(c: Console, n: int, timeout_s: float = 900) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        with c.runtime.db.session() as s:
            got = s.execute(select(func.count()).select_from(AlertRecord)).scalar_one()
        if got >= n:
            return time.monotonic() - t0
        time.sleep(1)
    raise TimeoutError(f"only {got} of {n} alerts stored")


FRAMES_JS = """async (ms) => {
  const map = window.pgMap;
  const out = [];
  let last = performance.now();
  const end = last + ms;
  let dir = 1, n = 0;
  const d0 = window.pgStats.drawMs.length;
  await new Promise((resolve) => {
    function frame(t) {
      out.push(t - last); last = t;
      if (++n % 60 === 0) dir = -dir;
      map.panBy([6 * dir, 3 * dir], { animate: false });
      if (t < end) requestAnimationFrame(frame); else resolve();
    }
    requestAnimationFrame(frame);
  });
  return { frames: out.slice(1), draws: window.pgStats.drawMs.slice(d0) };
}"""


def bench_scale(browser: Any, vessels: int, alerts: int) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="pg-bench-console-"))
    res: dict[str, Any] = {}
    try:
        with serve_console(data, vessels=vessels, fleet_interval_s=3.0) as c:
            t = time.monotonic()
            batch = many_alerts(alerts)
            for i in range(0, len(batch), 500):
                c.runtime.bus.publish_many(
                    ALERTS, [(a.id, encode_alert(a)) for a in batch[i : i + 500]]
                )
            res["ingest_s"] = wait_alerts(c, alerts + 6)
            res["ingest_total_s"] = time.monotonic() - t
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            t0 = time.monotonic()
            login(page, c.url, "admin", c.admin_password)
            page.wait_for_selector("body[data-map-ready='1']", timeout=120_000)
            res["map_ready_s"] = time.monotonic() - t0
            page.wait_for_function(
                f"() => window.pgVessels && [...window.pgVessels()].length >= {vessels * 0.95}",
                timeout=120_000,
            )
            res["vessels_loaded_s"] = time.monotonic() - t0
            # The whole fleet in view: zoom out to the port model's extent.
            page.evaluate("() => window.pgMap.setZoom(10)")
            page.wait_for_timeout(500)
            res["vessels_in_view"] = int(page.evaluate("() => window.pgStats.vesselsShown"))
            r = page.evaluate(FRAMES_JS, 8000)
            frames, draws = r["frames"], r["draws"]
            res["frame_median_ms"] = statistics.median(frames)
            res["frame_p95_ms"] = pct(frames, 95)
            res["frame_max_ms"] = max(frames)
            res["draw_median_ms"] = statistics.median(draws) if draws else float("nan")
            res["draw_p95_ms"] = pct(draws, 95)
            msg = page.evaluate("() => window.pgStats.vesselMsgMs")
            res["vessel_msg_median_ms"] = statistics.median(msg) if msg else float("nan")
            # Open incidents from the queue (hash change to rendered), several times.
            page.evaluate("() => { location.hash = '#/queue'; }")
            page.wait_for_selector("#q-table tbody tr", timeout=30_000)
            res["queue_rows"] = page.locator("#q-table tbody tr").count()
            opens = []
            rows = page.locator("#q-table tbody tr").count()
            for i in range(rows):
                page.evaluate("() => { location.hash = '#/queue'; }")
                page.wait_for_selector("#q-table tbody tr")
                row = page.locator("#q-table tbody tr").nth(i)
                n_alerts = int(row.locator("td").nth(5).inner_text())
                t1 = time.monotonic()
                row.click()
                page.wait_for_function("() => !document.getElementById('view-incident').hidden")
                page.wait_for_selector("#view-incident h1 .mono")
                ms = (time.monotonic() - t1) * 1000
                opens.append(ms)
                res.setdefault("open_by_alerts", []).append(
                    (n_alerts, round(ms), page.evaluate("() => window.pgStats.marks.incidentMs"))
                )
            res["open_incident_median_ms"] = statistics.median(opens)
            res["open_incident_max_ms"] = max(opens)
            res["open_incident_in_page_ms"] = page.evaluate("() => window.pgStats.marks.incidentMs")
            with c.runtime.db.session() as s:
                res["incidents"] = s.execute(
                    select(func.count()).select_from(Incident)
                ).scalar_one()
            page.close()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vessels", type=int, default=5000)
    ap.add_argument("--alerts", type=int, default=10000)
    ap.add_argument("--skip-demo", action="store_true")
    a = ap.parse_args()
    if not Path("/usr/bin/chromium").exists():
        sys.exit("needs Debian's chromium at /usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        if not a.skip_demo:
            runs = [bench_demo_start(browser) for _ in range(3)]
            print("demo start:", runs, flush=True)
            print(
                f"| `portguard demo` → password printed | "
                f"{statistics.median(r['printed_s'] for r in runs):.2f} s (median of 3) |"
            )
            print(
                f"| `portguard demo` → first rendered map (incl. log-in) | "
                f"{statistics.median(r['map_s'] for r in runs):.2f} s (median of 3) |"
            )
        res = bench_scale(browser, a.vessels, a.alerts)
        print("scale:", res, flush=True)
        browser.close()


if __name__ == "__main__":
    main()
