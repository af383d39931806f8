"""EventBridge schedule expressions: ``rate(5 minutes)`` and 6-field ``cron(...)`` (pure logic).

AWS cron fields are minutes, hours, day-of-month, month, day-of-week (1 = SUN ... 7 = SAT, or SUN-SAT)
and year; exactly one of day-of-month and day-of-week is ``?``. Supported here: ``*``, ``?``, numbers,
names, ranges, lists and ``/`` steps. ``L``, ``W`` and ``#`` are rejected as unsupported locally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_LAST_YEAR = 2199


class ScheduleExpressionError(ValueError):
    """A schedule expression is invalid, or uses a feature the local timer does not support."""


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


FIELDS = (
    Field("minutes", 0, 59),
    Field("hours", 0, 23),
    Field("day-of-month", 1, 31),
    Field("month", 1, 12, MONTHS),
    Field("day-of-week", 1, 7, WEEKDAYS),
    Field("year", 1970, _LAST_YEAR),
)


def _value(text: str, field: Field) -> int:
    token = text.upper()
    if field.names and token in field.names:
        return field.names[token]
    if not token.isdigit() and any(marker in token for marker in "LW#"):
        raise ScheduleExpressionError(f"{field.name}: {text!r} (L, W and #) is unsupported locally")
    if not token.isdigit():
        raise ScheduleExpressionError(f"{field.name}: {text!r} is not a number or name")
    number = int(token)
    if not field.low <= number <= field.high:
        raise ScheduleExpressionError(f"{field.name}: {number} is outside {field.low}-{field.high}")
    return number


def parse_field(text: str, field: Field) -> frozenset[int] | None:
    """The values a field allows; None for ``?`` (no constraint from this field)."""
    if text == "?":
        if field.name not in ("day-of-month", "day-of-week"):
            raise ScheduleExpressionError(f"{field.name}: '?' is only allowed in the day fields")
        return None
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleExpressionError(f"{field.name}: bad step in {part!r}")
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            start, _, end = base.partition("-")
            low, high = _value(start, field), _value(end, field)
            if low > high:
                raise ScheduleExpressionError(f"{field.name}: range {base!r} runs backwards")
        else:
            low = _value(base, field)
            high = field.high if step else low
        values.update(range(low, high + 1, step or 1))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday
    years: frozenset[int]

    def matches(self, moment: datetime) -> bool:
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and self._day_matches(moment)
            and moment.month in self.months
            and moment.year in self.years
        )

    def _day_matches(self, moment: datetime) -> bool:
        if self.days is not None:
            return moment.day in self.days
        assert self.weekdays is not None
        return (moment.isoweekday() % 7) + 1 in self.weekdays

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching minute strictly after ``moment`` (same tzinfo), None if there is none."""
        candidate = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while candidate.year <= _LAST_YEAR:
            if candidate.year not in self.years:
                candidate = candidate.replace(year=candidate.year + 1, month=1, day=1, hour=0, minute=0)
            elif candidate.month not in self.months:
                month = candidate.month % 12 + 1
                year = candidate.year + (candidate.month == 12)
                candidate = candidate.replace(year=year, month=month, day=1, hour=0, minute=0)
            elif not self._day_matches(candidate):
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
            elif candidate.hour not in self.hours:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0)
            elif candidate.minute not in self.minutes:
                candidate += timedelta(minutes=1)
            else:
                return candidate
        return None


def parse(expression: str) -> Rate | Cron:
    """Parse ``rate(...)`` or ``cron(...)``; raises ScheduleExpressionError."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if amount <= 0:
            raise ScheduleExpressionError(f"{expression}: the rate must be positive")
        return Rate(amount * _UNITS[unit])
    cron = _CRON.match(text)
    if not cron:
        raise ScheduleExpressionError(f"{expression!r} is neither rate(...) nor cron(...)")
    parts = cron.group(1).split()
    if len(parts) != len(FIELDS):
        raise ScheduleExpressionError(f"{expression}: AWS cron needs 6 fields, got {len(parts)}")
    minutes, hours, days, months, weekdays, years = (
        parse_field(part, field) for part, field in zip(parts, FIELDS, strict=True)
    )
    if (days is None) == (weekdays is None):
        raise ScheduleExpressionError(
            f"{expression}: exactly one of day-of-month and day-of-week must be '?'"
        )
    if (
        minutes is None or hours is None or months is None or years is None
    ):  # parse_field allows ? only in day fields
        raise ScheduleExpressionError(f"{expression}: unexpected ?")
    return Cron(minutes, hours, days, months, weekdays, years)
