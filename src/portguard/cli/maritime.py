"""``portguard ais``: replay a file, listen to live feeds, look up a vessel."""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from portguard.cli.common import (
    ConfigOpt,
    DataDirOpt,
    DbUrlOpt,
    err,
    load_settings,
    out,
    reports_errors,
)
from portguard.core.errors import ConfigError, NotFoundError, ValidationError
from portguard.core.types import Alert
from portguard.maritime import (
    Finding,
    MaritimeConfig,
    MaritimeSettings,
    MaritimeWatch,
    finding_json,
)
from portguard.maritime.intake import read_batches
from portguard.portmodel import PortModel, builtin_port_model, load_port_model

__all__ = ["app"]

app = typer.Typer(help="AIS: replay files, listen to feeds, look up vessels.", no_args_is_help=True)

PortModelOpt = Annotated[
    Path | None,
    typer.Option("--port-model", help="GeoJSON whose zones are added to the built-in model."),
]
RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="YAML detector thresholds (see docs/maritime.md).")
]


def _model(extra: Path | None) -> PortModel:
    base = builtin_port_model()
    if extra is None:
        return base
    own = load_port_model(extra)
    clash = sorted({f.id for f in own} & {f.id for f in base})
    if clash:
        raise ValidationError(
            f"feature ids already in the built-in model: {', '.join(clash)}", location=str(extra)
        )
    return PortModel([*base.features, *own.features], name=base.name, source=str(extra))


def _rules(path: Path | None) -> MaritimeConfig:
    if path is None:
        return MaritimeConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return MaritimeConfig.from_dict(data)


def _start(text: str | None, file: Path) -> float | None:
    if text:
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise ValidationError(f"not an ISO-8601 time: {text!r}", location="--start") from None
    m = re.search(r"(\d{4})-(\d{2})-(\d{2})", file.name)
    if m:
        y, mo, d = (int(x) for x in m.groups())
        return dt.datetime(y, mo, d, tzinfo=dt.UTC).timestamp()
    return file.stat().st_mtime


def _printer(as_json: bool) -> Any:
    def show(alert: Alert, finding: Finding) -> None:
        if as_json:
            typer.echo(json.dumps(finding_json(finding, watch_ref[0].pipeline.registry)))
        else:
            who = ",".join(f"{m:09d}" for m in finding.mmsi)
            where = " ".join(x for x in (finding.zone, finding.asset) if x)
            out.print(
                f"[bold]{finding.kind}[/] {alert.severity} {who} {where}: {finding.why}",
                highlight=False,
            )

    watch_ref: list[MaritimeWatch] = []
    return show, watch_ref


@app.command()
@reports_errors
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="NMEA file.")],
    speed: Annotated[
        str, typer.Option(help="'max', or a factor of real time (1 = real pace).")
    ] = "max",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per alert.")] = False,
    port_model: PortModelOpt = None,
    rules: RulesOpt = None,
    start: Annotated[
        str | None,
        typer.Option(help="Feed start (ISO) for files without tag blocks or base stations."),
    ] = None,
    stats: Annotated[bool, typer.Option(help="Print intake counters on stderr.")] = True,
) -> None:
    """Replay an NMEA file through every detector, offline; alerts go to stdout."""
    factor = None if speed == "max" else float(speed)
    if factor is not None and factor <= 0:
        raise ValidationError("--speed must be 'max' or a positive number", location="--speed")
    show, ref = _printer(as_json)
    settings = MaritimeSettings(detectors=_rules(rules), store_positions=False, live_clock=False)
    watch = MaritimeWatch(
        settings, port_model=_model(port_model), on_alert=show, start_time=_start(start, file)
    )
    ref.append(watch)
    t0 = time.monotonic()
    c0: float | None = None
    for batch in read_batches(file, 4096 if factor is None else 32):
        watch.process(batch)
        if factor is not None:
            c0 = watch.pipeline.clock if c0 is None else c0
            ahead = (watch.pipeline.clock - c0) / factor - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(min(ahead, 60.0))
    watch.finish()
    if stats:
        err.print(json.dumps(watch.stats()), highlight=False)


@app.command()
@reports_errors
def listen(
    tcp: Annotated[list[str] | None, typer.Option(help="Listen on HOST:PORT (TCP).")] = None,
    udp: Annotated[list[str] | None, typer.Option(help="Listen on HOST:PORT (UDP).")] = None,
    connect: Annotated[list[str] | None, typer.Option(help="Connect to a feed HOST:PORT.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    publish: Annotated[
        bool,
        typer.Option(help="Publish alerts on the configured bus and store tracks in the database."),
    ] = False,
    port_model: PortModelOpt = None,
    rules: RulesOpt = None,
    seconds: Annotated[float | None, typer.Option(help="Stop after this long.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Watch live AIS feeds; alerts go to stdout (and the bus with --publish)."""
    if not (tcp or udp or connect):
        raise ValidationError("give at least one of --tcp, --udp, --connect")
    show, ref = _printer(as_json)
    bus = db = None
    if publish:
        from portguard.app.runtime import open_database
        from portguard.core.bus import open_bus

        s = load_settings(config, data_dir=data_dir, database_url=database_url)
        db, bus = open_database(s), open_bus(s)
    settings = MaritimeSettings(
        detectors=_rules(rules),
        tcp_listen=tcp or [],
        udp_listen=udp or [],
        tcp_connect=connect or [],
    )
    watch = MaritimeWatch(settings, port_model=_model(port_model), bus=bus, db=db, on_alert=show)
    ref.append(watch)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    watch.start()
    err.print("listening; Ctrl-C to stop", highlight=False)
    try:
        done.wait(seconds)
    finally:
        watch.stop()
        err.print(json.dumps(watch.stats()), highlight=False)


@app.command()
@reports_errors
def vessel(
    mmsi: Annotated[str, typer.Argument(help="9-digit MMSI.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: Annotated[int, typer.Option(min=1)] = 20,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """A vessel's registry data and its latest stored positions."""
    from portguard.app.runtime import open_database
    from portguard.maritime.models import VesselRow
    from portguard.maritime.store import positions

    if not mmsi.isdigit():
        raise ValidationError("MMSI must be digits", location="mmsi")
    db = open_database(load_settings(config, data_dir=data_dir, database_url=database_url))
    with db.session() as session:
        row = session.get(VesselRow, int(mmsi))
        pts = positions(session=session, mmsi=int(mmsi), limit=limit)
        if row is None and not pts:
            raise NotFoundError(f"no vessel with MMSI {int(mmsi):09d} is stored")
        info = {c.name: getattr(row, c.name) for c in VesselRow.__table__.columns} if row else {}
        track = [
            {
                "t": dt.datetime.fromtimestamp(p.t, tz=dt.UTC).isoformat(),
                "lat": p.lat,
                "lon": p.lon,
                "sog": p.sog,
                "cog": p.cog,
            }
            for p in pts
        ]
    db.dispose()
    if as_json:
        typer.echo(json.dumps({"vessel": info, "track": track}))
        return
    for k, v in info.items():
        out.print(f"{k:12} {v}", highlight=False)
    for p in track:
        out.print(f"  {p['t']}  {p['lat']:.5f} {p['lon']:.5f}  {p['sog']} kn", highlight=False)
