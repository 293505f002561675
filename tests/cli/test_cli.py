from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from portguard.cli.main import app
from portguard.core.clock import utcnow
from portguard.incidents import service
from portguard.incidents.correlation import CorrelationRules
from portguard.testing import make_alert, migrated_db

runner = CliRunner()


def pg(data: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, [*args, "--data-dir", str(data)])
    return r.exit_code, r.stdout, r.stderr


def test_users_tokens_and_audit(tmp_path: Path) -> None:
    code, out, _ = pg(tmp_path, "user", "add", "ana", "--role", "analyst", "--password", "-")
    assert code == 0 and "added ana (analyst)" in out and "password:" in out
    code, out, _ = pg(tmp_path, "token", "create", "ana", "--name", "ci")
    assert code == 0 and out.strip().startswith("pgt_")
    code, _, err = pg(tmp_path, "token", "create", "ghost")
    assert code == 1 and "no user 'ghost'" in err
    code, _, err = pg(tmp_path, "user", "add", "bob", "--role", "analyst", "--password", "short")
    assert code == 2 and "12 characters" in err
    code, out, _ = pg(tmp_path, "audit", "verify")
    assert code == 0 and "intact" in out and "2 entries" in out


def test_tampered_audit_log_fails_verification(tmp_path: Path) -> None:
    pg(tmp_path, "user", "add", "ana", "--role", "analyst", "--password", "-")
    db = migrated_db(f"sqlite:///{tmp_path / 'portguard.db'}")
    with db.session() as s:
        s.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    db.dispose()
    code, _, err = pg(tmp_path, "audit", "verify")
    assert code == 1 and "broken" in err


def test_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("port = 'eighty'\n")
    r = runner.invoke(app, ["db", "upgrade", "--config", str(cfg)])
    assert r.exit_code == 2
    assert "port" in r.stderr and "Traceback" not in r.stderr + r.stdout


def test_incident_and_nis2_flow(tmp_path: Path) -> None:
    db = migrated_db(f"sqlite:///{tmp_path / 'portguard.db'}")
    with db.session() as s:
        out = service.ingest_alert(
            session=s,
            alert=make_alert(entities=["ip:203.0.113.9"], title="VPN brute force on lock SCADA"),
            rules=CorrelationRules.builtin(),
        )
        ref = service.get_incident(session=s, incident_id=out.incident_id or "").ref
    db.dispose()
    code, out_text, _ = pg(tmp_path, "incidents", "list", "--json")
    assert code == 0 and json.loads(out_text.splitlines()[0])["ref"] == ref
    code, _, err = pg(tmp_path, "incidents", "report", ref)
    assert code == 1 and "not marked significant" in err
    aware = (utcnow() - timedelta(hours=2)).isoformat(timespec="seconds")
    code, out_text, _ = pg(
        tmp_path,
        "incidents",
        "significant",
        ref,
        "--criterion",
        "malicious_access",
        "--malicious",
        "--aware-at",
        aware,
    )
    assert code == 0 and "early_warning due" in out_text, out_text
    report = tmp_path / "ew.html"
    code, _, _ = pg(tmp_path, "incidents", "report", ref, "--format", "html", "-o", str(report))
    assert code == 0 and "VPN brute force on lock SCADA" in report.read_text()
    code, out_text, _ = pg(
        tmp_path, "incidents", "report", ref, "--stage", "notification", "--format", "json"
    )
    assert code == 0 and "203.0.113.9" in out_text
    code, _, _ = pg(
        tmp_path,
        "incidents",
        "submit",
        ref,
        "--stage",
        "early_warning",
        "--authority",
        "CCB",
        "--reference",
        "CCB-1",
    )
    assert code == 0
    code, out_text, _ = pg(tmp_path, "incidents", "show", ref, "--json")
    data = json.loads(out_text)
    stages = {d["stage"]: d["status"] for d in data["nis2"]["clock"]["deadlines"]}
    assert stages["early_warning"] == "submitted" and stages["notification"] == "pending"
    code, _, err = pg(tmp_path, "incidents", "report", ref, "--format", "pdf")
    assert code == 2 and "md, html or json" in err
    code, _, err = pg(tmp_path, "incidents", "show", "INC-1999-0042")
    assert code == 1 and "no incident" in err


def test_portmodel_validate_and_list(tmp_path: Path) -> None:
    bad = tmp_path / "port.geojson"
    bad.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"id": "x", "name": "X", "kind": "lockk"}, '
        '"geometry": {"type": "Point", "coordinates": [4.3, 51.3]}}]}'
    )
    r = runner.invoke(app, ["portmodel", "validate", str(bad)])
    assert r.exit_code == 2 and "features[0]" in r.stderr and "lockk" in r.stderr
    bad.write_text(bad.read_text().replace("lockk", "gate"))
    r = runner.invoke(app, ["portmodel", "validate", str(bad)])
    assert r.exit_code == 0 and "valid" in r.stdout
    r = runner.invoke(app, ["portmodel", "list", "--kind", "lock"])
    assert r.exit_code == 0 and "berendrecht" in r.stdout.lower()
