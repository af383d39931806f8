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

from callproof.dsar.model import Cell, Erased, Subject
from callproof.store.calls_dynamo import DEVICES_BY_USER, DynamoCallLogStore, call_of, device_user_pk
from callproof.store.dynamo import BatchIncomplete, Listing, delete_keys, key_of, query_all, resume, to_item
from callproof.store.personal_data import TableData, cell

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.calls.model import CallLog

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
        return (row for row, _ in self.rows_after(subject, None))

    def rows_after(self, subject: Subject, cursor: str | None) -> Iterator[tuple[Mapping[str, Cell], str]]:
        """The calls about the subject, then the ones they logged as an org user (``CollectsInRounds``):
        each call once, from just after ``cursor``."""
        listings = [*self._about_listings(subject), *self._logged_listings(subject)]
        for listing, item, position in resume(self._client, listings, cursor):
            call = call_of(item)
            if _first_listed(listing.tag, call, subject):
                relation = "logged_by_subject" if listing.tag == "user" else "about_subject"
                yield _call_row(relation, call), position

    def erase(self, subject: Subject) -> Erased:
        return self.erase_round(subject, lambda: True)

    def erase_round(self, subject: Subject, more_time: Callable[[], bool]) -> Erased:
        """The calls about the subject deleted ``ERASE_BATCH`` at a time as they are listed, while
        ``more_time()``. Rounds run minutes apart, so the next one lists only what is left (the
        indexes are eventually consistent within a second or so); a call listed twice (by contact and
        by number) is deleted and counted once, without keeping what was listed."""
        deleted = 0
        batch: list[str] = []
        for call in self._about(subject):
            batch.append(call.id)
            if len(batch) == ERASE_BATCH:
                deleted += self._delete(subject.org_id, batch)
                batch = []
                if not more_time():
                    return Erased(deleted=deleted, more=True)
        if batch:
            deleted += self._delete(subject.org_id, batch)
        kept = sum(1 for _ in self._logged(subject))
        return Erased(deleted=deleted, kept=kept, kept_reasons=(KEPT_REASON,) if kept else ())

    def _delete(self, org_id: str, call_ids: list[str]) -> int:
        if self._calls.delete_many(org_id, call_ids):
            raise BatchIncomplete("the database is throttling deletes; retry shortly")
        return len(call_ids)

    def residue(self, subject: Subject) -> int:
        return sum(1 for _ in self._about(subject))

    def _about(self, subject: Subject) -> Iterator[CallLog]:
        """Each call matched to the subject's contacts or made with their numbers, once."""
        return self._listed(subject, self._about_listings(subject))

    def _logged(self, subject: Subject) -> Iterator[CallLog]:
        """Each call the subject logged as an org user that is not about them."""
        return self._listed(subject, self._logged_listings(subject))

    def _listed(self, subject: Subject, listings: list[Listing]) -> Iterator[CallLog]:
        for listing, item, _ in resume(self._client, listings, None):
            call = call_of(item)
            if _first_listed(listing.tag, call, subject):
                yield call

    def _about_listings(self, subject: Subject) -> list[Listing]:
        org = subject.org_id
        return [
            *(self._calls.listing_by_contact(org, contact_id) for contact_id in sorted(subject.contact_ids)),
            *(self._calls.listing_by_number(org, e164) for e164 in sorted(subject.phones)),
        ]

    def _logged_listings(self, subject: Subject) -> list[Listing]:
        return [self._calls.listing_by_user(subject.org_id, user_id) for user_id in sorted(subject.user_ids)]


def _first_listed(tag: str, call: CallLog, subject: Subject) -> bool:
    """Whether this listing is the first of the subject's access paths to reach ``call``: the same
    call is listed once only, and nothing listed has to be remembered. ByContact holds a call under
    its unique contact only; ByNumber under its one number; ByUser under its one user. So a call is
    first listed by its contact when that is a subject contact, else by its number, and a call the
    subject logged counts as logged only when it is about nobody of the subject."""
    by_contact = call.match.contact_id in subject.contact_ids
    if tag == "contact":
        return True
    if tag == "number":
        return not by_contact
    return not by_contact and call.e164 not in subject.phones


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
