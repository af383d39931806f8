"""The retention rules, declared once: one row per store of personal data (the data-subject request
registry's stores, by the same names). The daily purge, the ``/v1/org/settings`` limits and
``docs/retention.md`` (``retention.docs``) are all read from ``RULES``; nothing else states a period.

``purged=False`` marks a store whose purge adapter is not built yet: the rule (and the org's setting)
exists, and ``docs/retention.md`` says the daily job does not reach it yet.

A rule's ``maximum`` is the longest an org may keep the data and also its default; an org admin may
shorten it (``OrgSettingsIn.retention``), never lengthen it. An ``opt_in`` rule (contacts nobody
touched) purges nothing until the org sets a period.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Unit(StrEnum):
    DAYS = "days"
    MONTHS = "months"


@dataclass(frozen=True, slots=True)
class RetentionRule:
    store: str  # the store's name (as in the DSAR registry); the key of the org's setting
    keeps: str  # what the store holds, for people
    counted_from: str  # the moment the period starts
    unit: Unit
    maximum: int  # the longest period (and the default, unless ``opt_in``)
    minimum: int = 1  # the shortest period an org may set
    opt_in: bool = False  # nothing is purged until the org sets a period
    note: str = ""  # what happens at the end, when it is more than "deleted"
    purged: bool = True  # False: the daily purge has no adapter for this store yet (docs say so)

    def period_text(self, value: int) -> str:
        unit = self.unit.value if value != 1 else self.unit.value[:-1]
        return f"{value} {unit}"


RULES: tuple[RetentionRule, ...] = (
    RetentionRule(
        "mail",
        "synced Gmail messages: the index items and their bodies in S3 (every version)",
        "the message's receipt (its internal date)",
        Unit.MONTHS,
        24,
    ),
    RetentionRule(
        "sms",
        "SMS thread messages (bodies, directions, statuses)",
        "the message's time",
        Unit.MONTHS,
        24,
        note="the consent ledger (opt-in / opt-out proof) is kept: it proves what a number agreed to",
    ),
    RetentionRule("call_logs", "call logs (number, duration, metadata)", "the call's start", Unit.MONTHS, 24),
    RetentionRule(
        "device_locations",
        "the location a device reported",
        "the device's last update",
        Unit.DAYS,
        90,
        note="the location is removed; the device record stays (see devices)",
    ),
    RetentionRule(
        "devices",
        "registered devices (model, OS, app version, settings)",
        "the device's last update (last seen)",
        Unit.MONTHS,
        12,
    ),
    RetentionRule(
        "contacts",
        "contacts nobody touched: not created, edited, imported or synced again",
        "the contact's last update (its lookup items go with it)",
        Unit.MONTHS,
        120,
        minimum=6,
        opt_in=True,
        note="only when the org opts in by setting a period; otherwise kept until deleted",
    ),
    RetentionRule(
        "dsar_requests",
        "closed data-subject requests: the record (ids, type, status, dates, deadline, timeline, "
        "per-store counts, outcome) and its once-markers; the identifiers the person gave are "
        "removed when the request closes",
        "the request's closing (completed, cancelled, expired or answered: its last event)",
        Unit.MONTHS,
        36,
        note="kept for accountability; the email, phone, the subject's emails and phones, the "
        "recipient's address, the person's own words and the verification described go in the "
        "write that closes the request (the contact and account ids stay); the org's audit chain "
        "(ids and counts only) is never purged",
    ),
    RetentionRule(
        "export_staging",
        "data-subject export files in the exports bucket: staged parts and archives (every version)",
        "the file's creation",
        Unit.DAYS,
        8,
    ),
)

BY_STORE: Mapping[str, RetentionRule] = {rule.store: rule for rule in RULES}


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def cutoff(rule: RetentionRule, period: int, now: datetime) -> datetime:
    """Items older than the result have expired."""
    if rule.unit is Unit.DAYS:
        return now - timedelta(days=period)
    return months_before(now, period)


def check_periods(periods: Mapping[str, int]) -> dict[str, int]:
    """An org's chosen periods, checked against the rules: a known store, a whole number within
    [minimum, maximum]. ``ValueError`` names the first store that breaks a rule (a 422)."""
    for store, value in periods.items():
        rule = BY_STORE.get(store)
        if rule is None:
            raise ValueError(f"unknown store {store!r}; one of: {', '.join(BY_STORE)}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{store}: a whole number of {rule.unit.value}")
        if not rule.minimum <= value <= rule.maximum:
            raise ValueError(
                f"{store}: between {rule.minimum} and {rule.maximum} {rule.unit.value} "
                "(an org may shorten a period, never lengthen it past the maximum)"
            )
    return dict(periods)


def effective_period(rule: RetentionRule, chosen: Mapping[str, int]) -> int | None:
    """The period that applies to an org: its choice, capped at the maximum; the maximum when it chose
    nothing; None (keep) for an opt-in rule the org did not opt into."""
    value = chosen.get(rule.store)
    if isinstance(value, int) and not isinstance(value, bool) and value >= rule.minimum:
        return min(value, rule.maximum)
    return None if rule.opt_in else rule.maximum
