"""The retention rules, the org's periods checked against them, the daily purge over fake stores, and
docs/retention.md kept equal to what the rules render."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callproof.retention.docs import render
from callproof.retention.model import (
    BY_STORE,
    RULES,
    check_periods,
    cutoff,
    effective_period,
    months_before,
)
from callproof.retention.ports import PurgedPage
from callproof.retention.service import RetentionService, totals

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


class FakeStore:
    """Items (org, id) -> time; a page deletes the oldest expired ones and records each page's size."""

    def __init__(self, name: str, items: Mapping[tuple[str, str], datetime], undeletable: int = 0) -> None:
        self.name = name
        self.items = dict(items)
        self.pages: list[int] = []
        self.undeletable = undeletable  # throttled: this many items of each page stay

    def orgs(self) -> Iterator[str]:
        return iter(sorted({org for org, _ in self.items}))

    def purge_page(self, org_id: str, before: datetime, limit: int) -> PurgedPage:
        expired = sorted((at, key) for key, at in self.items.items() if key[0] == org_id and at < before)[
            :limit
        ]
        self.pages.append(len(expired))
        deleted = expired[self.undeletable :]
        for _, key in deleted:
            del self.items[key]
        return PurgedPage(len(deleted), more=len(expired) == limit)


class FakeSettings:
    def __init__(self, periods: Mapping[str, Mapping[str, int]]) -> None:
        self.periods = periods
        self.reads: list[str] = []

    def retention_periods(self, org_id: str) -> Mapping[str, int]:
        self.reads.append(org_id)
        return self.periods.get(org_id, {})


class FakeRecorder:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, int]]] = []

    def record(self, org_id: str, run_key: str, counts: Mapping[str, int]) -> None:
        self.entries.append((org_id, run_key, dict(counts)))


def test_every_rule_is_declared_once_with_a_sane_range() -> None:
    assert len(BY_STORE) == len(RULES)
    for rule in RULES:
        assert 1 <= rule.minimum <= rule.maximum
    assert {"mail", "sms", "call_logs", "device_locations", "devices", "contacts"} <= set(BY_STORE)
    assert {"dsar_requests", "export_staging"} <= set(BY_STORE)
    assert BY_STORE["contacts"].opt_in
    assert not BY_STORE["mail"].opt_in


def test_the_committed_policy_text_is_what_the_rules_render() -> None:
    """docs/retention.md is generated (``make retention-docs``); edit the rules, then regenerate."""
    committed = (ROOT / "docs" / "retention.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/retention.md is stale: run `make retention-docs`"
    for rule in RULES:
        assert f"| `{rule.store}` |" in committed


def test_org_periods_may_shorten_never_lengthen() -> None:
    assert check_periods({"mail": 6, "export_staging": 1, "contacts": 6}) == {
        "mail": 6,
        "export_staging": 1,
        "contacts": 6,
    }
    for bad in ({"mail": 25}, {"mail": 0}, {"export_staging": 9}, {"contacts": 5}, {"nope": 1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            check_periods(bad)
    with pytest.raises(ValueError, match="whole number"):
        check_periods({"mail": True})


def test_effective_period_defaults_to_the_maximum_and_opt_in_to_keep() -> None:
    assert effective_period(BY_STORE["mail"], {}) == 24
    assert effective_period(BY_STORE["mail"], {"mail": 3}) == 3
    assert effective_period(BY_STORE["mail"], {"mail": 99}) == 24  # a stored value never lengthens
    assert effective_period(BY_STORE["contacts"], {}) is None
    assert effective_period(BY_STORE["contacts"], {"contacts": 18}) == 18


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 24, datetime(2024, 1, 15, tzinfo=UTC)),
        (datetime(2028, 3, 30, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
    ],
)
def test_months_before(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_cutoff_counts_days_or_months() -> None:
    assert cutoff(BY_STORE["export_staging"], 8, NOW) == NOW - timedelta(days=8)
    assert cutoff(BY_STORE["call_logs"], 24, NOW) == datetime(2024, 12, 2, 4, 0, tzinfo=UTC)


def test_the_purge_deletes_only_expired_items_per_org_and_records_counts() -> None:
    calls = FakeStore(
        "call_logs",
        {
            ("org-a", "old"): NOW - timedelta(days=60),  # org-a keeps 1 month: gone
            ("org-a", "new"): NOW - timedelta(days=10),
            ("org-b", "old"): NOW - timedelta(days=60),  # org-b keeps the maximum (24 months)
            ("org-b", "ancient"): NOW - timedelta(days=800),
        },
    )
    contacts = FakeStore("contacts", {("org-a", "c1"): NOW - timedelta(days=4000)})  # opt-in: kept
    settings = FakeSettings({"org-a": {"call_logs": 1}})
    recorder = FakeRecorder()
    counts = RetentionService([calls, contacts], settings, recorder, clock=lambda: NOW).run()
    assert counts == {"org-a": {"call_logs": 1}, "org-b": {"call_logs": 1}}
    assert set(calls.items) == {("org-a", "new"), ("org-b", "old")}
    assert set(contacts.items) == {("org-a", "c1")}
    assert totals(counts) == {"call_logs": 2}
    assert sorted(settings.reads) == ["org-a", "org-b"]  # once per org, not per store
    assert [(org, entry) for org, _, entry in recorder.entries] == [
        ("org-a", {"call_logs": 1}),
        ("org-b", {"call_logs": 1}),
    ]
    again = RetentionService([calls, contacts], settings, recorder, clock=lambda: NOW).run()
    assert totals(again) == {"call_logs": 0}
    assert len(recorder.entries) == 2  # a run that deleted nothing adds nothing to the audit chain


def test_the_purge_pages_and_stops_on_a_page_it_cannot_delete() -> None:
    old = {("org-a", f"{n:05d}"): NOW - timedelta(days=800 + n) for n in range(1_234)}
    store = FakeStore("call_logs", old)
    service = RetentionService([store], FakeSettings({}), FakeRecorder(), clock=lambda: NOW, page=100)
    assert service.run() == {"org-a": {"call_logs": 1_234}}
    assert max(store.pages) == 100
    assert store.items == {}

    stuck = FakeStore("call_logs", old, undeletable=100)  # every page throttled
    service = RetentionService([stuck], FakeSettings({}), FakeRecorder(), clock=lambda: NOW, page=100)
    assert service.run() == {"org-a": {"call_logs": 0}}
    assert stuck.pages == [100]  # no endless loop: the next day's run goes on


def test_an_opted_in_org_purges_untouched_contacts() -> None:
    contacts = FakeStore(
        "contacts",
        {("org-a", "c1"): NOW - timedelta(days=400), ("org-a", "c2"): NOW - timedelta(days=100)},
    )
    counts = RetentionService(
        [contacts], FakeSettings({"org-a": {"contacts": 12}}), FakeRecorder(), clock=lambda: NOW
    ).run()
    assert counts == {"org-a": {"contacts": 1}}
    assert set(contacts.items) == {("org-a", "c2")}


def test_a_store_without_a_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="without a retention rule"):
        RetentionService([FakeStore("nowhere", {})], FakeSettings({}), FakeRecorder())
