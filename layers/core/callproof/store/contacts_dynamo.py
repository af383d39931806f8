"""ContactStore on one DynamoDB table (the template's ContactsTable).

Items (every key begins with the org):
- contact:        pk=ORG#<org>                sk=CONTACT#<id>
- phone lookup:   pk=ORG#<org>#PHONE#<e164>   sk=LOOKUP   contact_ids=<string set>
- email lookup:   pk=ORG#<org>#EMAIL#<email>  sk=LOOKUP   contact_ids=<string set>  lookup_email=<email>
  (``lookup_email`` keys the sparse ``by_email`` index: which orgs hold an address, for mail sent to
  the privacy address without an org, ``store/email_holders.py``)
- org settings:   pk=ORG#<org>                sk=SETTINGS   (``store/org_settings_dynamo.py``)
- retention opt-ins: pk=RETENTION#contacts    sk=ORG#<org>  the orgs that set a contacts period (the
  purge's registry, written by ``store/org_settings_dynamo.py``; the one key without the org)

Contact items also carry ``org_contacts_pk=ORG#<org>#CONTACTS`` and ``updated_sk=<updated_at in UTC>#<id>``
(GSI ContactsByOrgUpdated, keys only): the retention purge pages an org's untouched contacts by date.

A lookup item holds the ids of every contact with that number or address, so one BatchGetItem answers
up to 100 numbers, shared numbers included. A contact and its lookup items change in one transaction,
conditioned on the contact's version (optimistic locking).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.contacts.model import Contact, ContactType
from callproof.contacts.ports import Page
from callproof.errors import Conflict
from callproof.phones import Phone
from callproof.store.dynamo import (
    Item,
    batch_get,
    decode_cursor,
    encode_cursor,
    from_item,
    time_sk,
    to_item,
    transact,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_TRANSACTION_ACTIONS = 100
LOOKUP_SK = "LOOKUP"
EMAIL_INDEX, EMAIL_INDEX_KEY = "by_email", "lookup_email"
_CHANGED = "the contact changed or already exists"


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def contact_key(org_id: str, contact_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"CONTACT#{contact_id}"}


def phone_key(org_id: str, e164: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#PHONE#{e164}", "sk": LOOKUP_SK}


def email_key(org_id: str, email: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}#EMAIL#{email}", "sk": LOOKUP_SK}


def _lookup_keys(contact: Contact) -> list[dict[str, str]]:
    return [phone_key(contact.org_id, e164) for e164 in sorted(contact.e164s)] + [
        email_key(contact.org_id, email) for email in contact.emails
    ]


CONTACTS_BY_ORG_UPDATED = "ContactsByOrgUpdated"


def org_contacts_pk(org_id: str) -> str:
    return f"ORG#{org_id}#CONTACTS"


def updated_sk(moment: datetime, contact_id: str) -> str:
    return time_sk(moment, contact_id)


def _to_record(contact: Contact) -> Item:
    return {
        **contact_key(contact.org_id, contact.id),
        "entity": "contact",
        "id": contact.id,
        "org_id": contact.org_id,
        "name": contact.name,
        "company": contact.company,
        "type": contact.type.value,
        "owner_user_id": contact.owner_user_id,
        "emails": list(contact.emails),
        "phones": [
            {"e164": p.e164, "raw": p.raw, **({"extension": p.extension} if p.extension else {})}
            for p in contact.phones
        ],
        "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
        "org_contacts_pk": org_contacts_pk(contact.org_id),  # ContactsByOrgUpdated (retention)
        "updated_sk": updated_sk(contact.updated_at, contact.id),
        "version": contact.version,
        "restricted": contact.restricted or None,  # absent unless set: the Gmail / SMS readers' flag
        # absent unless set (the list's filter tests its existence)
        "removed_in_google": contact.removed_in_google.isoformat() if contact.removed_in_google else None,
    }


def _from_record(item: Item) -> Contact:
    return Contact(
        id=item["id"],
        org_id=item["org_id"],
        name=item["name"],
        company=item.get("company"),
        type=ContactType(item["type"]),
        owner_user_id=item["owner_user_id"],
        emails=tuple(item.get("emails", ())),
        phones=tuple(Phone(p["e164"], p["raw"], p.get("extension")) for p in item.get("phones", ())),
        created_at=datetime.fromisoformat(item["created_at"]),
        updated_at=datetime.fromisoformat(item["updated_at"]),
        version=int(item["version"]),
        restricted=bool(item.get("restricted", False)),
        removed_in_google=(
            datetime.fromisoformat(item["removed_in_google"]) if item.get("removed_in_google") else None
        ),
    )


def contact_from_image(image: Mapping[str, Any] | None) -> Contact | None:
    """A contact from a DynamoDB stream image (DynamoDB JSON); None for other items of the table."""
    if not image or not str(image.get("sk", {}).get("S", "")).startswith("CONTACT#"):
        return None
    return _from_record(from_item(image))


def _set_update(table: str, key: Mapping[str, str], operation: str, contact_id: str) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table,
        "Key": to_item(key),
        "UpdateExpression": f"{operation} contact_ids :ids",
        "ExpressionAttributeValues": {":ids": {"SS": [contact_id]}},
    }
    _, email_marker, email = key["pk"].rpartition("#EMAIL#")
    if operation == "ADD" and email_marker:
        update["UpdateExpression"] += f" SET {EMAIL_INDEX_KEY} = :email"
        update["ExpressionAttributeValues"][":email"] = {"S": email}
    return {"Update": update}


class DynamoContactStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    # ----------------------------------------------------------------- reads
    def get(self, org_id: str, contact_id: str) -> Contact | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(contact_key(org_id, contact_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return _from_record(from_item(item)) if item else None

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]:
        keys = [contact_key(org_id, contact_id) for contact_id in sorted(set(contact_ids))]
        return [_from_record(item) for item in batch_get(self._client, self._table, keys)]

    def list_page(
        self, org_id: str, limit: int, cursor: str | None, removed_in_google: bool | None = None
    ) -> Page:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": org_pk(org_id), ":prefix": "CONTACT#"}),
            "Limit": limit,
        }
        if removed_in_google is not None:  # a filter on the page read: a page may hold fewer than limit
            request["FilterExpression"] = (
                "attribute_exists(removed_in_google)"
                if removed_in_google
                else "attribute_not_exists(removed_in_google)"
            )
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, {"pk": org_pk(org_id)}, {"sk": "CONTACT#"})
        response = self._client.query(**request)
        contacts = [_from_record(from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(contacts=contacts, next_cursor=encode_cursor(last) if last else None)

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]:
        return self._lookup({phone_key(org_id, e164)["pk"]: e164 for e164 in e164s})

    def lookup_by_emails(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        return self._lookup({email_key(org_id, email)["pk"]: email for email in emails})

    def _lookup(self, value_by_pk: Mapping[str, str]) -> dict[str, frozenset[str]]:
        keys = [{"pk": pk, "sk": LOOKUP_SK} for pk in value_by_pk]
        items = batch_get(self._client, self._table, keys, projection="pk, contact_ids")
        return {
            value_by_pk[item["pk"]]: frozenset(item["contact_ids"])
            for item in items
            if item.get("contact_ids")
        }

    # ---------------------------------------------------------------- writes
    def create(self, contacts: Sequence[Contact]) -> list[bool]:
        """Pack several contacts per transaction; a cancelled pack is retried contact by contact.

        A transaction may touch an item once, so two contacts sharing a number go in different packs.
        """
        stored: dict[str, bool] = {}
        pack: list[Contact] = []
        pack_keys: set[str] = set()
        for contact in contacts:
            keys = {key["pk"] for key in _lookup_keys(contact)}
            if pack and (
                len(pack) + len(pack_keys) + 1 + len(keys) > MAX_TRANSACTION_ACTIONS or keys & pack_keys
            ):
                self._create_pack(pack, stored)
                pack, pack_keys = [], set()
            pack.append(contact)
            pack_keys |= keys
        if pack:
            self._create_pack(pack, stored)
        return [stored[contact.id] for contact in contacts]

    def _create_pack(self, pack: list[Contact], stored: dict[str, bool]) -> None:
        try:
            transact(self._client, [a for contact in pack for a in self._create_actions(contact)], _CHANGED)
            stored.update(dict.fromkeys((contact.id for contact in pack), True))
            return
        except Conflict:
            if len(pack) == 1:
                stored[pack[0].id] = False
                return
        for contact in pack:
            self._create_pack([contact], stored)

    def _create_actions(self, contact: Contact) -> list[dict[str, Any]]:
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_to_record(contact)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        return [put] + [_set_update(self._table, key, "ADD", contact.id) for key in _lookup_keys(contact)]

    def replace(self, old: Contact, new: Contact) -> None:
        old_keys = {json.dumps(k, sort_keys=True): k for k in _lookup_keys(old)}
        new_keys = {json.dumps(k, sort_keys=True): k for k in _lookup_keys(new)}
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_to_record(new)),
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": to_item({":version": old.version}),
            }
        }
        removed = [
            _set_update(self._table, old_keys[k], "DELETE", old.id) for k in old_keys.keys() - new_keys
        ]
        added = [_set_update(self._table, new_keys[k], "ADD", new.id) for k in new_keys.keys() - old_keys]
        transact(self._client, [put, *removed, *added], _CHANGED)

    def set_restricted(self, org_id: str, contact_ids: Iterable[str], restricted: bool) -> int:
        """Set or lift the restriction flag of existing contacts (a data-subject request); returns how
        many changed. The flag is present only while set; the version is bumped so that an edit based
        on an older read conflicts instead of silently dropping the flag."""
        if restricted:
            return self._update_each(
                org_id,
                contact_ids,
                "SET restricted = :on",
                "attribute_exists(pk) AND attribute_not_exists(restricted)",
                {":on": True},
            )
        return self._update_each(org_id, contact_ids, "REMOVE restricted", "attribute_exists(restricted)", {})

    def mark_removed_in_google(self, org_id: str, contact_ids: Iterable[str], at: str) -> int:
        """Mark existing contacts removed in Google at ``at`` (the first time only; the version is bumped
        so an edit based on an older read conflicts rather than drop the mark); how many were marked."""
        return self._update_each(
            org_id,
            contact_ids,
            "SET removed_in_google = :at",
            "attribute_exists(pk) AND attribute_not_exists(removed_in_google)",
            {":at": at},
        )

    def _update_each(
        self, org_id: str, contact_ids: Iterable[str], update: str, condition: str, values: dict[str, Any]
    ) -> int:
        """One conditional update per contact, bumping its version; how many met the condition."""
        changed = 0
        for contact_id in sorted(set(contact_ids)):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=to_item(contact_key(org_id, contact_id)),
                    UpdateExpression=f"{update} ADD #version :one",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#version": "version"},
                    ExpressionAttributeValues=to_item({":one": 1, **values}),
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue
            changed += 1
        return changed

    def delete(self, contact: Contact) -> None:
        remove = {
            "Delete": {
                "TableName": self._table,
                "Key": to_item(contact_key(contact.org_id, contact.id)),
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": to_item({":version": contact.version}),
            }
        }
        unlink = [_set_update(self._table, key, "DELETE", contact.id) for key in _lookup_keys(contact)]
        transact(self._client, [remove, *unlink], _CHANGED)
