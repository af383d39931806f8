"""The subject's contacts (ContactsTable) and the phone / email lookup entries that point to them.

A lookup item holds the ids of every contact with that number or address: erasure removes the
subject's ids from it, and deletes the item once no contact is left (its key is the number itself).
A number shared with another contact keeps that contact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from callproof.dsar.model import Cell, Erased, Subject
from callproof.store.contacts_dynamo import DynamoContactStore, contact_key, email_key, phone_key
from callproof.store.dynamo import Item, batch_get, delete_keys, to_item
from callproof.store.personal_data import TableData

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.contacts.model import Contact

COLUMNS = (
    "id", "name", "type", "company", "emails", "phones", "owner_user_id", "created_at", "updated_at", "restricted",
)  # fmt: skip


class ContactsData(TableData):
    name = "contacts"
    columns = COLUMNS

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        super().__init__(client, table)
        self._contacts = DynamoContactStore(client, table)

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        for contact in self._contacts.get_many(subject.org_id, subject.contact_ids):
            yield {
                "id": contact.id,
                "name": contact.name,
                "type": contact.type.value,
                "company": contact.company,
                "emails": ";".join(contact.emails),
                "phones": ";".join(phone.e164 for phone in contact.phones),
                "owner_user_id": contact.owner_user_id,
                "created_at": contact.created_at.isoformat(),
                "updated_at": contact.updated_at.isoformat(),
                "restricted": contact.restricted,
            }

    def erase(self, subject: Subject) -> Erased:
        contacts = self._contacts.get_many(subject.org_id, subject.contact_ids)
        deleted = delete_keys(self._client, self._table, (contact_key(c.org_id, c.id) for c in contacts))
        for item in self._lookups(subject, contacts):
            deleted += self._unlink(item, subject.contact_ids)
        return Erased(deleted=deleted)

    def residue(self, subject: Subject) -> int:
        keys = [contact_key(subject.org_id, contact_id) for contact_id in sorted(subject.contact_ids)]
        contacts = len(batch_get(self._client, self._table, keys, projection="pk"))
        return contacts + sum(1 for item in self._lookups(subject, []) if _names(item, subject.contact_ids))

    # --------------------------------------------------------------------------------- helpers
    def _lookups(self, subject: Subject, contacts: list[Contact]) -> list[Item]:
        """The lookup items of the subject's emails and numbers (and of the contacts' own, in case
        the subject was resolved before a contact gained one)."""
        emails = set(subject.emails).union(*(c.emails for c in contacts))
        phones = set(subject.phones).union(*(c.e164s for c in contacts))
        keys = [email_key(subject.org_id, email) for email in sorted(emails)]
        keys += [phone_key(subject.org_id, e164) for e164 in sorted(phones)]
        return batch_get(self._client, self._table, keys, projection="pk, sk, contact_ids")

    def _unlink(self, item: Item, contact_ids: frozenset[str]) -> int:
        """Remove the subject's ids from one lookup item; delete it when none is left. Returns 1 if
        the item was deleted."""
        key = to_item({"pk": item["pk"], "sk": item["sk"]})
        ids = sorted(set(item.get("contact_ids", ())) & contact_ids)
        if ids:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="DELETE contact_ids :ids",
                ExpressionAttributeValues={":ids": {"SS": ids}},
            )
        try:  # a concurrent create may have added a contact meanwhile: then the item stays
            self._client.delete_item(
                TableName=self._table, Key=key, ConditionExpression="attribute_not_exists(contact_ids)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return 0
        return 1


def _names(item: Item, contact_ids: frozenset[str]) -> bool:
    """A lookup item is residue while it names one of the subject's contacts, or names nobody (its
    key still holds the subject's number or address)."""
    ids = set(item.get("contact_ids", ()))
    return not ids or bool(ids & contact_ids)
