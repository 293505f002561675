"""The NIS2 clock: checklist, hour and calendar-month deadlines across DST, statuses, matching."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.core.errors import ValidationError
from portguard.incidents.nis2 import (
    SIGNIFICANCE_CHECKLIST,
    STAGE_SPECS,
    CriterionCode,
    DeadlineStatus,
    IntermediateRequest,
    Nis2Clock,
    Nis2State,
    Stage,
    Submission,
    add_calendar_months,
    add_hours,
    compute_clock,
    criterion,
    financial_loss_threshold_eur,
    is_significant,
    local_to_utc,
    meets_financial_loss_criterion,
)

BRU = ZoneInfo("Europe/Brussels")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def bru(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Brussels wall-clock time (CET/CEST)."""
    return datetime(year, month, day, hour, minute, tzinfo=BRU)


def sub(stage: Stage, at: datetime, reference: str = "") -> Submission:
    return Submission(stage, at, "CCB", reference)


def clock(
    aware_at: datetime,
    now: datetime,
    *,
    significant: bool = True,
    resolved_at: datetime | None = None,
    submissions: tuple[Submission, ...] = (),
    requests: tuple[IntermediateRequest, ...] = (),
) -> Nis2Clock:
    state = Nis2State(aware_at, significant, resolved_at, submissions, requests)
    return compute_clock(state, now)


# --------------------------------------------------------------------------- checklist


def test_checklist_has_stable_codes_and_explanations() -> None:
    assert [c.code.value for c in SIGNIFICANCE_CHECKLIST] == [
        "severe_disruption_or_loss",
        "damage_to_others",
        "financial_loss",
        "trade_secrets",
        "death_or_health",
        "malicious_access",
        "recurring",
    ]
    for crit in SIGNIFICANCE_CHECKLIST:
        assert crit.label and crit.explanation and crit.source
    assert criterion("damage_to_others").source == "NIS2 Art. 23(3)(b)"
    assert criterion(CriterionCode.SEVERE_DISRUPTION_OR_LOSS).source == "NIS2 Art. 23(3)(a)"


def test_is_significant_checks_every_code() -> None:
    assert not is_significant([])
    assert is_significant(["trade_secrets"])
    with pytest.raises(ValidationError, match="unknown significance criterion 'bogus'"):
        is_significant(["trade_secrets", "bogus"])


@pytest.mark.parametrize(
    ("loss", "turnover", "expected"),
    [
        (500_001, 1_000_000_000, True),  # cap applies: 5 % would be 50 M
        (500_000, 1_000_000_000, False),  # equal to the threshold is not above it
        (50_001, 1_000_000, True),  # 5 % of turnover (50,000) is lower than the cap
        (50_000, 1_000_000, False),
        (499_999, 20_000_000, False),  # 5 % = 1 M, so the cap of 500,000 is the threshold
        (0.01, 0, True),
        (0, 0, False),
    ],
)
def test_financial_loss_criterion(loss: float, turnover: float, expected: bool) -> None:
    assert meets_financial_loss_criterion(loss, turnover) is expected


def test_financial_loss_threshold() -> None:
    assert financial_loss_threshold_eur(1_000_000_000) == 500_000
    assert financial_loss_threshold_eur(1_000_000) == pytest.approx(50_000)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True])
def test_financial_loss_refuses_nonsense(bad: float) -> None:
    with pytest.raises(ValidationError):
        meets_financial_loss_criterion(bad, 1_000_000)
    with pytest.raises(ValidationError):
        meets_financial_loss_criterion(1_000, bad)


def test_stage_specs_cover_every_stage() -> None:
    assert set(STAGE_SPECS) == set(Stage)
    assert all(
        spec.contents and spec.legal_basis.startswith("NIS2") for spec in STAGE_SPECS.values()
    )


# --------------------------------------------------------------------------- time arithmetic


def test_hour_deadlines_are_elapsed_time_across_autumn_dst() -> None:
    aware = bru(2026, 10, 24, 10)  # Saturday 10:00 CEST = 08:00 UTC; DST ends Sunday 03:00
    c = clock(aware, aware)
    assert c.early_warning.due_at == utc(2026, 10, 25, 8)
    local_due = c.early_warning.due_at.astimezone(BRU)
    assert (local_due.hour, local_due.tzname()) == (9, "CET")  # the wall clock shifted an hour
    assert c.notification.due_at == utc(2026, 10, 27, 8)  # 09:00 CET
    # One calendar month after the notification's due time, same local wall-clock time.
    assert c.progress.due_at == bru(2026, 11, 27, 9) == utc(2026, 11, 27, 8)


def test_hour_deadlines_across_spring_dst() -> None:
    aware = bru(2026, 3, 28, 12)  # Saturday 12:00 CET = 11:00 UTC; DST starts Sunday 02:00
    c = clock(aware, aware, resolved_at=aware + timedelta(hours=1))
    assert c.early_warning.due_at == utc(2026, 3, 29, 11)
    assert c.early_warning.due_at.astimezone(BRU).hour == 13  # 13:00 CEST
    assert c.notification.due_at == utc(2026, 3, 31, 11)  # Tuesday 13:00 CEST
    # Not yet resolved as of "now" (the resolution is in its future): progress report at 1 month.
    assert c.progress.due_at == bru(2026, 4, 30, 13)  # 31 March -> 30 April, clamped
    later = clock(aware, aware + timedelta(hours=2), resolved_at=aware + timedelta(hours=1))
    assert later.final.due_at == bru(2026, 4, 30, 13) == utc(2026, 4, 30, 11)
    assert later.progress.status is DeadlineStatus.NOT_REQUIRED


def test_calendar_month_keeps_local_wall_time_not_utc() -> None:
    # 10:00 CET on 4 March is 09:00 UTC; one month later is 10:00 CEST = 08:00 UTC.
    assert add_calendar_months(bru(2026, 3, 4, 10)) == utc(2026, 4, 4, 8)
    # ...and back across the autumn change: 10:00 CEST -> 10:00 CET.
    assert add_calendar_months(bru(2026, 10, 4, 10)) == utc(2026, 11, 4, 9)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (bru(2026, 1, 31, 15), 1, bru(2026, 2, 28, 15)),
        (bru(2028, 1, 31, 15), 1, bru(2028, 2, 29, 15)),  # leap year
        (bru(2026, 3, 31, 9), 1, bru(2026, 4, 30, 9)),
        (bru(2026, 12, 31, 23, 30), 1, bru(2027, 1, 31, 23, 30)),  # year rollover
        (bru(2026, 8, 31, 12), 6, bru(2027, 2, 28, 12)),
        (bru(2026, 2, 28, 8), 1, bru(2026, 3, 28, 8)),  # the day number is kept, not "month end"
    ],
)
def test_calendar_month_clamps_to_month_end(
    start: datetime, months: int, expected: datetime
) -> None:
    result = add_calendar_months(start, months)
    assert result == expected
    assert result.tzinfo is UTC


def test_calendar_month_into_spring_gap_takes_later_reading() -> None:
    # 02:30 on 28 March 2027 does not exist in Brussels (02:00 CET -> 03:00 CEST).
    result = add_calendar_months(bru(2027, 2, 28, 2, 30))
    assert result == utc(2027, 3, 28, 1, 30)
    assert result.astimezone(BRU).strftime("%H:%M %Z") == "03:30 CEST"


def test_calendar_month_into_autumn_fold_takes_second_occurrence() -> None:
    # 02:30 on 25 October 2026 happens twice (CEST, then CET): the later one counts.
    result = add_calendar_months(bru(2026, 9, 25, 2, 30))
    assert result == utc(2026, 10, 25, 1, 30)
    assert result.astimezone(BRU).strftime("%H:%M %Z") == "02:30 CET"


def test_local_to_utc() -> None:
    assert local_to_utc(datetime(2026, 7, 1, 12), BRU) == utc(2026, 7, 1, 10)
    assert local_to_utc(datetime(2026, 3, 29, 2, 0), BRU) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert local_to_utc(datetime(2026, 10, 25, 2, 0), BRU) == utc(2026, 10, 25, 1)  # 02:00 CET


def test_the_month_is_counted_in_the_authority_time_zone() -> None:
    start = utc(2026, 2, 28, 22, 30)
    # Brussels: 28 Feb 23:30 CET -> 28 March 23:30 CET (DST starts on the 29th).
    assert add_calendar_months(start) == utc(2026, 3, 28, 22, 30)
    # Helsinki: already 1 March 00:30 EET -> 1 April 00:30 EEST.
    assert add_calendar_months(start, tz="Europe/Helsinki") == utc(2026, 3, 31, 21, 30)


# --------------------------------------------------------------------------- final and progress


AWARE = utc(2026, 5, 10, 8)  # CEST throughout the scenarios below


def test_final_due_one_month_after_actual_notification_submission() -> None:
    nt = utc(2026, 5, 11, 14, 25)  # sent early, well before the 72 h deadline
    c = clock(
        AWARE,
        utc(2026, 5, 21),
        resolved_at=utc(2026, 5, 20),
        submissions=(sub(Stage.EARLY_WARNING, utc(2026, 5, 10, 20)), sub(Stage.NOTIFICATION, nt)),
    )
    assert c.final.due_at == utc(2026, 6, 11, 14, 25)
    assert c.final.status is DeadlineStatus.PENDING
    assert c.next_due is c.final
    assert c.progress.status is DeadlineStatus.NOT_REQUIRED


def test_final_due_from_notification_due_time_until_it_is_submitted() -> None:
    c = clock(AWARE, utc(2026, 5, 11), resolved_at=utc(2026, 5, 10, 20))
    assert c.final.due_at == utc(2026, 6, 13, 8)  # notification due 13 May 08:00 + 1 month


def test_late_notification_moves_the_final_deadline() -> None:
    nt = utc(2026, 5, 14, 9)  # due 13 May 08:00
    c = clock(
        AWARE,
        utc(2026, 5, 20),
        resolved_at=utc(2026, 5, 12),
        submissions=(sub(Stage.EARLY_WARNING, utc(2026, 5, 10, 9)), sub(Stage.NOTIFICATION, nt)),
    )
    assert c.notification.status is DeadlineStatus.SUBMITTED
    assert c.notification.submitted_late
    assert c.final.due_at == utc(2026, 6, 14, 9)


def test_progress_report_when_still_ongoing_at_one_month() -> None:
    subs = (
        sub(Stage.EARLY_WARNING, utc(2026, 5, 10, 9)),
        sub(Stage.NOTIFICATION, utc(2026, 5, 12, 8)),
    )
    before = clock(AWARE, utc(2026, 6, 1), submissions=subs)
    assert before.progress.due_at == utc(2026, 6, 12, 8)
    assert before.progress.status is DeadlineStatus.PENDING
    assert before.final.status is DeadlineStatus.PENDING
    assert before.final.due_at is None  # one month after a resolution that has not happened
    assert before.next_due is before.progress

    overdue = clock(AWARE, utc(2026, 6, 20), submissions=subs)
    assert overdue.progress.status is DeadlineStatus.OVERDUE
    assert overdue.overdue == [overdue.progress]

    resolved = utc(2026, 6, 25, 10)
    after = clock(
        AWARE,
        utc(2026, 7, 1),
        resolved_at=resolved,
        submissions=(*subs, sub(Stage.PROGRESS, utc(2026, 6, 12, 7))),
    )
    assert after.progress.status is DeadlineStatus.SUBMITTED
    assert not after.progress.submitted_late
    assert after.final.due_at == utc(2026, 7, 25, 10)
    assert after.final.status is DeadlineStatus.PENDING


def test_final_sent_by_the_deadline_while_open_needs_no_progress_report() -> None:
    subs = (
        sub(Stage.NOTIFICATION, utc(2026, 5, 12, 8)),
        sub(Stage.FINAL, utc(2026, 6, 10)),
    )
    c = clock(AWARE, utc(2026, 6, 20), submissions=subs)
    assert c.progress.status is DeadlineStatus.NOT_REQUIRED
    assert c.final.status is DeadlineStatus.SUBMITTED
    assert c.final.due_at == utc(2026, 6, 12, 8)
    assert c.overdue == []


# --------------------------------------------------------------------------- statuses


def test_overdue_statuses_and_time_left() -> None:
    now = utc(2026, 5, 14, 9)
    c = clock(AWARE, now)
    assert c.early_warning.status is DeadlineStatus.OVERDUE
    assert c.early_warning.time_left == -timedelta(days=3, hours=1)
    assert c.notification.status is DeadlineStatus.OVERDUE
    assert c.overdue == [c.early_warning, c.notification]  # most overdue first
    assert c.next_due is c.progress


def test_pending_exactly_at_due_time_and_on_time_submission() -> None:
    due = AWARE + timedelta(hours=24)
    c = clock(AWARE, due)
    assert c.early_warning.status is DeadlineStatus.PENDING
    assert c.early_warning.time_left == timedelta(0)
    on_time = clock(AWARE, due, submissions=(sub(Stage.EARLY_WARNING, due),))
    assert on_time.early_warning.status is DeadlineStatus.SUBMITTED
    assert not on_time.early_warning.submitted_late
    assert on_time.early_warning.time_left is None


def test_late_submission_is_flagged() -> None:
    late = AWARE + timedelta(hours=25)
    c = clock(AWARE, late + timedelta(hours=1), submissions=(sub(Stage.EARLY_WARNING, late),))
    assert c.early_warning.status is DeadlineStatus.SUBMITTED
    assert c.early_warning.submitted_late
    assert c.early_warning.submitted_at == late
    assert c.overdue == []


def test_first_submission_counts_later_ones_are_updates() -> None:
    first, update = AWARE + timedelta(hours=30), AWARE + timedelta(hours=60)
    c = clock(
        AWARE,
        AWARE + timedelta(hours=70),
        submissions=(sub(Stage.NOTIFICATION, update), sub(Stage.NOTIFICATION, first)),
    )
    assert c.notification.submitted_at == first


def test_notification_sent_within_24h_also_serves_as_early_warning() -> None:
    nt = AWARE + timedelta(hours=5)
    c = clock(AWARE, AWARE + timedelta(hours=30), submissions=(sub(Stage.NOTIFICATION, nt),))
    assert c.early_warning.status is DeadlineStatus.SUBMITTED
    assert c.early_warning.submitted_at == nt
    assert not c.early_warning.submitted_late


def test_not_significant_means_nothing_is_due() -> None:
    sent = AWARE + timedelta(hours=3)
    c = clock(
        AWARE,
        AWARE + timedelta(days=90),
        significant=False,
        submissions=(sub(Stage.EARLY_WARNING, sent),),
        requests=(IntermediateRequest(AWARE, AWARE + timedelta(days=1), "R1"),),
    )
    assert {d.status for d in c.deadlines} == {DeadlineStatus.NOT_REQUIRED}
    assert all(d.due_at is None and d.time_left is None for d in c.deadlines)
    assert c.overdue == [] and c.next_due is None
    assert c.early_warning.submitted_at == sent  # still recorded


def test_clock_is_computed_as_of_now() -> None:
    later = AWARE + timedelta(hours=20)
    c = clock(
        AWARE,
        AWARE + timedelta(hours=10),
        resolved_at=later,
        submissions=(sub(Stage.EARLY_WARNING, later),),
    )
    assert c.early_warning.status is DeadlineStatus.PENDING  # not sent yet as of now
    assert c.progress.status is DeadlineStatus.PENDING  # not resolved yet as of now


# --------------------------------------------------------------------------- intermediate


def test_intermediate_requests_are_matched_by_reference_then_in_order() -> None:
    r1 = IntermediateRequest(utc(2026, 5, 15, 9), utc(2026, 5, 17, 9), "CCB-REQ-1")
    r2 = IntermediateRequest(utc(2026, 5, 16, 9), utc(2026, 5, 18, 9), "CCB-REQ-2")
    r3 = IntermediateRequest(utc(2026, 5, 19, 9), utc(2026, 5, 20, 9), "CCB-REQ-3")
    future = IntermediateRequest(utc(2026, 6, 1), utc(2026, 6, 2), "CCB-REQ-4")
    subs = (
        sub(Stage.NOTIFICATION, utc(2026, 5, 11)),
        sub(Stage.INTERMEDIATE, utc(2026, 5, 16, 12), "CCB-REQ-2"),  # answers r2 by reference
        sub(Stage.INTERMEDIATE, utc(2026, 5, 17, 12)),  # no reference: the oldest open, r1 (late)
    )
    c = clock(AWARE, utc(2026, 5, 21), submissions=subs, requests=(r3, future, r2, r1))
    assert [d.reference for d in c.intermediate] == ["CCB-REQ-1", "CCB-REQ-2", "CCB-REQ-3"]
    one, two, three = c.intermediate
    assert one.status is DeadlineStatus.SUBMITTED and one.submitted_late
    assert two.status is DeadlineStatus.SUBMITTED and not two.submitted_late
    assert three.status is DeadlineStatus.OVERDUE
    assert c.overdue == [three]
    assert c.deadline(Stage.INTERMEDIATE) is three


def test_intermediate_placeholder_without_requests() -> None:
    c = clock(AWARE, AWARE)
    assert c.intermediate == []
    assert c.deadline(Stage.INTERMEDIATE).status is DeadlineStatus.NOT_REQUIRED


# --------------------------------------------------------------------------- validation and shape


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError, match="aware_at: must be timezone-aware"):
        Nis2State(datetime(2026, 5, 10, 8), True)
    with pytest.raises(ValidationError, match="now"):
        compute_clock(Nis2State(AWARE, True), datetime(2026, 5, 10, 8))


def test_bad_inputs_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        compute_clock(Nis2State(AWARE, True), AWARE, tz="Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown stage"):
        Submission("warning", AWARE)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="due_at"):
        IntermediateRequest(AWARE, AWARE - timedelta(hours=1))


def test_stage_strings_are_accepted_and_inputs_converted_to_utc() -> None:
    s = Submission("notification", bru(2026, 5, 10, 12))  # type: ignore[arg-type]
    assert s.stage is Stage.NOTIFICATION
    assert s.submitted_at.tzinfo is UTC and s.submitted_at == utc(2026, 5, 10, 10)


def test_clock_to_dict_is_json() -> None:
    c = clock(AWARE, utc(2026, 5, 14, 9))
    data = c.to_dict()
    json.dumps(data)
    assert data["deadlines"][0] == {
        "stage": "early_warning",
        "due_at": "2026-05-11T08:00:00+00:00",
        "status": "overdue",
        "submitted_at": None,
        "time_left_s": -(3 * 86400 + 3600),
        "submitted_late": False,
        "reference": None,
    }
    assert data["next_due"]["stage"] == "progress"


# --------------------------------------------------------------------------- properties

_INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)


@settings(database=None)
@given(aware=_INSTANTS, sent_after=st.integers(min_value=0, max_value=200 * 3600))
def test_due_times_are_monotonic(aware: datetime, sent_after: int) -> None:
    resolved = aware + timedelta(hours=1)
    now = aware + timedelta(hours=2)
    c = compute_clock(Nis2State(aware, True, resolved), now)
    assert c.early_warning.due_at is not None and c.notification.due_at is not None
    assert c.final.due_at is not None
    assert c.early_warning.due_at <= c.notification.due_at <= c.final.due_at

    sent = aware + timedelta(seconds=sent_after)
    with_sub = compute_clock(
        Nis2State(aware, True, resolved, [sub(Stage.NOTIFICATION, sent)]),
        sent + timedelta(hours=2),
    )
    assert with_sub.final.due_at is not None
    assert with_sub.early_warning.due_at <= with_sub.notification.due_at  # type: ignore[operator]
    assert sent < with_sub.final.due_at


@settings(database=None)
@given(start=_INSTANTS, months=st.integers(min_value=1, max_value=12))
def test_calendar_month_properties(start: datetime, months: int) -> None:
    result = add_calendar_months(start, months)
    assert result > start
    before, after = start.astimezone(BRU), result.astimezone(BRU)
    assert after.month == (before.month - 1 + months) % 12 + 1
    assert after.day <= before.day  # clamped to the month's last day, never later
    assert (after.minute, after.second, after.microsecond) == (
        before.minute,
        before.second,
        before.microsecond,
    )
    # Same wall-clock hour, except when it fell into the spring-forward gap (then one later).
    if after.hour != before.hour:
        assert after.hour == before.hour + 1
        gap = datetime(after.year, after.month, after.day, before.hour, before.minute)
        assert local_to_utc(gap, BRU).astimezone(BRU).hour == after.hour


def test_add_hours_is_utc() -> None:
    assert add_hours(bru(2026, 10, 24, 10), 24) == utc(2026, 10, 25, 8)
