"""Synced mail of a subject: the DynamoDB mail index (MailTable; layout in ``store/mail_index_dynamo.py``)
and every S3 version of the bodies (DataBucket, through ``MailBlobs``).

The subject's mail is every message linked to one of the subject's contacts: the ``CMAIL#<contact>#``
links are queried per contact, page by page. A message is stored once per org however many mailboxes
synced it (issue 17), so it is exported once. Each link item carries the message's whole summary (it is
written in the same transaction as the message item), so a message is known, with all its links and
its S3 key, from any one of its links, even when an earlier erasure stopped half-way.

Erasure deletes a message **as a whole**: its one S3 body (every version), then the message item, its
listing items, the links of *every* contact it names (also other contacts' links) and *every*
mailbox's copy. A message that involves the subject cannot be cut to a part that does not (its headers
and body name the subject), and a link left to another contact would point to a message that no
longer exists. Legacy messages (one per mailbox, before issue 17) are found and erased the same way.

Mail synced from the mailbox of an org user who is the subject is not theirs: it is the org's record of
its mail with its contacts (kept, reported as kept "org CRM record"); the user's Gmail integration is
disconnected and deleted by the ``integrations`` store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from callproof.dsar.eml import to_eml
from callproof.dsar.model import Cell, Erased, Subject
from callproof.mail.model import EmailRecord
from callproof.mail.ports import MailBlobs, MailIndex
from callproof.store.dynamo import partition
from callproof.store.mail_index_dynamo import MAX_LINKS, email_record, org_pk
from callproof.store.parallel import ordered_map

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ERASE_BATCH = 1000  # messages per round: their S3 versions listed by prefix, then their index items
KEPT_MAILBOX = "mailbox_mail: org CRM record (mail synced from the user's mailbox about the org's contacts)"


class MailData:
    name = "mail"
    columns = (
        "email_id",
        "user_id",
        "gmail_id",
        "thread_id",
        "date",
        "subject",
        "sender",
        "contact_ids",
        "attachments",
    )

    def __init__(self, client: DynamoDBClient, table: str, index: MailIndex, blobs: MailBlobs) -> None:
        self._client = client
        self._table = table
        self._index = index
        self._blobs = blobs

    def _links(self, subject: Subject) -> Iterator[dict[str, Any]]:
        for contact_id in sorted(subject.contact_ids):
            yield from partition(self._client, self._table, org_pk(subject.org_id), f"CMAIL#{contact_id}#")

    def _messages(self, subject: Subject) -> Iterator[EmailRecord]:
        """Each message linked to a subject contact, once (a message may name several of them)."""
        seen: set[str] = set()
        for item in self._links(subject):
            if item["email_id"] not in seen:
                seen.add(item["email_id"])
                yield email_record(subject.org_id, item)

    def _exported(self, subject: Subject) -> Iterator[EmailRecord]:
        """What an export holds: the subject's messages (through their contacts), then, for an org
        user, the messages their own mailbox synced (a member's copy of their account's data, issue
        15; erasure keeps these as the org's record), each message once."""
        seen: set[str] = set()
        for record in self._messages(subject):
            seen.add(record.email_id)
            yield record
        for user_id in sorted(subject.user_ids):
            for copy in self._index.copies(subject.org_id, user_id):
                if copy.email_id in seen:
                    continue
                seen.add(copy.email_id)
                synced = self._index.get(subject.org_id, copy.email_id)
                if synced is not None:  # a purge stopped half-way: the message is gone
                    yield synced

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        for record in self._exported(subject):
            yield {
                "email_id": record.email_id,
                "user_id": record.user_id,
                "gmail_id": record.gmail_id,
                "thread_id": record.thread_id,
                "date": datetime.fromtimestamp(record.internal_date / 1000, UTC).isoformat(),
                "subject": record.subject,
                "sender": record.sender,
                "contact_ids": ";".join(record.contact_ids),
                "attachments": json.dumps(
                    [
                        {"filename": a.filename, "size": a.size, "content_type": a.content_type}
                        for a in record.attachments
                    ]
                ),
            }

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        """``mail/<email id>.eml`` per message, one S3 read at a time. A body missing from S3 still gives
        a message, from the summary the index keeps (nothing is left out silently)."""
        fetched = ordered_map(
            lambda record: (record, self._blobs.get(record.object_key)), self._exported(subject)
        )
        for record, body in fetched:  # a few GETs in flight at a time, in order
            document = json.loads(body) if body is not None else _summary_document(record)
            yield f"mail/{record.email_id}.eml", to_eml(document)

    def erase(self, subject: Subject) -> Erased:
        return self.erase_round(subject, lambda: True)

    def erase_round(self, subject: Subject, more_time: Callable[[], bool]) -> Erased:
        """Rounds of ``ERASE_BATCH`` messages while ``more_time()``; the links are read with
        consistent reads, so the next round starts exactly at what is left."""
        deleted = 0
        batch: list[EmailRecord] = []
        for record in self._messages(subject):
            batch.append(record)
            if len(batch) == ERASE_BATCH:
                deleted += self._delete(batch)
                batch = []
                if not more_time():
                    return Erased(deleted=deleted, more=True)
        if batch:
            deleted += self._delete(batch)
        kept = len(
            {
                c.email_id
                for user_id in sorted(subject.user_ids)
                for c in self._index.copies(subject.org_id, user_id)
            }
        )
        return Erased(deleted=deleted, kept=kept, kept_reasons=(KEPT_MAILBOX,) if kept else ())

    def _delete(self, records: Sequence[EmailRecord]) -> int:
        """Bodies first, then the index: a crash in between leaves links that lead a rerun back here."""
        objects = self._blobs.delete_all_versions([record.object_key for record in records])
        self._index.delete(records)  # every message item and all its links; raises if any is left
        return objects + sum(1 + len(record.contact_ids[:MAX_LINKS]) for record in records)

    def residue(self, subject: Subject) -> int:
        return sum(1 for _ in self._links(subject))


def _summary_document(record: EmailRecord) -> dict[str, Any]:
    return {
        "headers": [["From", record.sender], ["Subject", record.subject]],
        "internal_date": record.internal_date,
        "text": None,
        "html": None,
        "attachments": [{"filename": a.filename} for a in record.attachments],
    }
