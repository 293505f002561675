"""Demo day: a compressed day in the port, replayed in the background of `portguard demo`.

Everything goes through the real intake paths: access and infra records are validated and
published on the bus by the same functions the HTTP intake uses, so the real detectors decide
what is an alert; ISAC indicators go through the IntelHub. The day (default 24 h in 5 minutes of
wall time) carries routine traffic that must raise nothing (valid badges at terminal gates,
planned lock and bridge operations by the operator on shift) and, within its first minute, the
hybrid attack on Berendrecht lock: after the phishing mail (seeded by `seed_mail`) the phished
operator's account sends a lock command from a remote session, and a stolen container release
PIN (issued to that operator in the directory, so the incident engine ties it to him) is used at a
terminal gate it is not valid for. The loitering craft is the demo fleet's (MMSI
205123456 idles at the lock).

Records are stamped with the time they are published (the detectors and the intake's future
check see a live port); the time of day of the compressed day is each step's ``clock``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any, Final, Literal

from portguard.access.credentials import CredentialIn, upsert_credentials
from portguard.app.demo import DEMO_ADMIN
from portguard.app.runtime import Runtime
from portguard.core.auth import Role
from portguard.core.types import TLP
from portguard.intel.importers import parse_plain_list
from portguard.mail.portmail import generate
from portguard.portmodel import import_directory_csv
from portguard.portmodel.schedule import PlannedWindow

__all__ = ["DAY", "DEFAULT_SPEED", "DemoDay", "Step"]

log = logging.getLogger("portguard.demoday")

DAY: Final = timedelta(hours=24)
#: 24 h in 5 minutes: the attack (03:12-03:25 in the day) lands about 40 s after start.
DEFAULT_SPEED: Final = DAY.total_seconds() / 300.0

OPERATOR_ACCOUNT: Final = "jpeeters"  # phished (see demo.demo_mails)
ON_SHIFT_ACCOUNT: Final = "ajanssens"
CONTROL_ROOM: Final = "control-room-zandvliet"
STOLEN_PIN: Final = "RP-7731042"
#: Where today's planned passages are. Berendrecht lock (and its bridge) has none today, so a
#: command there is out of schedule (the demo runs the locks with `require_plan`: DEMO_INFRA).
LOCK_ASSETS: Final = ("zandvliet-lock", "zandvliet-bridge")
#: What the operators' shifts cover.
SHIFT_ASSETS: Final = frozenset({*LOCK_ASSETS, "berendrecht-lock"})

DIRECTORY: Final = (
    "person_id,name,organisation_id,organisation_name,role,emails,badges,accounts\n"
    "P-DEMO-01,Jan Peeters,poab,Port of Antwerp-Bruges,lock operator,"
    f"j.peeters@portofantwerpbruges.com,B-40411;{STOLEN_PIN},{OPERATOR_ACCOUNT}\n"
    "P-DEMO-02,An Janssens,poab,Port of Antwerp-Bruges,lock operator,"
    f"a.janssens@portofantwerpbruges.com,B-40412,{ON_SHIFT_ACCOUNT}\n"
)

#: Routine truck badges: (badge, holder, terminal facility, gate reader).
TRUCKS: Final = (
    ("T-1001", "D. Maes", "terminal-mpet", "terminal-mpet-gate-1"),
    ("T-1002", "S. Claes", "terminal-mpet", "terminal-mpet-gate-1"),
    ("T-1003", "K. Wouters", "terminal-antwerp-gateway", "terminal-antwerp-gateway-gate-1"),
    ("T-1004", "E. Jacobs", "terminal-antwerp-gateway", "terminal-antwerp-gateway-gate-1"),
    ("T-1005", "T. Mertens", "terminal-petrochem-lillo", "terminal-petrochem-lillo-gate-1"),
)  # fmt: skip

#: Vessels with a planned passage through the locks.
PASSAGES: Final = ("211331640", "244660000", "636019825", "538007123", "255806181", "229876000")

INDICATORS: Final = "portofantwerpbruges-login.com\nops.desk.mpet@gmail.com\n"

Kind = Literal["access", "infra", "intel", "mail"]


@dataclass(frozen=True)
class Step:
    """One thing to publish: ``at`` after start (wall time), ``clock`` its time in the day."""

    at: timedelta
    clock: timedelta
    kind: Kind
    note: str
    #: Intake records without ``time`` (stamped at publication); for ``intel``, one
    #: ``{"lines": ...}`` record for `parse_plain_list`.
    records: tuple[Mapping[str, Any], ...]
    attack: bool = False


class DemoDay:
    """Replays `schedule` on `runtime` in a background thread (`start`/`stop`), or at once
    (`run_all`, for tests)."""

    def __init__(
        self, runtime: Runtime, *, speed: float = DEFAULT_SPEED, mail_seed: int | None = None
    ) -> None:
        """``mail_seed`` picks the day's generated business mail; by default each run (its
        start time) gets other mail."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.runtime = runtime
        self.speed = speed
        self.mail_seed = mail_seed
        self.published: list[Step] = []
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._prepared = False

    # -- the day -----------------------------------------------------------------------------

    def _wall(self, clock: timedelta) -> timedelta:
        if math.isinf(self.speed):
            return timedelta(0)
        return clock / self.speed

    def schedule(self, now: datetime) -> list[Step]:
        """The day's steps, sorted by ``at``; record ids derive from ``now`` (one run)."""
        run = now.strftime("%Y%m%d%H%M%S")
        steps: list[Step] = []

        def add(
            clock: timedelta, kind: Kind, note: str, records: list[dict[str, Any]], *, attack: bool
        ) -> None:
            for n, rec in enumerate(records):
                if kind in ("access", "infra"):
                    rec.setdefault("id", f"{run}-{int(clock.total_seconds())}-{n}")
            steps.append(Step(self._wall(clock), clock, kind, note, tuple(records), attack=attack))

        add(timedelta(minutes=20), "intel", "ISAC: GREEN indicators of the phishing campaign",
            [{"lines": INDICATORS}], attack=False)  # fmt: skip
        # Routine mail: the port community's business mail (the project's own EN/NL/FR generator),
        # one message every 15 minutes through the real gateway.
        seed = int(now.timestamp()) % 10_000 if self.mail_seed is None else self.mail_seed
        for i, raw in enumerate(generate(24 * 4, seed=seed)):
            msg = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
            sender = parseaddr(str(msg["From"]))[1]
            rcpt = [a for _, a in getaddresses([str(msg["To"])]) if a]
            add(timedelta(minutes=15 * i + 7), "mail", f"mail from {sender}",
                [{"raw": raw, "from": sender, "to": rcpt}], attack=False)  # fmt: skip
        # Routine gate traffic: every 20 minutes one truck in and out at its terminal gate.
        for i, minute in enumerate(range(0, 24 * 60, 20)):
            badge, _, _, reader = TRUCKS[i % len(TRUCKS)]
            recs: list[dict[str, Any]] = [
                {"reader": reader, "badge": badge, "direction": d, "controller": f"demo-{reader}"}
                for d in ("in", "out")
            ]
            add(timedelta(minutes=minute), "access", f"truck {badge} through {reader}", recs,
                attack=False)  # fmt: skip
        # Planned lock passages and bridge openings every 2 hours, by the operator on shift.
        for i, hour in enumerate(range(1, 24, 2)):
            asset = LOCK_ASSETS[i % len(LOCK_ASSETS)]
            mmsi = PASSAGES[i % len(PASSAGES)]
            opens, closes = (
                ("raise_bridge", "lower_bridge")
                if "bridge" in asset
                else ("open_gate", "close_gate")
            )
            op = {"asset": asset, "type": "command", "account": ON_SHIFT_ACCOUNT,
                  "station": CONTROL_ROOM, "source": "demo-scada"}  # fmt: skip
            recs = [
                {"asset": asset, "type": "passage", "mmsi": mmsi, "source": "demo-planning"},
                op | {"command": opens},
                {"asset": asset, "type": "state", "state": "open", "source": "demo-scada"},
                op | {"command": closes},
                {"asset": asset, "type": "state", "state": "closed", "source": "demo-scada"},
            ]
            add(timedelta(hours=hour, minutes=30), "infra", f"planned passage of {mmsi} at {asset}",
                recs, attack=False)  # fmt: skip
        # The hybrid attack (the phishing mail came in at seeding; the craft loiters at the lock).
        add(timedelta(hours=3, minutes=12), "infra",
            "attack: lock command from the phished operator's account over a remote session",
            [{"asset": "berendrecht-lock", "type": "command", "command": "open_gate",
              "component": "gate-sea", "account": OPERATOR_ACCOUNT, "station": "vpn-remote",
              "host": "ews-07", "source": "demo-scada"}], attack=True)  # fmt: skip
        add(timedelta(hours=3, minutes=25), "access",
            "attack: stolen MPET container release PIN used at the Antwerp Gateway truck gate",
            [{"reader": "terminal-antwerp-gateway-gate-1", "badge": STOLEN_PIN, "direction": "in",
              "controller": "demo-terminal-antwerp-gateway-gate-1"}], attack=True)  # fmt: skip
        steps.sort(key=lambda s: (s.at, s.clock))
        return steps

    # -- running -----------------------------------------------------------------------------

    def prepare(self, now: datetime) -> None:
        """What the day needs in place: the directory, the credentials, today's shifts/plans."""
        if self._prepared:
            return
        rt = self.runtime
        creds = [
            CredentialIn(badge=b, holder=h, organisation="hauliers", clearances=[facility])
            for b, h, facility, _ in TRUCKS
        ]
        # The release PIN is only valid for a pickup at MPET.
        creds.append(
            CredentialIn(
                badge=STOLEN_PIN,
                holder="Release PIN MSCU 7731042",
                person_id="P-DEMO-01",
                organisation="poab",
                clearances=["terminal-mpet"],
            )
        )
        with rt.db.session() as session:
            report = import_directory_csv(
                session=session, text=DIRECTORY, actor="system:demo", source="demoday"
            )
            self.problems += report.problems
            upsert_credentials(
                session=session, credentials=creds, actor="system:demo", source="demoday"
            )
        rt.access.reload_credentials()
        places = SHIFT_ASSETS
        start, end = now - timedelta(hours=1), now + DAY
        rt.infra.add_window(
            "shift",
            PlannedWindow(start=start, end=end, places=places,
                          accounts=frozenset({ON_SHIFT_ACCOUNT}), note="demo day shift"),
        )  # fmt: skip
        # Jan Peeters is on the roster, but his shift starts after the demo day.
        rt.infra.add_window(
            "shift",
            PlannedWindow(start=end, end=end + timedelta(hours=8), places=places,
                          accounts=frozenset({OPERATOR_ACCOUNT}), note="demo day shift"),
        )  # fmt: skip
        rt.infra.add_window(
            "plan",
            PlannedWindow(
                start=start, end=end, places=frozenset(LOCK_ASSETS), note="demo day passages"
            ),
        )
        self._prepared = True

    def publish(self, step: Step) -> None:
        """Publish one step through its domain's intake, stamped with the current time."""
        rt = self.runtime
        now = rt.clock.now()
        where = f"demoday {step.note}"
        problems: list[str]
        if step.kind == "mail":
            for r in step.records:
                reply = rt.mail.submit(
                    bytes(r["raw"]), str(r["from"]), list(r["to"]),
                    client="192.0.2.25", helo="mail.partner.example",
                )  # fmt: skip
                if not reply.startswith("250"):
                    log.info("demo day: %s: %s", where, reply)
            problems = []
        elif step.kind == "intel":
            parsed = parse_plain_list(
                str(step.records[0]["lines"]), now=now, tlp=TLP.GREEN, label="demo-day"
            )
            with rt.db.session() as session:
                member = rt.intel.member(
                    session, username=DEMO_ADMIN, organisation=None, role=Role.ADMIN.value
                )
            result = rt.intel.ingest(
                member=member, parsed=parsed, tlp=TLP.GREEN, actor="system:demo"
            )
            problems = [str(f) for f in result.failures]
        else:
            records = [(where, dict(r) | {"time": now.isoformat()}) for r in step.records]
            if step.kind == "access":
                problems = rt.access.ingest_records(records, source="demoday").problems
            else:
                problems = rt.infra.ingest_records(records, source="demoday").problems
        for p in problems:
            log.warning("demo day: %s", p)
        self.problems += problems
        self.published.append(step)

    def run_all(self) -> list[Step]:
        """Publish the whole day at once (no waiting); returns the steps."""
        now = self.runtime.clock.now()
        self.prepare(now)
        steps = self.schedule(now)
        for step in steps:
            self.publish(step)
        return steps

    def start(self) -> None:
        if self._thread is not None:
            return
        now = self.runtime.clock.now()
        self.prepare(now)
        steps = self.schedule(now)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(steps,), name="demo day", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, steps: list[Step]) -> None:
        t0 = time.monotonic()
        for step in steps:
            delay = step.at.total_seconds() - (time.monotonic() - t0)
            if self._stop.wait(max(delay, 0.0)):
                return
            try:
                self.publish(step)
            except Exception:
                log.exception("demo day: step %r failed", step.note)
        log.info("demo day finished: %d steps", len(self.published))
