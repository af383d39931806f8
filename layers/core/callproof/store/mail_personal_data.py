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
from callproof.mail.model import EmailRecord, is_legacy_email_id
from callproof.store.dynamo import Listing, from_item, partition_listing, resume, to_item
from callproof.store.mail_index_dynamo import MAX_LINKS, email_record, message_key, org_pk
from callproof.store.parallel import ordered_map

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.mail.ports import MailBlobs, MailIndex

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

    def _listings(self, subject: Subject, own: bool) -> list[Listing]:
        """The subject's contact links; with ``own``, then each of their mailboxes' copies (new and
        legacy), user by user."""
        pk = org_pk(subject.org_id)
        links = [
            partition_listing(self._table, pk, f"CMAIL#{contact_id}#", "link")
            for contact_id in sorted(subject.contact_ids)
        ]
        if not own:
            return links
        return links + [
            partition_listing(self._table, pk, prefix, tag)
            for user_id in sorted(subject.user_ids)
            for prefix, tag in ((f"MBOX#{user_id}#", "copy"), (f"EMAIL#{user_id}.", "legacy"))
        ]

    def _exported(self, subject: Subject, cursor: str | None) -> Iterator[tuple[EmailRecord, str]]:
        """What an export holds, from just after ``cursor``: the subject's messages (through their
        contacts), then, for an org user, the messages their own mailbox synced (a member's copy of
        their account's data, issue 15; erasure keeps these as the org's record)."""
        return self._listed(subject, self._listings(subject, True), cursor)

    def _listed(
        self, subject: Subject, listings: list[Listing], cursor: str | None
    ) -> Iterator[tuple[EmailRecord, str]]:
        """Each message of ``listings`` once, without remembering what was listed: a message is listed
        under the first of the subject's contacts it names (by id), and a mailbox's message only when
        it names none of them, under the first of the subject's copies of it."""
        for listing, item, position in resume(self._client, listings, cursor):
            if listing.tag == "link":
                record = email_record(subject.org_id, item)
                if _first_contact(record, subject) == str(item["sk"]).split("#")[1]:
                    yield record, position
            else:
                own = self._own(subject, listing.tag, item)
                if own is not None:
                    yield own, position

    def _own(self, subject: Subject, tag: str, item: Mapping[str, Any]) -> EmailRecord | None:
        """The message of one of the subject's mailbox copies, if it is listed here: it names none of
        the subject's contacts, and this is the first of the subject's copies of it."""
        if tag == "legacy":  # a legacy item is the message itself, in its one mailbox
            message: Mapping[str, Any] | None = item
        elif is_legacy_email_id(str(item["email_id"])):
            return None  # a copy of a legacy message: listed by its own item (the legacy listing)
        else:
            found = self._client.get_item(
                TableName=self._table, Key=to_item(message_key(subject.org_id, str(item["email_id"])))
            ).get("Item")
            message = from_item(found) if found else None
        if message is None:  # a purge stopped half-way: the message is gone
            return None
        record = email_record(subject.org_id, message)
        if _first_contact(record, subject) is not None:
            return None  # exported (and erased) through the subject's contacts
        if tag == "copy":
            user_id, _, gmail_id = str(item["sk"]).removeprefix("MBOX#").partition("#")
            ours = [
                str(c) for c in message.get("copies") or () if str(c).partition("#")[0] in subject.user_ids
            ]
            if ours and min(ours) != f"{user_id}#{gmail_id}":
                return None
        return record

    def _messages(self, subject: Subject) -> Iterator[EmailRecord]:
        """Each message linked to a subject contact, once."""
        return (record for record, _ in self._listed(subject, self._listings(subject, False), None))

    def _kept(self, subject: Subject) -> int:
        """The messages of the subject's own mailboxes that name none of their contacts."""
        own = self._listings(subject, True)[len(subject.contact_ids) :]
        return sum(1 for _ in self._listed(subject, own, None))

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        return (row for row, _ in self.rows_after(subject, None))

    def rows_after(self, subject: Subject, cursor: str | None) -> Iterator[tuple[Mapping[str, Cell], str]]:
        for record, position in self._exported(subject, cursor):
            yield _row(record), position

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        """``mail/<email id>.eml`` per message, one S3 read at a time. A body missing from S3 still gives
        a message, from the summary the index keeps (nothing is left out silently)."""
        fetched = ordered_map(
            lambda record: (record, self._blobs.get(record.object_key)),
            (record for record, _ in self._exported(subject, None)),
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
        kept = self._kept(subject)
        return Erased(deleted=deleted, kept=kept, kept_reasons=(KEPT_MAILBOX,) if kept else ())

    def _delete(self, records: Sequence[EmailRecord]) -> int:
        """Bodies first, then the index: a crash in between leaves links that lead a rerun back here."""
        objects = self._blobs.delete_all_versions([record.object_key for record in records])
        self._index.delete(records)  # every message item and all its links; raises if any is left
        return objects + sum(1 + len(record.contact_ids[:MAX_LINKS]) for record in records)

    def residue(self, subject: Subject) -> int:
        return sum(1 for _ in resume(self._client, self._listings(subject, False), None))


def _first_contact(record: EmailRecord, subject: Subject) -> str | None:
    """The first (by id) of the subject's contacts the message is linked to (links exist for its first
    ``MAX_LINKS`` contacts), None if it names none of them."""
    return min(set(record.contact_ids[:MAX_LINKS]) & subject.contact_ids, default=None)


def _row(record: EmailRecord) -> dict[str, Cell]:
    return {
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


def _summary_document(record: EmailRecord) -> dict[str, Any]:
    return {
        "headers": [["From", record.sender], ["Subject", record.subject]],
        "internal_date": record.internal_date,
        "text": None,
        "html": None,
        "attachments": [{"filename": a.filename} for a in record.attachments],
    }
