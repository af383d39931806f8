"""Ports of the retention domain: the stores it purges, the org's chosen periods, and where the
counts are recorded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PurgedPage:
    deleted: int  # items (with every S3 version of their objects) gone for good
    more: bool  # a full page was found: there may be more expired items


class ExpiringStore(Protocol):
    """One store's purge, implemented by its adapter: a page of an org's items older than the cutoff,
    found through a key or index ordered by date (never a Scan), deleted."""

    name: str  # the rule's ``store``

    def orgs(self) -> Iterator[str]:
        """The orgs that may hold items in this store (a registry Query, never a Scan)."""
        ...

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        """Delete up to ``limit`` of the org's items older than ``cutoff``."""
        ...


class RetentionSettings(Protocol):
    def retention_periods(self, org_id: str) -> Mapping[str, int]:
        """The periods the org chose, by store (only the ones it set)."""
        ...


class RetentionRecorder(Protocol):
    """Where each org's counts go besides the metrics: its audit chain."""

    def record(self, org_id: str, run_key: str, counts: Mapping[str, int]) -> None: ...
