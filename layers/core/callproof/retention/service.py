"""The daily purge: every store, every org that has items there, page by page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callproof.retention.model import BY_STORE, cutoff, effective_period

if TYPE_CHECKING:
    from callproof.retention.ports import ExpiringStore, RetentionRecorder, RetentionSettings

PAGE = 500  # items a page: memory stays bounded by one page, whatever an org holds


class RetentionService:
    def __init__(
        self,
        stores: Sequence[ExpiringStore],
        settings: RetentionSettings,
        recorder: RetentionRecorder,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        page: int = PAGE,
    ) -> None:
        unknown = [store.name for store in stores if store.name not in BY_STORE]
        if unknown:
            raise ValueError(f"stores without a retention rule: {unknown}")
        self._stores = stores
        self._settings = settings
        self._recorder = recorder
        self._clock = clock
        self._page = page

    def run(self) -> dict[str, dict[str, int]]:
        """Purge every store; the counts by org, then store (stores that deleted nothing included).
        Each org's counts go to its audit chain once per run (keyed by the run's time)."""
        now = self._clock()
        counts: dict[str, dict[str, int]] = {}
        periods: dict[str, dict[str, int]] = {}
        for store in self._stores:
            rule = BY_STORE[store.name]
            for org_id in store.orgs():
                if org_id not in periods:
                    periods[org_id] = dict(self._settings.retention_periods(org_id))
                period = effective_period(rule, periods[org_id])
                if period is None:
                    continue  # an opt-in rule the org did not opt into
                deleted = self._purge(store, org_id, cutoff(rule, period, now))
                org_counts = counts.setdefault(org_id, {})
                org_counts[store.name] = org_counts.get(store.name, 0) + deleted
        run_key = f"retention#{now.isoformat()}"
        for org_id, org_counts in counts.items():
            if any(org_counts.values()):
                self._recorder.record(org_id, run_key, org_counts)
        return counts

    def _purge(self, store: ExpiringStore, org_id: str, before: datetime) -> int:
        deleted = 0
        while True:
            page = store.purge_page(org_id, before, self._page)
            deleted += page.deleted
            if not page.more or page.deleted == 0:
                return deleted  # done, or nothing could be deleted (throttled): the next run goes on


def totals(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    """Deleted items by store, over every org (the metrics)."""
    by_store: dict[str, int] = {}
    for org_counts in counts.values():
        for store, deleted in org_counts.items():
            by_store[store] = by_store.get(store, 0) + deleted
    return by_store
