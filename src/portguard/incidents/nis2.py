"""The NIS2 reporting clock: the significance checklist, the reporting stages and their deadlines.

Directive (EU) 2022/2555 ("NIS2"), Article 23, as applied by the Centre for Cybersecurity Belgium
(CCB). Pure: no database, no I/O; ``compute_clock`` is a function of an incident's reporting state
and "now", so the same call answers "what is due" live and "what was due then" in a replay.

Time rules (see also ``docs/nis2.md``)
--------------------------------------
* Inputs and outputs are timezone-aware datetimes in UTC. Naive datetimes are refused: a legal
  deadline must not depend on a guess about the time zone.
* **Hour deadlines are elapsed time.** The early warning is due ``aware_at + 24 h`` and the incident
  notification ``aware_at + 72 h``, computed in UTC. Across a daylight-saving change the local
  wall-clock time of the deadline therefore shifts by an hour: aware at 10:00 CEST on Saturday
  24 October 2026 means the early warning is due at 09:00 CET on Sunday 25 October (08:00 UTC).
* **"One month" is a calendar month in the authority's time zone** (default ``Europe/Brussels``):
  the same local wall-clock time on the same day number of the next month, clamped to that month's
  last day (31 January -> 28 or 29 February). If that local time does not exist (spring-forward
  gap) or exists twice (autumn fold), it resolves to the *later* of the two readings: a time in the
  gap moves forward by the gap's length (02:30 -> 03:30 CEST), a time in the fold takes its second
  occurrence (02:30 CET, not 02:30 CEST). This is the ``disambiguation="later"`` rule of
  JavaScript's Temporal, and it never makes a deadline earlier than the wall-clock reading.
* The clock is computed **as of** ``now``: submissions, authority requests and a resolution time
  later than ``now`` are ignored, so a replay at a past instant sees what was known then.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portguard.core.errors import ValidationError

__all__ = [
    "DEFAULT_TZ",
    "EARLY_WARNING_HOURS",
    "FINANCIAL_LOSS_CAP_EUR",
    "FINANCIAL_LOSS_TURNOVER_SHARE",
    "NOTIFICATION_HOURS",
    "SIGNIFICANCE_CHECKLIST",
    "STAGE_SPECS",
    "Criterion",
    "CriterionCode",
    "Deadline",
    "DeadlineStatus",
    "IntermediateRequest",
    "Nis2Clock",
    "Nis2State",
    "Stage",
    "StageSpec",
    "Submission",
    "add_calendar_months",
    "add_hours",
    "compute_clock",
    "criterion",
    "financial_loss_threshold_eur",
    "get_zone",
    "is_significant",
    "local_to_utc",
    "meets_financial_loss_criterion",
]

#: The authority's time zone, in which "one month" is counted (the CCB is in Brussels).
DEFAULT_TZ = "Europe/Brussels"
EARLY_WARNING_HOURS = 24
NOTIFICATION_HOURS = 72
#: CCB / Implementing Regulation (EU) 2024/2690: direct financial loss above EUR 500,000 or 5 % of
#: the annual turnover, whichever is lower.
FINANCIAL_LOSS_CAP_EUR = 500_000.0
FINANCIAL_LOSS_TURNOVER_SHARE = 0.05


# --------------------------------------------------------------------------- significance checklist


class CriterionCode(StrEnum):
    """Stable codes of the significance criteria; stored on incidents, never renamed."""

    SEVERE_DISRUPTION_OR_LOSS = "severe_disruption_or_loss"
    DAMAGE_TO_OTHERS = "damage_to_others"
    FINANCIAL_LOSS = "financial_loss"
    TRADE_SECRETS = "trade_secrets"
    DEATH_OR_HEALTH = "death_or_health"
    MALICIOUS_ACCESS = "malicious_access"
    RECURRING = "recurring"


@dataclass(frozen=True)
class Criterion:
    """One line of the significance checklist; one criterion met makes an incident significant."""

    code: CriterionCode
    label: str
    explanation: str
    #: Where the criterion comes from: the Directive article or the CCB guidance.
    source: str


SIGNIFICANCE_CHECKLIST: tuple[Criterion, ...] = (
    Criterion(
        CriterionCode.SEVERE_DISRUPTION_OR_LOSS,
        "Severe operational disruption or financial loss",
        "The incident has caused, or is capable of causing, severe operational disruption of the "
        "services the entity provides (for the port: vessel traffic, locks, bridges, terminals, "
        "access control) or financial loss for the entity.",
        "NIS2 Art. 23(3)(a)",
    ),
    Criterion(
        CriterionCode.DAMAGE_TO_OTHERS,
        "Considerable damage to other persons",
        "The incident has affected, or is capable of affecting, other natural or legal persons "
        "(port users, shipping companies, terminal operators, the public) by causing considerable "
        "material or non-material damage.",
        "NIS2 Art. 23(3)(b)",
    ),
    Criterion(
        CriterionCode.FINANCIAL_LOSS,
        "Direct financial loss above the threshold",
        "The incident has caused, or is capable of causing, a direct financial loss for the entity "
        "above EUR 500,000 or 5% of its total annual turnover in the preceding financial year, "
        "whichever is lower (see meets_financial_loss_criterion).",
        "CCB guidance (criteria of Implementing Regulation (EU) 2024/2690)",
    ),
    Criterion(
        CriterionCode.TRADE_SECRETS,
        "Exfiltration of trade secrets",
        "The incident has caused, or is capable of causing, the exfiltration of trade secrets "
        "within the meaning of Directive (EU) 2016/943.",
        "CCB guidance",
    ),
    Criterion(
        CriterionCode.DEATH_OR_HEALTH,
        "Death or considerable damage to health",
        "The incident has caused, or is capable of causing, the death of a natural person or "
        "considerable damage to a natural person's health.",
        "CCB guidance",
    ),
    Criterion(
        CriterionCode.MALICIOUS_ACCESS,
        "Successful, suspected-malicious unauthorised access",
        "A successful, suspectedly malicious and unauthorised access to network and information "
        "systems occurred which is capable of causing severe operational disruption.",
        "CCB guidance",
    ),
    Criterion(
        CriterionCode.RECURRING,
        "Recurring incidents with the same apparent root cause",
        "Incidents that individually are not significant occurred at least twice within six "
        "months, have the same apparent root cause, and together meet one of the thresholds "
        "above.",
        "CCB guidance (recurring incidents)",
    ),
)

_CRITERIA: Mapping[str, Criterion] = MappingProxyType(
    {c.code.value: c for c in SIGNIFICANCE_CHECKLIST}
)


def criterion(code: str) -> Criterion:
    """The checklist entry for ``code``; an unknown code is a ValidationError naming the codes."""
    try:
        return _CRITERIA[code]
    except KeyError:
        known = ", ".join(_CRITERIA)
        raise ValidationError(
            f"unknown significance criterion {code!r}; use one of {known}", location="criteria"
        ) from None


def is_significant(codes: Iterable[str]) -> bool:
    """True when at least one criterion is met; every code is checked, unknown ones refused."""
    return len([criterion(code) for code in codes]) > 0


def _amount(value: float, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"must be a finite number of euros, got {value!r}", location=where)
    if value < 0:
        raise ValidationError(f"must not be negative, got {value!r}", location=where)
    return float(value)


def financial_loss_threshold_eur(annual_turnover_eur: float) -> float:
    """The loss above which the financial criterion is met: min(EUR 500,000, 5 % of turnover)."""
    turnover = _amount(annual_turnover_eur, "annual_turnover_eur")
    return min(FINANCIAL_LOSS_CAP_EUR, FINANCIAL_LOSS_TURNOVER_SHARE * turnover)


def meets_financial_loss_criterion(loss_eur: float, annual_turnover_eur: float) -> bool:
    """Whether a direct financial loss is *above* the threshold (equal to it is not enough)."""
    loss = _amount(loss_eur, "loss_eur")
    return loss > financial_loss_threshold_eur(annual_turnover_eur)


# --------------------------------------------------------------------------- stages


class Stage(StrEnum):
    EARLY_WARNING = "early_warning"
    NOTIFICATION = "notification"
    INTERMEDIATE = "intermediate"
    PROGRESS = "progress"
    FINAL = "final"


class DeadlineStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    OVERDUE = "overdue"
    NOT_REQUIRED = "not_required"


@dataclass(frozen=True)
class StageSpec:
    """What a stage is, when it is due and what it must contain (the Directive's words)."""

    stage: Stage
    title: str
    legal_basis: str
    due_rule: str
    contents: tuple[str, ...]


STAGE_SPECS: Mapping[Stage, StageSpec] = MappingProxyType(
    {
        Stage.EARLY_WARNING: StageSpec(
            Stage.EARLY_WARNING,
            "Early warning",
            "NIS2 Art. 23(4)(a)",
            "24 hours (elapsed) after becoming aware of the significant incident.",
            (
                "whether the incident is suspected of being caused by unlawful or malicious acts",
                "whether the incident could have a cross-border impact",
            ),
        ),
        Stage.NOTIFICATION: StageSpec(
            Stage.NOTIFICATION,
            "Incident notification",
            "NIS2 Art. 23(4)(b)",
            "72 hours (elapsed) after becoming aware of the significant incident.",
            (
                "an update of the information in the early warning",
                "an initial assessment of the incident, including its severity and impact",
                "indicators of compromise, where available",
            ),
        ),
        Stage.INTERMEDIATE: StageSpec(
            Stage.INTERMEDIATE,
            "Intermediate report",
            "NIS2 Art. 23(4)(c)",
            "Only at the authority's request, by the time the request sets.",
            ("relevant status updates",),
        ),
        Stage.PROGRESS: StageSpec(
            Stage.PROGRESS,
            "Progress report",
            "NIS2 Art. 23(4)(e)",
            "When the final report would be due, if the incident is still ongoing then.",
            (
                "the state of the incident and of its handling",
                "what is known so far of the final report's contents",
            ),
        ),
        Stage.FINAL: StageSpec(
            Stage.FINAL,
            "Final report",
            "NIS2 Art. 23(4)(d) and (e)",
            "One calendar month after the incident notification was submitted (or was due); if "
            "the incident is still ongoing then, one calendar month after it is resolved.",
            (
                "a detailed description of the incident, including its severity and impact",
                "the type of threat or root cause that is likely to have triggered the incident",
                "applied and ongoing mitigation measures",
                "where applicable, the cross-border impact of the incident",
            ),
        ),
    }
)


# --------------------------------------------------------------------------- time


def get_zone(tz: str) -> ZoneInfo:
    """The IANA time zone ``tz``; an unknown or malformed name is a ValidationError."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"unknown time zone {tz!r}", location="tz") from None


def _utc(value: datetime, where: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(f"must be a datetime, got {type(value).__name__}", location=where)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("must be timezone-aware (UTC)", location=where)
    return value.astimezone(UTC)


def add_hours(start: datetime, hours: int) -> datetime:
    """``start + hours`` as elapsed time, in UTC (the local wall-clock time may shift at DST)."""
    return _utc(start, "start") + timedelta(hours=hours)


def local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time in ``zone`` as UTC; a gap or fold takes the later reading."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    # Normal time: both equal. Fold: fold=1 is the second occurrence. Gap: fold=0 reads the time
    # with the offset from before the change, i.e. shifted forward by the gap's length.
    return max(first, second)


def add_calendar_months(start: datetime, months: int = 1, *, tz: str = DEFAULT_TZ) -> datetime:
    """``start`` plus calendar months in ``tz``: same local time and day, clamped to month-end."""
    zone = get_zone(tz)
    local = _utc(start, "start").astimezone(zone)
    index = local.year * 12 + (local.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    wall = datetime(year, month, day, local.hour, local.minute, local.second, local.microsecond)
    return local_to_utc(wall, zone)


# --------------------------------------------------------------------------- state and clock


@dataclass(frozen=True)
class Submission:
    """A report sent to the authority.

    ``reference`` is the authority's reference for the submission (e.g. the CCB case number); for
    an intermediate report, giving the request's reference links the report to that request.
    """

    stage: Stage
    submitted_at: datetime
    authority: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "stage", Stage(self.stage))
        except ValueError:
            stages = ", ".join(s.value for s in Stage)
            raise ValidationError(
                f"unknown stage {self.stage!r}; use one of {stages}", location="stage"
            ) from None
        object.__setattr__(self, "submitted_at", _utc(self.submitted_at, "submitted_at"))


@dataclass(frozen=True)
class IntermediateRequest:
    """The authority asked for an intermediate report, due at ``due_at``."""

    requested_at: datetime
    due_at: datetime
    reference: str = ""

    def __post_init__(self) -> None:
        requested = _utc(self.requested_at, "requested_at")
        due = _utc(self.due_at, "due_at")
        if due < requested:
            raise ValidationError("must not be before requested_at", location="due_at")
        object.__setattr__(self, "requested_at", requested)
        object.__setattr__(self, "due_at", due)


@dataclass(frozen=True)
class Nis2State:
    """What the clock needs to know about one incident."""

    aware_at: datetime
    significant: bool
    resolved_at: datetime | None = None
    submissions: Sequence[Submission] = ()
    intermediate_requests: Sequence[IntermediateRequest] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "aware_at", _utc(self.aware_at, "aware_at"))
        if self.resolved_at is not None:
            object.__setattr__(self, "resolved_at", _utc(self.resolved_at, "resolved_at"))
        object.__setattr__(self, "submissions", tuple(self.submissions))
        object.__setattr__(self, "intermediate_requests", tuple(self.intermediate_requests))


@dataclass(frozen=True)
class Deadline:
    """One report's deadline and where it stands.

    ``due_at`` is None when the stage is not required, or when it is required but its due time is
    not known yet (the final report of an incident still ongoing at the one-month mark is due one
    month after a resolution that has not happened). ``time_left`` is ``due_at - now`` for pending
    and overdue deadlines (negative when overdue) and None otherwise. ``reference`` is the
    authority's request reference, for intermediate reports only.
    """

    stage: Stage
    due_at: datetime | None
    status: DeadlineStatus
    submitted_at: datetime | None = None
    time_left: timedelta | None = None
    submitted_late: bool = False
    reference: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ISO 8601 times, ``time_left_s`` in whole seconds."""
        return {
            "stage": self.stage.value,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "status": self.status.value,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "time_left_s": (
                int(self.time_left.total_seconds()) if self.time_left is not None else None
            ),
            "submitted_late": self.submitted_late,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class Nis2Clock:
    """Every reporting deadline of one incident as of ``computed_at``."""

    computed_at: datetime
    tz: str
    significant: bool
    early_warning: Deadline
    notification: Deadline
    #: One deadline per authority request, in the order the requests were made.
    intermediate: list[Deadline]
    progress: Deadline
    final: Deadline
    #: Overdue deadlines, most overdue first.
    overdue: list[Deadline]
    #: The pending deadline with the nearest due time, if any.
    next_due: Deadline | None

    @property
    def deadlines(self) -> list[Deadline]:
        """All deadlines in reporting order."""
        return [
            self.early_warning,
            self.notification,
            *self.intermediate,
            self.progress,
            self.final,
        ]

    def deadline(self, stage: Stage) -> Deadline:
        """The deadline of ``stage``. For intermediate reports: the most pressing open request,
        else the latest request, else a not-required placeholder."""
        match stage:
            case Stage.EARLY_WARNING:
                return self.early_warning
            case Stage.NOTIFICATION:
                return self.notification
            case Stage.PROGRESS:
                return self.progress
            case Stage.FINAL:
                return self.final
        open_ = [d for d in self.intermediate if d.status is not DeadlineStatus.SUBMITTED]
        if open_:
            return min(open_, key=lambda d: d.due_at or self.computed_at)
        if self.intermediate:
            return self.intermediate[-1]
        return Deadline(Stage.INTERMEDIATE, None, DeadlineStatus.NOT_REQUIRED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "computed_at": self.computed_at.isoformat(),
            "tz": self.tz,
            "significant": self.significant,
            "deadlines": [d.to_dict() for d in self.deadlines],
            "overdue": [d.to_dict() for d in self.overdue],
            "next_due": self.next_due.to_dict() if self.next_due else None,
        }


def _deadline(
    stage: Stage,
    due_at: datetime | None,
    submitted_at: datetime | None,
    now: datetime,
    reference: str | None = None,
) -> Deadline:
    if submitted_at is not None:
        late = due_at is not None and submitted_at > due_at
        return Deadline(
            stage, due_at, DeadlineStatus.SUBMITTED, submitted_at, None, late, reference
        )
    if due_at is None:
        return Deadline(stage, None, DeadlineStatus.PENDING, reference=reference)
    status = DeadlineStatus.OVERDUE if now > due_at else DeadlineStatus.PENDING
    return Deadline(stage, due_at, status, None, due_at - now, False, reference)


def _not_required(stage: Stage, submitted_at: datetime | None) -> Deadline:
    return Deadline(stage, None, DeadlineStatus.NOT_REQUIRED, submitted_at)


def _match_intermediate(
    requests: Sequence[IntermediateRequest], submissions: Sequence[Submission]
) -> dict[int, Submission]:
    """Pair requests with intermediate reports: by reference first, then chronologically (the
    earliest unused report sent after the request)."""
    matched: dict[int, Submission] = {}
    used: set[int] = set()
    refs = {r.reference for r in requests if r.reference}
    for i, req in enumerate(requests):
        if not req.reference:
            continue
        for j, sub in enumerate(submissions):
            if j not in used and sub.reference == req.reference:
                matched[i] = sub
                used.add(j)
                break
    for i, req in enumerate(requests):
        if i in matched:
            continue
        for j, sub in enumerate(submissions):
            if j in used or sub.reference in refs or sub.submitted_at < req.requested_at:
                continue
            matched[i] = sub
            used.add(j)
            break
    return matched


def compute_clock(state: Nis2State, now: datetime, tz: str = DEFAULT_TZ) -> Nis2Clock:
    """Every reporting deadline of an incident, as of ``now``.

    * Early warning: ``aware_at + 24 h``. An incident notification sent before any early warning
      also counts as the early warning (it contains everything the early warning must).
    * Notification: ``aware_at + 72 h``.
    * Intermediate: one deadline per authority request.
    * Final: one calendar month after the notification was submitted, or after its due time while
      it has not been. If the incident is not resolved by then (and no final report was sent by
      then), a progress report is due at that moment instead, and the final report is due one
      calendar month after resolution (unknown, ``due_at=None``, while it is still open).
    * Not significant: every stage ``not_required`` (``submitted_at`` still records a report that
      was sent anyway, e.g. before the incident was reclassified).

    The first submission of a stage is the one that counts; later ones are updates.
    """
    now = _utc(now, "now")
    get_zone(tz)
    subs = sorted((s for s in state.submissions if s.submitted_at <= now), key=_submitted_at)
    first: dict[Stage, datetime] = {}
    for sub in subs:
        first.setdefault(sub.stage, sub.submitted_at)
    requests = sorted(
        (r for r in state.intermediate_requests if r.requested_at <= now),
        key=lambda r: (r.requested_at, r.due_at, r.reference),
    )
    resolved = state.resolved_at if state.resolved_at and state.resolved_at <= now else None
    ew_submitted = min(
        (first[s] for s in (Stage.EARLY_WARNING, Stage.NOTIFICATION) if s in first), default=None
    )

    if not state.significant:
        return _assemble(
            now,
            tz,
            significant=False,
            early_warning=_not_required(Stage.EARLY_WARNING, first.get(Stage.EARLY_WARNING)),
            notification=_not_required(Stage.NOTIFICATION, first.get(Stage.NOTIFICATION)),
            intermediate=[
                Deadline(
                    Stage.INTERMEDIATE, None, DeadlineStatus.NOT_REQUIRED, reference=r.reference
                )
                for r in requests
            ],
            progress=_not_required(Stage.PROGRESS, first.get(Stage.PROGRESS)),
            final=_not_required(Stage.FINAL, first.get(Stage.FINAL)),
        )

    ew_due = add_hours(state.aware_at, EARLY_WARNING_HOURS)
    nt_due = add_hours(state.aware_at, NOTIFICATION_HOURS)
    nt_submitted = first.get(Stage.NOTIFICATION)
    final_nominal = add_calendar_months(nt_submitted or nt_due, 1, tz=tz)

    final_submitted = first.get(Stage.FINAL)
    ongoing_then = resolved is None or resolved > final_nominal
    final_sent_by_then = final_submitted is not None and final_submitted <= final_nominal
    if ongoing_then and not final_sent_by_then:
        progress = _deadline(Stage.PROGRESS, final_nominal, first.get(Stage.PROGRESS), now)
        final_due = add_calendar_months(resolved, 1, tz=tz) if resolved else None
    else:
        progress = _not_required(Stage.PROGRESS, first.get(Stage.PROGRESS))
        final_due = final_nominal

    answered = _match_intermediate(requests, [s for s in subs if s.stage is Stage.INTERMEDIATE])
    intermediate = [
        _deadline(
            Stage.INTERMEDIATE,
            req.due_at,
            answered[i].submitted_at if i in answered else None,
            now,
            reference=req.reference,
        )
        for i, req in enumerate(requests)
    ]
    return _assemble(
        now,
        tz,
        significant=True,
        early_warning=_deadline(Stage.EARLY_WARNING, ew_due, ew_submitted, now),
        notification=_deadline(Stage.NOTIFICATION, nt_due, nt_submitted, now),
        intermediate=intermediate,
        progress=progress,
        final=_deadline(Stage.FINAL, final_due, final_submitted, now),
    )


def _submitted_at(sub: Submission) -> datetime:
    return sub.submitted_at


def _assemble(
    now: datetime,
    tz: str,
    *,
    significant: bool,
    early_warning: Deadline,
    notification: Deadline,
    intermediate: list[Deadline],
    progress: Deadline,
    final: Deadline,
) -> Nis2Clock:
    everything = [early_warning, notification, *intermediate, progress, final]
    overdue = sorted(
        (d for d in everything if d.status is DeadlineStatus.OVERDUE),
        key=lambda d: d.due_at or now,
    )
    pending = [d for d in everything if d.status is DeadlineStatus.PENDING and d.due_at]
    next_due = min(pending, key=lambda d: d.due_at or now) if pending else None
    return Nis2Clock(
        computed_at=now,
        tz=tz,
        significant=significant,
        early_warning=early_warning,
        notification=notification,
        intermediate=intermediate,
        progress=progress,
        final=final,
        overdue=overdue,
        next_due=next_due,
    )
