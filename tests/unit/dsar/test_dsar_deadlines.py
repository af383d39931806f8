"""Legal deadlines: calendar-month arithmetic (GDPR), 45 days (CCPA), extensions and states."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callproof.dsar.deadlines import Deadline, DeadlineState, Jurisdiction, add_months
from callproof.errors import Conflict

GDPR, CCPA = Jurisdiction.GDPR, Jurisdiction.CCPA


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 12, 15), date(2027, 1, 15)),
        (date(2026, 3, 31), date(2026, 4, 30)),
    ],
)
def test_gdpr_due_date_is_one_calendar_month(received: date, due: date) -> None:
    assert Deadline(GDPR, received).due == due


def test_ccpa_due_date_is_45_days() -> None:
    assert Deadline(CCPA, date(2026, 11, 1)).due == date(2026, 12, 16)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 36))
def test_add_months_lands_in_the_right_month_on_the_same_or_last_day(day: date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == day.day or (later.day < day.day and (later + timedelta(days=1)).day == 1)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.sampled_from([GDPR, CCPA]))
def test_an_extension_to_the_maximum_is_allowed_once_within_the_period(
    received: date, kind: Jurisdiction
) -> None:
    deadline = Deadline(kind, received)
    extended = deadline.extend(deadline.original)  # the last day of the original period still counts
    assert extended.due == (add_months(received, 3) if kind is GDPR else received + timedelta(days=90))
    with pytest.raises(Conflict):
        extended.extend(deadline.original)  # nothing beyond the maximum, nor a second CCPA extension


def test_extensions_are_refused_after_the_original_due_date_and_beyond_the_maximum() -> None:
    deadline = Deadline(GDPR, date(2026, 11, 20))
    with pytest.raises(Conflict, match="passed"):
        deadline.extend(date(2026, 12, 21))
    with pytest.raises(Conflict, match="at the latest"):
        deadline.extend(date(2026, 12, 1), date(2027, 3, 1))
    with pytest.raises(Conflict, match="later"):
        deadline.extend(date(2026, 12, 1), date(2026, 12, 10))
    partial = deadline.extend(date(2026, 12, 1), date(2027, 1, 20))
    assert partial.extend(date(2026, 12, 2)).due == date(2027, 2, 20)  # GDPR: up to the maximum in steps


def test_states() -> None:
    deadline = Deadline(CCPA, date(2026, 11, 1))  # due 2026-12-16
    assert deadline.state(date(2026, 12, 8)) is DeadlineState.ON_TRACK
    assert deadline.state(date(2026, 12, 9)) is DeadlineState.DUE_SOON
    assert deadline.state(date(2026, 12, 16)) is DeadlineState.DUE_SOON
    assert deadline.state(date(2026, 12, 17)) is DeadlineState.OVERDUE
    assert deadline.days_left(date(2026, 12, 17)) == -1
