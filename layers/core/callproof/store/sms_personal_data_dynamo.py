"""SMS data of a subject (SmsTable): the consent ledger of each of their numbers and the thread of
each of their contacts, exported as one CSV (column ``kind``: ``consent`` or ``message``).

Inbound dedup items (``ORG#<org>#INBOUND#<MessageSid>``) hold only Twilio's message id and expire
after 90 days; the link from that id to a person lives in the ledger entries and messages erased
here, so they are not personal data of their own and are left to expire. Sender routes, the SMS
config and the daily counters are the org's, not a person's.

The opt-out must outlive the erasure: the workflow calls ``opted_out`` before ``erase`` and keeps
those numbers' opt-out under their hash in the suppression list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from callproof.dsar.model import Cell, Erased, Subject
from callproof.sms.model import ConsentStatus
from callproof.store.dynamo import Item, Listing, delete_keys, key_of, partition_listing, resume
from callproof.store.personal_data import TableData
from callproof.store.sms_dynamo import DynamoSmsStore, ledger_pk, thread_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ERASE_BATCH = 1000  # thread items deleted per round of BatchWriteItem calls, then the time is checked
OPT_OUT_KEPT = "sms_opt_out: legal obligation (kept as a keyed hash in the suppression list)"
COLUMNS = (
    "kind", "e164", "contact_id", "at", "status", "source", "keyword", "actor", "direction", "body",
    "message_sid", "sender", "delivery_status", "sent_by",
)  # fmt: skip


class SmsData(TableData):
    name = "sms"
    columns = COLUMNS

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        super().__init__(client, table)
        self._sms = DynamoSmsStore(client, table)

    def opted_out(self, subject: Subject) -> frozenset[str]:
        """The subject's numbers whose newest ledger entry is an opt-out (read before erasing)."""
        return frozenset(
            e164
            for e164 in subject.phones
            if (newest := self._sms.consent_history(subject.org_id, e164, 1))
            and newest[0].status is ConsentStatus.OPTED_OUT
        )

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        return (row for row, _ in self.rows_after(subject, None))

    def rows_after(self, subject: Subject, cursor: str | None) -> Iterator[tuple[Mapping[str, Cell], str]]:
        """The ledgers, then the threads, from just after ``cursor`` (``CollectsInRounds``)."""
        for _, item, position in resume(self._client, self._listings(subject), cursor):
            yield _row(item), position

    def erase(self, subject: Subject) -> Erased:
        return self.erase_round(subject, lambda: True)

    def erase_round(self, subject: Subject, more_time: Callable[[], bool]) -> Erased:
        """The threads (they grow with every text) deleted ``ERASE_BATCH`` items at a time while
        ``more_time()``; once none is left, the ledgers (a few consent changes per number) in one go.
        ``kept`` counts the opt-outs in the ledgers when that last round started: the workflow has
        already kept them in the suppression list."""
        deleted = 0
        threads = [listing for listing in self._listings(subject) if listing.tag == "thread"]
        batch: list[dict[str, str]] = []
        for _, item, _ in resume(self._client, threads, None):
            batch.append(key_of(item))
            if len(batch) == ERASE_BATCH:
                deleted += delete_keys(self._client, self._table, batch)
                batch = []
                if not more_time():
                    return Erased(deleted=deleted, more=True)
        deleted += delete_keys(self._client, self._table, batch)
        kept = len(self.opted_out(subject))
        ledgers = [listing for listing in self._listings(subject) if listing.tag == "ledger"]
        keys = [key_of(item) for _, item, _ in resume(self._client, ledgers, None)]
        deleted += delete_keys(self._client, self._table, keys)
        return Erased(deleted=deleted, kept=kept, kept_reasons=(OPT_OUT_KEPT,) if kept else ())

    def residue(self, subject: Subject) -> int:
        return sum(1 for _ in resume(self._client, self._listings(subject), None))

    def _listings(self, subject: Subject) -> list[Listing]:
        org = subject.org_id
        return [
            *(
                partition_listing(self._table, ledger_pk(org, e164), "AT#", "ledger")
                for e164 in sorted(subject.phones)
            ),
            *(
                partition_listing(self._table, thread_pk(org, contact_id), "MSG#", "thread")
                for contact_id in sorted(subject.contact_ids)
            ),
        ]


def _row(item: Item) -> dict[str, Cell]:
    consent = item["entity"] == "consent"
    return {
        "kind": "consent" if consent else "message",
        "e164": item.get("e164"),
        "contact_id": item.get("contact_id"),
        "at": item.get("at"),
        "status": item.get("status") if consent else None,
        "source": item.get("source"),
        "keyword": item.get("keyword"),
        "actor": item.get("actor"),
        "direction": item.get("direction"),
        "body": item.get("body"),
        "message_sid": item.get("message_sid"),
        "sender": item.get("sender"),
        "delivery_status": None if consent else item.get("status"),
        "sent_by": item.get("sent_by"),
    }
