"""ISPS security levels at run time: set, audited, with history; bad requests refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portguard.core import audit
from portguard.core.db import Base, Database
from portguard.core.errors import ConflictError, NotFoundError, ValidationError
from portguard.portmodel import PortModel, service
from portguard.portmodel.models import SecurityLevelChange
from portguard.portmodel.testing import small_port_model

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def model() -> PortModel:
    return small_port_model()


def count_changes(db: Database) -> int:
    with db.session() as s:
        return s.execute(select(func.count()).select_from(SecurityLevelChange)).scalar_one()


def test_default_level_comes_from_the_model(db: Database, model: PortModel) -> None:
    with db.session() as s:
        assert service.current_security_level(session=s, model=model, facility_id="terminal-a") == 1
        assert service.latest_security_level_change(session=s, facility_id="terminal-a") is None
        assert service.security_level_history(session=s, facility_id="terminal-a") == []
        assert service.current_security_levels(session=s, model=model) == {
            "port": 1,
            "terminal-a": 1,
        }


def test_a_change_is_recorded_and_audited(db: Database, model: PortModel) -> None:
    with db.session() as s:
        change = service.set_security_level(
            session=s,
            model=model,
            facility_id="terminal-a",
            level=2,
            actor="pfso.jansen",
            reason="  threat assessment 2025-017 (credible threat to container terminals)  ",
            at=T0,
        )
        assert change.id is not None
    with db.session() as s:
        (row,) = service.security_level_history(session=s, facility_id="terminal-a")
        assert (row.facility_id, row.level, row.previous_level) == ("terminal-a", 2, 1)
        assert row.actor == "pfso.jansen"
        assert row.reason == "threat assessment 2025-017 (credible threat to container terminals)"
        assert row.changed_at == T0 and row.changed_at.tzinfo is not None
        assert service.current_security_level(session=s, model=model, facility_id="terminal-a") == 2
        assert service.current_security_levels(session=s, model=model) == {
            "port": 1,
            "terminal-a": 2,
        }

        entry = s.execute(
            select(audit.AuditEntry).where(audit.AuditEntry.action == service.AUDIT_ACTION)
        ).scalar_one()
        assert entry.actor == "pfso.jansen"
        assert entry.target == "facility:terminal-a"
        assert entry.details["level"] == 2 and entry.details["previous_level"] == 1
        assert entry.details["change_id"] == row.id
        assert entry.details["reason"] == row.reason
        result = audit.verify(s)
        assert result.ok and result.entries == 1


def test_history_is_ordered_and_chains_previous_levels(db: Database, model: PortModel) -> None:
    steps = [
        (2, T0),
        (3, T0 + timedelta(hours=2)),
        (3, T0 + timedelta(hours=3)),
        (1, T0 + timedelta(days=1)),
    ]
    with db.session() as s:
        # Another facility's changes interleaved: they must not leak into this history.
        service.set_security_level(
            session=s, model=model, facility_id="port", level=2, actor="a", reason="r", at=T0
        )
        for level, at in steps:
            service.set_security_level(
                session=s,
                model=model,
                facility_id="terminal-a",
                level=level,
                actor="pfso",
                reason=f"to {level}",
                at=at,
            )
        # Two changes in the same instant keep the order they were made in.
        service.set_security_level(
            session=s,
            model=model,
            facility_id="terminal-a",
            level=2,
            actor="pfso",
            reason="same instant",
            at=T0 + timedelta(days=1),
        )
    with db.session() as s:
        history = service.security_level_history(session=s, facility_id="terminal-a")
        assert [(c.previous_level, c.level) for c in history] == [
            (1, 2),
            (2, 3),
            (3, 3),
            (3, 1),
            (1, 2),
        ]
        assert [c.changed_at for c in history] == sorted(c.changed_at for c in history)
        last_two = service.security_level_history(session=s, facility_id="terminal-a", limit=2)
        assert [c.reason for c in last_two] == ["to 1", "same instant"]
        assert service.current_security_level(session=s, model=model, facility_id="terminal-a") == 2
        assert service.current_security_level(session=s, model=model, facility_id="port") == 2
        assert audit.verify(s).ok
        assert audit.verify(s).entries == 6


def test_without_at_the_change_is_stamped_now(db: Database, model: PortModel) -> None:
    before = datetime.now(UTC)
    with db.session() as s:
        change = service.set_security_level(
            session=s, model=model, facility_id="port", level=3, actor="a", reason="r"
        )
    assert before <= change.changed_at <= datetime.now(UTC)


@pytest.mark.parametrize("level", [0, 4, -1, True, "2", 2.0, None])
def test_invalid_level_is_refused_and_nothing_recorded(
    db: Database, model: PortModel, level: object
) -> None:
    with db.session() as s, pytest.raises(ValidationError, match="must be 1, 2 or 3"):
        service.set_security_level(
            session=s,
            model=model,
            facility_id="terminal-a",
            level=level,  # type: ignore[arg-type]
            actor="pfso",
            reason="test",
        )
    assert count_changes(db) == 0


@pytest.mark.parametrize(
    ("facility_id", "match"),
    [("terminal-zz", "no feature 'terminal-zz'"), ("gate-a", "is a gate, not a facility")],
)
def test_unknown_facility_is_refused(
    db: Database, model: PortModel, facility_id: str, match: str
) -> None:
    with db.session() as s:
        with pytest.raises(NotFoundError, match=match):
            service.set_security_level(
                session=s,
                model=model,
                facility_id=facility_id,
                level=2,
                actor="pfso",
                reason="test",
            )
        with pytest.raises(NotFoundError):
            service.current_security_level(session=s, model=model, facility_id=facility_id)
    assert count_changes(db) == 0


@pytest.mark.parametrize(("actor", "reason"), [("", "r"), ("pfso", "   "), ("pfso", "x" * 2_001)])
def test_actor_and_reason_are_required(
    db: Database, model: PortModel, actor: str, reason: str
) -> None:
    with db.session() as s, pytest.raises(ValidationError):
        service.set_security_level(
            session=s, model=model, facility_id="port", level=2, actor=actor, reason=reason
        )
    assert count_changes(db) == 0


def test_history_cannot_be_rewritten_into_the_past(db: Database, model: PortModel) -> None:
    with db.session() as s:
        service.set_security_level(
            session=s, model=model, facility_id="port", level=2, actor="a", reason="r", at=T0
        )
    with db.session() as s, pytest.raises(ConflictError, match="last changed later"):
        service.set_security_level(
            session=s,
            model=model,
            facility_id="port",
            level=3,
            actor="a",
            reason="r",
            at=T0 - timedelta(minutes=1),
        )
    assert count_changes(db) == 1


def test_a_rolled_back_change_leaves_no_audit_entry(db: Database, model: PortModel) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        service.set_security_level(
            session=s, model=model, facility_id="port", level=2, actor="a", reason="r"
        )
        raise RuntimeError("the caller's transaction fails after the change")
    with db.session() as s:
        assert audit.verify(s).entries == 0
    assert count_changes(db) == 0


def test_concurrent_changes_are_serialised(db: Database, model: PortModel) -> None:
    """A second writer waits for the first, and sees its level as the previous one."""
    b_started = threading.Event()
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with db.session() as s:
                b_started.set()
                service.set_security_level(
                    session=s, model=model, facility_id="port", level=3, actor="b", reason="b"
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with db.session() as s:
        service.set_security_level(
            session=s, model=model, facility_id="port", level=2, actor="a", reason="a"
        )
        other = threading.Thread(target=second_writer)
        other.start()
        b_started.wait(5)
        time.sleep(0.3)  # let the second writer reach the point where it must wait
    other.join(15)
    assert not errors, errors
    with db.session() as s:
        history = service.security_level_history(session=s, facility_id="port")
        assert [(c.actor, c.previous_level, c.level) for c in history] == [
            ("a", 1, 2),
            ("b", 2, 3),
        ]
        assert audit.verify(s).ok
