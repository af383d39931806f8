"""Legal deadlines of a request: GDPR Art. 12(3) and CCPA § 1798.130, from the day it was received.

- GDPR: one calendar month (the same day next month, or that month's last day when it has no such
  day: 31 January -> 28/29 February), extendable by two further months while the first is running.
- CCPA: 45 days, extendable once by 45 days while the first period is running.
- A complaint: ``days`` from receipt (30 unless the deployment sets ``DSAR_COMPLAINT_DAYS``),
  extendable once by as many days while the first period is running (ADR 0018).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from callproof.errors import Conflict

DUE_SOON_DAYS = 7


class Jurisdiction(StrEnum):
    GDPR = "gdpr"
    CCPA = "ccpa"


class DeadlineState(StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def add_months(day: date, months: int) -> date:
    """Calendar-month arithmetic: the same day ``months`` later, clamped to that month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def original_due(jurisdiction: Jurisdiction, received: date) -> date:
    if jurisdiction is Jurisdiction.GDPR:
        return add_months(received, 1)
    return received + timedelta(days=45)


def latest_due(jurisdiction: Jurisdiction, received: date) -> date:
    """The furthest any extension may take the deadline."""
    if jurisdiction is Jurisdiction.GDPR:
        return add_months(received, 3)
    return received + timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Deadline:
    jurisdiction: Jurisdiction
    received: date
    extended_to: date | None = None
    days: int | None = None  # a complaint's own period, instead of the jurisdiction's

    @property
    def original(self) -> date:
        if self.days is not None:
            return self.received + timedelta(days=self.days)
        return original_due(self.jurisdiction, self.received)

    @property
    def latest(self) -> date:
        """The furthest any extension may take the deadline."""
        if self.days is not None:
            return self.received + timedelta(days=2 * self.days)
        return latest_due(self.jurisdiction, self.received)

    @property
    def due(self) -> date:
        return self.extended_to or self.original

    def days_left(self, today: date) -> int:
        return (self.due - today).days

    def state(self, today: date) -> DeadlineState:
        left = self.days_left(today)
        if left < 0:
            return DeadlineState.OVERDUE
        return DeadlineState.DUE_SOON if left <= DUE_SOON_DAYS else DeadlineState.ON_TRACK

    def extend(self, today: date, to: date | None = None) -> Deadline:
        """The deadline after an extension decided ``today`` (default: the legal maximum).

        Refused once the original period has run out, for a second extension under the CCPA, and for
        a date beyond the legal maximum or not after the current due date."""
        if today > self.original:
            raise Conflict("the original due date has passed: the request can no longer be extended")
        if self.extended_to is not None and self.days is not None:
            raise Conflict("a complaint's deadline can be extended only once")
        if self.extended_to is not None and self.jurisdiction is Jurisdiction.CCPA:
            raise Conflict("a CCPA deadline can be extended only once")
        maximum = self.latest
        target = to or maximum
        if target > maximum:
            raise Conflict(f"the deadline can be extended to {maximum.isoformat()} at the latest")
        if target <= self.due:
            raise Conflict("an extension must move the due date later")
        return Deadline(self.jurisdiction, self.received, target, self.days)
