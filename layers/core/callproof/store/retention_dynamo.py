"""The retention domain's adapters: each store's purge (``ExpiringStore``), the org's chosen periods
(the org settings item) and the audit chain that records each run's counts.

A store's purge finds its expired items through a key or index ordered by date, one page at a time,
and never scans: call logs through CallLogsTable's ``ByOrgTime`` index (``org_calls_pk``,
``time_sk``), their orgs through the call-log org registry (``pk=CALL_ORGS``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from callproof.retention.ports import PurgedPage
from callproof.store.audit_dynamo import DynamoAuditLog
from callproof.store.calls_dynamo import DynamoCallLogStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AUDIT_ACTOR = "system:retention"
AUDIT_ACTION = "retention.purged"


class CallLogExpiry:
    """Call logs older than the cutoff by their start time (``ByOrgTime``, keys only)."""

    name = "call_logs"

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._calls = DynamoCallLogStore(client, table)

    def orgs(self) -> Iterator[str]:
        return self._calls.orgs()

    def purge_page(self, org_id: str, cutoff: datetime, limit: int) -> PurgedPage:
        batch = self._calls.older_than(org_id, cutoff, limit)
        if not batch:
            return PurgedPage(0, more=False)
        failed = self._calls.delete_many(org_id, batch)
        return PurgedPage(len(batch) - len(failed), more=len(batch) == limit and not failed)


class AuditedRetention:
    """Each org's counts of a run as one entry of its audit chain (ids and counts only)."""

    def __init__(self, audit: DynamoAuditLog) -> None:
        self._audit = audit

    def record(self, org_id: str, run_key: str, counts: Mapping[str, int]) -> None:
        self._audit.append(org_id, run_key, AUDIT_ACTOR, AUDIT_ACTION, run_key, dict(counts))
