"""``portguard mail``: scan files offline, run the gateway, train and evaluate the classifier,
and work the quarantine."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from portguard.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbUrlOpt,
    err,
    load_settings,
    out,
    reports_errors,
)
from portguard.core.clock import ensure_utc
from portguard.core.errors import ConfigError, ValidationError

__all__ = ["app"]

app = typer.Typer(help="Mail gateway: scan, serve, train, eval, quarantine.", no_args_is_help=True)

MailConfigOpt = Annotated[
    Path | None,
    typer.Option("--mail-config", help="TOML or YAML file of mail settings (docs/mail.md)."),
]
ModelOpt = Annotated[Path | None, typer.Option("--model", help="Model file (default: shipped).")]


def _mail_settings(path: Path | None, **overrides: Any) -> Any:
    from portguard.mail.config import MailSettings

    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            loaded: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
            data = loaded if isinstance(loaded, dict) else {}
        except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        data = data.get("mail", data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return MailSettings.from_dict(data)


@app.command()
@reports_errors
def scan(
    paths: Annotated[
        list[Path],
        typer.Argument(exists=True, help=".eml files, folders or mboxes (one or more)."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
    mail_config: MailConfigOpt = None,
    model: ModelOpt = None,
) -> None:
    """Scan messages offline (no server, no database) and print their verdicts."""
    from portguard.mail.config import build_scanner
    from portguard.mail.training import iter_messages, message_files

    scanner = build_scanner(_mail_settings(mail_config, model=model))
    # Files are listed first (the bar's total) and read one at a time: a folder of a hundred
    # thousand messages is never held in memory.
    files = [f for p in paths for f in message_files(p)]
    table = Table("category", "score")
    # The message's name and its reasons wrap rather than being cut: they are what the
    # operator reads.
    table.add_column("message", overflow="fold", ratio=2)
    table.add_column("reasons", overflow="fold", ratio=3)
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files, {task.fields[messages]} messages"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("scan", total=len(files), messages=0)
        scanned = 0
        for file in files:
            for name, raw in iter_messages(file):
                msg, verdict = scanner.scan(raw)
                scanned += 1
                if as_json:
                    doc = {
                        "path": name,
                        **verdict.as_dict(),
                        "subject": msg.subject,
                        "from": msg.from_addr,
                    }
                    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                else:
                    reasons = ", ".join(f"{r.name} ({r.score:.1f})" for r in verdict.reasons[:4])
                    table.add_row(verdict.category.value, f"{verdict.score:.1f}", name, reasons)
                progress.update(task, messages=scanned)
            progress.advance(task)
    if not as_json:
        out.print(table)


@app.command()
@reports_errors
def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    mail_config: MailConfigOpt = None,
    listen: Annotated[str | None, typer.Option(help="host:port to accept mail on.")] = None,
    next_hop: Annotated[str | None, typer.Option(help="host:port to relay clean mail to.")] = None,
) -> None:
    """Run the SMTP gateway alone (no HTTP API) until interrupted."""
    from portguard.cli.common import open_db
    from portguard.core.bus import open_bus
    from portguard.core.db import Base
    from portguard.mail import models
    from portguard.mail.gateway import MailGateway

    settings = load_settings(config, data_dir=data_dir, database_url=database_url)
    ms = _mail_settings(mail_config, listen=listen, next_hop=next_hop)
    db = open_db(config, data_dir, database_url)
    # Until the app's migrations carry the mail tables, create them (a no-op once they do).
    mail_tables = [
        models.MailMessage.__table__,
        models.MailFeedback.__table__,
        models.MailDailyStat.__table__,
    ]
    Base.metadata.create_all(db.engine, tables=mail_tables)  # type: ignore[arg-type]
    bus = open_bus(settings)
    gw = MailGateway(ms, db=db, bus=bus, spool_dir=settings.data_dir / "mail-spool")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    gw.start()
    assert gw.smtp is not None
    err.print(f"mail gateway on {gw.smtp.host}:{gw.smtp.port}, relaying to {ms.next_hop}")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        gw.stop()
        bus.close()
        db.dispose()


def _specs(folders: list[str]) -> list[tuple[str, str, Path]]:
    specs = []
    for item in folders:
        label, sep, path = item.partition("=")
        if not sep:
            raise ValidationError("write LABEL=PATH (ham, spam or phishing)", location=item)
        specs.append((f"{label}:{path}", label, Path(path)))
    return specs


@app.command()
@reports_errors
def train(
    folders: Annotated[list[str], typer.Argument(help="LABEL=PATH, label ham|spam|phishing.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file to write.")],
    feedback: Annotated[
        Path | None,
        typer.Option(help="A spool's feedback/ folder: users' reports and releases join in."),
    ] = None,
) -> None:
    """Train the content classifier on labelled folders (and users' feedback)."""
    from portguard.mail.training import fit, load_labelled

    specs = _specs(folders)
    if feedback is not None:
        for label in ("ham", "spam", "phishing"):
            if (feedback / label).is_dir():
                specs.append((f"feedback:{label}", label, feedback / label))
    t0 = time.time()
    samples = load_labelled(specs)
    err.print(f"{len(samples)} messages read; training...")
    model = fit(
        samples,
        meta={
            "trained_on": [s[0] for s in specs],
            "messages": len(samples),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    model.save(output)
    err.print(
        f"model written to {output} ({output.stat().st_size:,} bytes, {time.time() - t0:.0f}s)"
    )


@app.command("eval")
@reports_errors
def evaluate(
    folders: Annotated[list[str], typer.Argument(help="LABEL=PATH, label ham|spam|phishing.")],
    folds: Annotated[int, typer.Option(min=2, max=20)] = 5,
    mail_config: MailConfigOpt = None,
) -> None:
    """Cross-validate: every message scored by a model that never saw it; share flagged."""
    from portguard.mail.config import build_scanner
    from portguard.mail.training import cross_validate, load_labelled

    samples = load_labelled(_specs(folders))
    scanner = build_scanner(_mail_settings(mail_config))
    evidence = cross_validate(samples, folds=folds)
    table = Table("folder", "messages", "flagged", "phishing", "spam", "malware")
    counts: dict[str, list[str]] = {}
    clf = scanner.ctx.classifier
    assert clf is not None
    for s, e in zip(samples, evidence, strict=True):
        counts.setdefault(s.group, []).append(scanner.decide(clf.weigh(e, s.rules)).category)
    for group, cats in counts.items():
        n = len(cats)
        share = {
            c: f"{100 * sum(x == c for x in cats) / n:.1f}%"
            for c in ("phishing", "spam", "malware")
        }
        flagged = sum(x in ("phishing", "spam", "malware") for x in cats)
        table.add_row(
            group,
            str(n),
            f"{100 * flagged / n:.1f}%",
            share["phishing"],
            share["spam"],
            share["malware"],
        )
    out.print(table)


def _gateway(
    config: Path | None, data_dir: Path | None, database_url: str | None, mail_config: Path | None
) -> Any:
    from portguard.cli.common import open_db
    from portguard.mail.gateway import MailGateway

    settings = load_settings(config, data_dir=data_dir, database_url=database_url)
    db = open_db(config, data_dir, database_url)
    return MailGateway(
        _mail_settings(mail_config), db=db, spool_dir=settings.data_dir / "mail-spool"
    )


@app.command("list")
@reports_errors
def list_messages(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    status: Annotated[
        str, typer.Option(help="quarantined, queued, delivered, released, ... or any")
    ] = "quarantined",
    sender: Annotated[str | None, typer.Option(help="Sender contains.")] = None,
    recipient: Annotated[str | None, typer.Option(help="A recipient contains.")] = None,
    subject: Annotated[str | None, typer.Option(help="Subject contains.")] = None,
    category: Annotated[
        str | None, typer.Option(help="clean, bulk, spam, phishing or malware")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Received at or after (ISO date/time, UTC).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Received before (UTC).")] = None,
    q: Annotated[str | None, typer.Option(help="Sender, recipient or subject contains.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Search the quarantine (or every verdict with --status any)."""
    from portguard.cli.common import open_db
    from portguard.mail import service
    from portguard.mail.schemas import Category, QuarantineRead

    if status != "any" and status not in service.STATUSES:
        raise ValidationError(
            f"unknown status {status!r}: one of {', '.join(service.STATUSES)} or any",
            location="--status",
        )
    if category is not None and category not in {c.value for c in Category}:
        raise ValidationError(
            f"unknown category {category!r}: one of {', '.join(c.value for c in Category)}",
            location="--category",
        )
    db = open_db(config, data_dir, database_url)
    table = Table("id", "received", "category", "score", "from", "to", "subject", "status")
    with db.session() as session:
        rows = service.search_messages(
            session=session,
            status=None if status == "any" else status,
            sender=sender,
            recipient=recipient,
            subject=subject,
            category=category,
            # A time without a zone on the command line is UTC, as stored.
            since=ensure_utc(since) if since else None,
            until=ensure_utc(until) if until else None,
            q=q,
            limit=limit,
        )
        for r in rows:
            if as_json:
                read = QuarantineRead.model_validate(r)
                sys.stdout.write(read.model_dump_json() + "\n")
                continue
            table.add_row(
                r.id,
                r.received_at.strftime("%Y-%m-%d %H:%M"),
                r.category,
                f"{r.score:.1f}",
                r.sender,
                ", ".join(r.recipients[:2]),
                r.subject[:60],
                r.status,
            )
    if not as_json:
        out.print(table)


@app.command()
@reports_errors
def show(
    sid: str,
    raw: Annotated[
        bool, typer.Option("--raw", help="Write the held message itself to stdout (audited).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The verdict as JSON.")] = False,
    actor: Annotated[str, typer.Option(help="Who reads it (audit log, with --raw).")] = "cli",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """One verdict with its reasons, or with --raw the held message itself."""
    from portguard.cli.common import open_db
    from portguard.mail import service
    from portguard.mail.schemas import QuarantineRead

    if raw:
        gw = _gateway(config, data_dir, database_url, None)
        data = gw.quarantined_raw(sid)
        with gw.db.session() as session:
            service.record_raw_read(session=session, sid=sid, actor=f"cli:{actor}")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    db = open_db(config, data_dir, database_url)
    with db.session() as session:
        read = QuarantineRead.model_validate(service.get_message(session=session, sid=sid))
    if as_json:
        sys.stdout.write(read.model_dump_json() + "\n")
        return
    out.print(
        f"[bold]{read.id}[/]  {read.received_at:%Y-%m-%d %H:%M} UTC  {read.status}\n"
        f"from {read.sender} to {', '.join(read.recipients[:5])}\n"
        f"subject {read.subject}\n"
        f"[bold]{read.category}[/], score {read.score:.1f}",
        highlight=False,
    )
    table = Table("reason", "score", "detail")
    for r in read.reasons:
        score = f"{float(r.get('score', 0)):.1f}"
        table.add_row(str(r.get("name", "")), score, str(r.get("detail", "")))
    out.print(table)


def _act(
    action: str,
    sid: str,
    actor: str,
    config: Path | None,
    data_dir: Path | None,
    database_url: str | None,
    label: str = "",
) -> None:
    gw = _gateway(config, data_dir, database_url, None)
    if action == "release":
        gw.release(sid, actor=actor)
    elif action == "delete":
        gw.delete(sid, actor=actor)
    else:
        gw.report(sid, label, actor=actor)
    out.print(f"{sid}: {action}{' ' + label if label else ''}")


ActorOpt = Annotated[str, typer.Option(help="Who does it (audit log).")]


@app.command()
@reports_errors
def release(
    sid: str,
    actor: ActorOpt = "cli",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Release a quarantined message to the next hop (the running gateway relays it)."""
    _act("release", sid, f"cli:{actor}", config, data_dir, database_url)


@app.command()
@reports_errors
def delete(
    sid: str,
    actor: ActorOpt = "cli",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Delete a quarantined message."""
    _act("delete", sid, f"cli:{actor}", config, data_dir, database_url)


@app.command()
@reports_errors
def report(
    sid: str,
    label: Annotated[str, typer.Argument(help="phishing, spam or ham")],
    actor: ActorOpt = "cli",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Report a message as phishing / spam / not phishing (ham)."""
    if label not in ("phishing", "spam", "ham"):
        raise ValidationError("label must be phishing, spam or ham", location="LABEL")
    _act("report", sid, f"cli:{actor}", config, data_dir, database_url, label)


@app.command()
@reports_errors
def stats(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    period: Annotated[str, typer.Option(help="day or month")] = "day",
) -> None:
    """Messages scanned and blocked per day or month."""
    from portguard.cli.common import open_db
    from portguard.mail import service

    db = open_db(config, data_dir, database_url)
    table = Table(period, "scanned", "phishing", "spam", "malware", "bulk", "clean", "rejected")
    with db.session() as session:
        for s in service.stats(session=session, period=period):
            table.add_row(
                s.period,
                *(
                    str(getattr(s, k))
                    for k in ("scanned", "phishing", "spam", "malware", "bulk", "clean", "rejected")
                ),
            )
    out.print(table)


@app.command()
@reports_errors
def correspondents(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    q: Annotated[str | None, typer.Option(help="Address contains.")] = None,
    limit: int = 50,
) -> None:
    """Senders whose authenticated mail was delivered here (known correspondents, docs/mail.md)."""
    from portguard.cli.common import open_db
    from portguard.mail import service

    db = open_db(config, data_dir, database_url)
    table = Table("delivered", "reported", "since", "last", title="Known correspondents")
    table.add_column("address", no_wrap=True)
    with db.session() as session:
        for r in service.search_correspondents(session=session, q=q, limit=limit):
            table.add_row(
                str(r.delivered),
                str(r.reported),
                r.first_seen.strftime("%Y-%m-%d"),
                r.last_seen.strftime("%Y-%m-%d"),
                r.address,
            )
    out.print(table)


@app.command()
@reports_errors
def forget(
    address: Annotated[str, typer.Argument(help="The sender's address.")],
    actor: ActorOpt = "cli",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Drop a sender's history (audited): its mail earns no credit until it builds one again.
    A running gateway stops crediting it at its next message."""
    _gateway(config, data_dir, database_url, None).forget_correspondent(
        address, actor=f"cli:{actor}"
    )
    out.print(f"{address}: forgotten")
