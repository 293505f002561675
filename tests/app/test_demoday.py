from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portguard.app.demo import DEMO_INFRA, seed_admin, seed_alerts, seed_mail
from portguard.app.demoday import DEFAULT_SPEED, DemoDay
from portguard.app.runtime import Runtime, build_runtime
from portguard.core.clock import utcnow
from portguard.core.settings import Settings
from portguard.incidents.models import AlertRecord, Incident
from portguard.mail.models import MailMessage


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(Settings.load(data_dir=tmp_path, infra=DEMO_INFRA))
    yield rt
    rt.close()


def _drain(rt: Runtime) -> None:
    for _ in range(50):
        moved = rt.dispatcher.run_once()
        moved += rt.incident_engine.run_once()
        if not moved:
            return
    raise AssertionError("the bus did not drain")


def _alerts(rt: Runtime) -> list[AlertRecord]:
    with rt.db.session() as s:
        return list(s.execute(select(AlertRecord)).scalars().all())


def test_schedule_is_a_compressed_day_with_the_attack_in_the_first_minute(
    runtime: Runtime,
) -> None:
    steps = DemoDay(runtime).schedule(utcnow())
    assert steps == sorted(steps, key=lambda s: s.at)
    assert {s.kind for s in steps} == {"access", "infra", "intel", "mail"}
    attack = [s for s in steps if s.attack]
    assert {s.kind for s in attack} == {"access", "infra"}
    assert max(s.at for s in attack) <= timedelta(seconds=60)
    assert steps[-1].at > timedelta(seconds=120)  # routine traffic continues after
    assert steps[-1].at <= timedelta(minutes=5)
    assert any(not s.attack and s.at > max(a.at for a in attack) for s in steps)


def test_routine_day_raises_nothing(runtime: Runtime) -> None:
    seed_admin(runtime.db)
    # A fixed mail seed: the day's mail otherwise follows the clock, and a test must not.
    day = DemoDay(runtime, speed=float("inf"), mail_seed=5143)
    now = runtime.clock.now()
    day.prepare(now)
    for step in day.schedule(now):
        if not step.attack:
            day.publish(step)
    _drain(runtime)
    assert not day.problems
    assert runtime.access.intake["accepted"] > 100
    assert runtime.infra.intake["accepted"] > 50
    assert _alerts(runtime) == []
    # The day's business mail went through the real gateway and none of it was held as phishing.
    while runtime.mail.process_pending():
        pass
    with runtime.db.session() as s:
        categories = s.execute(select(MailMessage.category)).scalars().all()
    assert len(categories) == 96 and "phishing" not in categories, categories


def test_demo_day_attack_joins_the_seeded_hybrid_incident(runtime: Runtime) -> None:
    seed_admin(runtime.db)
    seed_alerts(runtime.bus, runtime.clock.now())
    seed_mail(runtime.mail, runtime.db)
    # As in `portguard demo`: seeded, then the day starts, then the consumers run.
    day = DemoDay(runtime, speed=float("inf"), mail_seed=5143)
    steps = day.run_all()
    _drain(runtime)
    assert not day.problems
    assert len(day.published) == len(steps)
    assert runtime.intel.index.lookup_domain("portofantwerpbruges-login.com")
    alerts = _alerts(runtime)
    others = {a.domain for a in alerts if a.domain not in ("access", "infra")}
    assert others == {"mail", "maritime", "intel"}  # seeded, and the ISAC indicators hit
    new = [a for a in alerts if a.domain in ("access", "infra") and not a.id.startswith("demo-")]
    # Only the attack raised alerts: the stolen PIN and the lock command.
    by_domain = {a.domain for a in new}
    assert by_domain == {"access", "infra"}, sorted(a.rule_id for a in new)
    rules = {a.rule_id for a in new}
    assert "access.badge.beyond_clearance" in rules
    assert {
        "infra.command.phished_operator",
        "infra.command.off_shift",
        "infra.command.out_of_schedule",  # the locks need a planned passage (DEMO_INFRA)
    } <= rules
    keys = {e["value"] for a in new for e in a.payload["entities"]}
    assert not keys & {"ajanssens", "T-1001", "T-1003", "T-1005"}
    demo_ids = {"demo-0001-phish", "demo-0002-ot", "demo-0003-badge", "demo-0004-loiter"}
    by_id = {a.id: a for a in alerts}
    incident_ids = {by_id[i].incident_id for i in demo_ids} | {a.incident_id for a in new}
    assert len(incident_ids) == 1, sorted((a.rule_id, a.incident_id) for a in alerts)
    assert by_id["demo-0006-probe"].incident_id not in incident_ids  # the unrelated probe stays
    with runtime.db.session() as s:
        inc = s.get(Incident, incident_ids.pop())
        assert inc is not None
        assert "hybrid" in inc.tags and "merged" not in inc.tags


def test_start_and_stop_run_in_the_background(runtime: Runtime) -> None:
    seed_admin(runtime.db)
    day = DemoDay(runtime, speed=DEFAULT_SPEED * 1000, mail_seed=5143)  # the day in 0.3 s
    day.start()
    total = len(day.schedule(runtime.clock.now()))
    for _ in range(200):
        if len(day.published) == total:
            break
        time.sleep(0.05)
    day.stop()
    assert day.published
    assert not day.problems
