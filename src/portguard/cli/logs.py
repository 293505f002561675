"""``portguard logs``: scan log files with Sigma rules, listen for syslog, check rule folders."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from portguard.cli.common import ConfigOpt, DataDirOpt, err, load_settings, out, reports_errors
from portguard.core.types import Alert

__all__ = ["app"]

app = typer.Typer(
    help="IT/OT logs: Sigma detection on EVTX, JSON lines and syslog.", no_args_is_help=True
)
rules_app = typer.Typer(help="Sigma rule folders.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", "-r", help="Sigma rule folder or file (repeatable)."),
]
NoBuiltinOpt = Annotated[
    bool, typer.Option("--no-builtin", help="Do not load PortGuard's own port rules.")
]


_SUFFIXES = (".evtx", ".json", ".jsonl", ".ndjson", ".log", ".syslog")


def _alert_json(alert: Alert) -> dict[str, Any]:
    attrs = alert.attributes
    sigma = attrs.get("sigma", {})
    return {
        "rule_id": alert.rule_id,
        "title": alert.title,
        "level": sigma.get("level", str(alert.severity)),
        "severity": str(alert.severity),
        "attack": attrs.get("attack", []),
        "source": attrs.get("source"),
        "position": attrs.get("position"),
        "entities": [e.key for e in alert.entities],
        "observed_at": alert.observed_at.isoformat(),
        "fingerprint": alert.fingerprint,
        "event": attrs.get("event", {}),
    }


@app.command("scan")
@reports_errors
def scan(
    paths: Annotated[list[Path], typer.Argument(help="EVTX, JSON-lines or syslog files/folders.")],
    rules: RulesOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per alert.")] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="evtx | jsonl | syslog (default: detect).")
    ] = None,
    no_builtin: NoBuiltinOpt = False,
) -> None:
    """Run Sigma rules over log files and print the alerts."""
    from portguard.logs.service import LogWatch

    watch = LogWatch(rules or [], builtin_rules=not no_builtin)
    for problem in watch.ruleset.problems:
        err.print(
            f"rule not loaded: {problem.location}: {problem.reason}", highlight=False, markup=False
        )
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _SUFFIXES)
            )
        else:
            files.append(p)
    t0 = time.perf_counter()
    records = alerts = errors = 0
    table = Table("level", "rule", "title", "source", "position")
    for f in files:
        result = watch.scan_path(f, fmt=fmt)
        records += result.records
        errors += result.error_count
        for e in result.errors:
            err.print(f"skipped: {e}", highlight=False, markup=False)
        for a in result.alerts:
            alerts += 1
            j = _alert_json(a)
            if as_json:
                typer.echo(json.dumps(j, default=str, ensure_ascii=False))
            else:
                table.add_row(j["level"], a.rule_id, a.title, str(j["source"]), str(j["position"]))
    if not as_json:
        out.print(table)
    err.print(
        f"{len(files)} files, {records} records, {alerts} alerts, {errors} records skipped, "
        f"{len(watch.ruleset.rules)} rules ({len(watch.ruleset.problems)} not loaded), "
        f"{time.perf_counter() - t0:.2f} s",
        highlight=False,
    )


@app.command("listen")
@reports_errors
def listen(
    rules: RulesOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    udp_port: Annotated[int | None, typer.Option("--udp-port", help="Syslog over UDP.")] = 5514,
    tcp_port: Annotated[int | None, typer.Option("--tcp-port", help="Syslog over TCP.")] = None,
    no_bus: Annotated[
        bool, typer.Option("--no-bus", help="Print alerts, publish nothing.")
    ] = False,
    no_builtin: NoBuiltinOpt = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Listen for syslog (RFC 3164/5424) and publish alerts on the bus for incidents."""
    from portguard.core.bus import open_bus
    from portguard.logs.service import LogWatch

    bus = None if no_bus else open_bus(load_settings(config, data_dir=data_dir))

    def show(alert: Alert) -> None:
        typer.echo(json.dumps(_alert_json(alert), default=str, ensure_ascii=False))

    watch = LogWatch(rules or [], bus=bus, builtin_rules=not no_builtin, on_alert=show)
    ports = watch.start_syslog(host, udp_port=udp_port, tcp_port=tcp_port)
    err.print(f"listening on {host} {ports}; {len(watch.ruleset.rules)} rules", highlight=False)
    try:
        while True:
            time.sleep(1)
    finally:
        watch.stop()
        if bus is not None:
            bus.close()


@rules_app.command("check")
@reports_errors
def check(
    dirs: Annotated[list[Path], typer.Argument(help="Rule folders or files.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Which rules load, which do not and why. Exit code 1 when any does not."""
    from portguard.logs.sigma.loader import load_rules

    rs = load_rules(dirs)
    if as_json:
        typer.echo(json.dumps({**rs.summary(), "not_loaded": [p.as_dict() for p in rs.problems]}))
    else:
        for p in rs.problems:
            out.print(f"[red]✗[/] {p.location or p.path}: {p.reason}", highlight=False)
        s = rs.summary()
        out.print(
            f"{s['files']} files: {s['rules']} rules and {s['correlations']} correlations "
            f"load; {s['problems']} problems",
            highlight=False,
        )
    if rs.problems:
        raise typer.Exit(1)
