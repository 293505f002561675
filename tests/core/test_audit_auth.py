from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from portguard.core import audit, auth
from portguard.core.errors import AuthError, ConflictError, ValidationError
from portguard.testing import migrated_db

PASSWORD = "correct horse battery"


def test_users_tokens_and_audit_chain(db_url: str) -> None:
    db = migrated_db(db_url)
    with db.session() as s:
        user = auth.create_user(
            session=s, username="Analyst1", password=PASSWORD, role="analyst", actor="test"
        )
        assert user.username == "analyst1"
        assert user.password_hash.startswith("$argon2id$")
        token, secret = auth.create_token(session=s, user=user, name="ci")
        assert secret.startswith("pgt_")
        assert secret not in token.token_hash
    with db.session() as s:
        assert auth.authenticate_password(session=s, username="ANALYST1", password=PASSWORD).id
        assert auth.authenticate_token(session=s, secret=secret).username == "analyst1"
        with pytest.raises(AuthError, match="invalid username or password"):
            auth.authenticate_password(session=s, username="analyst1", password="wrong" * 3)
        with pytest.raises(AuthError, match="invalid username or password"):
            auth.authenticate_password(session=s, username="ghost", password=PASSWORD)
        with pytest.raises(AuthError):
            auth.authenticate_token(session=s, secret="pgt_forged")
        auth.revoke_token(session=s, token_id=token.id, actor="test")
    with db.session() as s:
        with pytest.raises(AuthError, match="revoked"):
            auth.authenticate_token(session=s, secret=secret)
        result = audit.verify(s)
        assert result.ok and result.entries == 3
        # Secrets never reach the audit log.
        rows = s.execute(text("SELECT details FROM audit_log")).scalars().all()
        assert all(secret not in str(r) and PASSWORD not in str(r) for r in rows)
    db.dispose()


def test_expired_token(db_url: str) -> None:
    db = migrated_db(db_url)
    with db.session() as s:
        user = auth.create_user(session=s, username="op", password=PASSWORD, role="operator")
        _, secret = auth.create_token(session=s, user=user, name="x", ttl=timedelta(seconds=-1))
    with db.session() as s, pytest.raises(AuthError, match="expired"):
        auth.authenticate_token(session=s, secret=secret)
    db.dispose()


def test_user_validation(db_url: str) -> None:
    db = migrated_db(db_url)
    with db.session() as s:
        auth.create_user(session=s, username="dup", password=PASSWORD, role="auditor")
        with pytest.raises(ConflictError, match="already exists"):
            auth.create_user(session=s, username="dup", password=PASSWORD, role="auditor")
        with pytest.raises(ValidationError, match="12 characters"):
            auth.create_user(session=s, username="short", password="x", role="auditor")
        with pytest.raises(ValidationError, match="unknown role"):
            auth.create_user(session=s, username="roleless", password=PASSWORD, role="pirate")
    db.dispose()


def test_tampering_with_the_audit_log_is_detected(db_url: str) -> None:
    db = migrated_db(db_url)
    with db.session() as s:
        for i in range(5):
            audit.record(s, actor="t", action="a", target=str(i), details={"i": i})
    with db.session() as s:
        assert audit.verify(s).ok
        s.execute(text("UPDATE audit_log SET target = 'x' WHERE seq = 3"))
    with db.session() as s:
        r = audit.verify(s)
        assert not r.ok and r.first_bad_seq == 3 and "edited" in r.reason
        s.execute(text("UPDATE audit_log SET target = '2' WHERE seq = 3"))
        s.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    with db.session() as s:
        r = audit.verify(s)
        assert not r.ok and r.first_bad_seq == 3 and "removed" in r.reason
    db.dispose()


def test_role_permissions() -> None:
    assert auth.has_permission("admin", auth.Permission.USERS_ADMIN)
    assert not auth.has_permission("analyst", auth.Permission.USERS_ADMIN)
    assert not auth.has_permission("operator", auth.Permission.INCIDENTS_WRITE)
    assert auth.has_permission("operator", auth.Permission.ALERTS_WRITE)
    assert auth.has_permission("auditor", auth.Permission.AUDIT_READ)
    assert not auth.has_permission("auditor", auth.Permission.ALERTS_WRITE)


def test_concurrent_writers_keep_one_chain(db_url: str) -> None:
    """Writers in several threads never fork the chain (each links to the true previous)."""
    import threading

    db = migrated_db(db_url)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with db.session() as s:
                    s.execute(text("SELECT count(*) FROM audit_log"))  # a read first
                    audit.record(s, actor=f"w{n}", action="a", target=str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.session() as s:
        r = audit.verify(s)
        assert r.ok and r.entries == 60, r
    db.dispose()


def test_login_throttle_locks_a_user_address_pair_then_forgets() -> None:
    from portguard.core.errors import TooManyAttempts

    now = [0.0]
    t = auth.LoginThrottle(
        max_failures=3, max_failures_per_address=5, window_s=60, clock=lambda: now[0]
    )
    for _ in range(3):
        t.check("Ana", "10.0.0.1")
        t.failed("ana", "10.0.0.1")
    with pytest.raises(TooManyAttempts, match="try again"):
        t.check("ana", "10.0.0.1")
    t.check("ana", "10.0.0.2")  # another address is not locked out
    t.check("bob", "10.0.0.1")
    t.failed("bob", "10.0.0.1")
    t.failed("eve", "10.0.0.1")
    with pytest.raises(TooManyAttempts):  # one address failing across users
        t.check("carol", "10.0.0.1")
    now[0] = 61.0
    t.check("ana", "10.0.0.1")  # the window passed
    t.failed("dave", "10.0.0.3")
    t.succeeded("dave", "10.0.0.3")
    t.check("dave", "10.0.0.3")
