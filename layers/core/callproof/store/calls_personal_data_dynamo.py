"""Call logs and devices (CallLogsTable) of a subject.

The subject's calls are found through the ByContact index (calls matched to one of their contacts)
and the ByNumber index (calls with one of their numbers, ambiguous matches included): those are
deleted. When the subject is an org user, the calls they logged as a rep (ByUser) are the org's
business record about its contacts: they are exported and kept, unless the call is also about the
subject. Their devices are found through the DevicesByUser index and deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from callproof.calls.model import CallLog
from callproof.dsar.model import Cell, Erased, Subject
from callproof.store.calls_dynamo import DEVICES_BY_USER, DynamoCallLogStore, device_user_pk
from callproof.store.dynamo import BatchIncomplete, delete_keys, key_of, query_all, to_item
from callproof.store.personal_data import TableData, cell

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEPT_REASON = "calls logged by an org user: employer business record"
ERASE_BATCH = 1000  # calls deleted per round of BatchWriteItem calls (25 each), then the time is checked
CALL_COLUMNS = (
    "relation", "id", "user_id", "device_id", "direction", "started_at", "duration_seconds", "raw_number",
    "e164", "extension", "match_status", "contact_ids", "metadata", "received_at",
)  # fmt: skip
DEVICE_COLUMNS = (
    "id", "user_id", "device_type", "os_name", "os_version", "app_version", "country", "settings", "location",
    "updated_at",
)  # fmt: skip


class CallLogsData(TableData):
    name = "call_logs"
    columns = CALL_COLUMNS

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        super().__init__(client, table)
        self._calls = DynamoCallLogStore(client, table)

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        seen: set[str] = set()
        for relation, calls in (
            ("about_subject", self._about(subject)),
            ("logged_by_subject", self._logged(subject)),
        ):
            for call in calls:
                if call.id not in seen:
                    seen.add(call.id)
                    yield _call_row(relation, call)

    def erase(self, subject: Subject) -> Erased:
        return self.erase_round(subject, lambda: True)

    def erase_round(self, subject: Subject, more_time: Callable[[], bool]) -> Erased:
        """The calls about the subject deleted ``ERASE_BATCH`` at a time as they are listed, while
        ``more_time()``. Rounds run minutes apart, so the next one lists only what is left (the
        indexes are eventually consistent within a second or so); within a round a call listed twice
        (by contact and by number) is deleted and counted once."""
        about: set[str] = set()
        batch: list[str] = []
        for call in self._about(subject):
            if call.id in about:
                continue
            about.add(call.id)
            batch.append(call.id)
            if len(batch) == ERASE_BATCH:
                self._delete(subject.org_id, batch)
                batch = []
                if not more_time():
                    return Erased(deleted=len(about), more=True)
        if batch:
            self._delete(subject.org_id, batch)
        kept = sum(1 for call in self._logged(subject) if call.id not in about)
        return Erased(deleted=len(about), kept=kept, kept_reasons=(KEPT_REASON,) if kept else ())

    def _delete(self, org_id: str, call_ids: list[str]) -> None:
        if self._calls.delete_many(org_id, call_ids):
            raise BatchIncomplete("the database is throttling deletes; retry shortly")

    def residue(self, subject: Subject) -> int:
        return len({call.id for call in self._about(subject)})

    def _about(self, subject: Subject) -> Iterator[CallLog]:
        """Calls matched to the subject's contacts or made with their numbers (may repeat a call)."""
        for contact_id in sorted(subject.contact_ids):
            yield from self._calls.every_by_contact(subject.org_id, contact_id)
        for e164 in sorted(subject.phones):
            yield from self._calls.with_number(subject.org_id, e164)

    def _logged(self, subject: Subject) -> Iterator[CallLog]:
        """Calls the subject logged as an org user."""
        for user_id in sorted(subject.user_ids):
            yield from self._calls.every_by_user(subject.org_id, user_id)


def _call_row(relation: str, call: CallLog) -> dict[str, Cell]:
    row: dict[str, Cell] = {column: cell(getattr(call, column, None)) for column in CALL_COLUMNS}
    return row | {
        "relation": relation,
        "match_status": call.match.status.value,
        "contact_ids": cell(call.match.contact_ids),
    }


class DevicesData(TableData):
    """The devices an org user registered (app, OS, settings, last location)."""

    name = "devices"
    columns = DEVICE_COLUMNS

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        for item in self._devices(subject):
            yield {column: cell(item.get(column)) for column in DEVICE_COLUMNS}

    def erase(self, subject: Subject) -> Erased:
        return Erased(
            deleted=delete_keys(self._client, self._table, [key_of(i) for i in self._devices(subject)])
        )

    def residue(self, subject: Subject) -> int:
        return sum(1 for _ in self._devices(subject))

    def _devices(self, subject: Subject) -> Iterator[dict[str, Any]]:
        for user_id in sorted(subject.user_ids):
            yield from query_all(
                self._client,
                {
                    "TableName": self._table,
                    "IndexName": DEVICES_BY_USER,
                    "KeyConditionExpression": "device_user_pk = :user",
                    "ExpressionAttributeValues": to_item({":user": device_user_pk(subject.org_id, user_id)}),
                },
            )
