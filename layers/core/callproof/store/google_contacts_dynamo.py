"""The Google Contacts grant on DynamoDB (MailTable), ``callproof.mail.ports.ContactsGrantStore``:

- ``pk=ORG#<org>, sk=GCONTACTS#USER#<user>``: the sealed token, when it was granted and the People
  API sync token;
- ``pk=ORG#<org>, sk=GPERSON#<user>#<resourceName>``: which CRM contact that Google person was
  imported into (pseudonymous ids only), read when a later sync reports the person deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from callproof.oauth.model import SealedToken
from callproof.store.dynamo import (
    BatchIncomplete,
    batch_get,
    batch_write,
    delete_keys,
    from_item,
    key_of,
    partition,
    to_item,
)
from callproof.store.mail_index_dynamo import org_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GRANT_PREFIX = "GCONTACTS#USER#"
LINK_PREFIX = "GPERSON#"


def grant_key(org_id: str, user_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"{GRANT_PREFIX}{user_id}"}


def link_key(org_id: str, user_id: str, resource_name: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"{LINK_PREFIX}{user_id}#{resource_name}"}


class DynamoContactsGrantStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _grant(self, org_id: str, user_id: str) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_item(grant_key(org_id, user_id)), ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def token(self, org_id: str, user_id: str) -> SealedToken | None:
        item = self._grant(org_id, user_id)
        return SealedToken.from_attributes(item) if item else None

    def save(self, org_id: str, user_id: str, token: SealedToken, granted_at: str) -> None:
        item = {
            **grant_key(org_id, user_id),
            "entity": "google_contacts_grant",
            "granted_at": granted_at,
            **token.to_attributes(),
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def _update(self, org_id: str, user_id: str, expression: str, values: Mapping[str, Any] | None) -> None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item(grant_key(org_id, user_id)),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",  # never recreate a deleted grant
        }
        if values:
            request["ExpressionAttributeValues"] = to_item(values)
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(**request)

    def save_token(self, org_id: str, user_id: str, token: SealedToken) -> None:
        self._update(
            org_id,
            user_id,
            "SET token_ct = :ct, token_nonce = :nonce, token_key = :key",
            {":ct": token.ciphertext, ":nonce": token.nonce, ":key": token.encrypted_key},
        )

    def sync_token(self, org_id: str, user_id: str) -> str | None:
        item = self._grant(org_id, user_id)
        value = item.get("sync_token") if item else None
        return str(value) if value else None

    def save_sync_token(self, org_id: str, user_id: str, token: str | None) -> None:
        if token:
            self._update(org_id, user_id, "SET sync_token = :t", {":t": token})
        else:
            self._update(org_id, user_id, "REMOVE sync_token", None)

    def link(self, org_id: str, user_id: str, contacts: Mapping[str, str]) -> None:
        requests = [
            {
                "PutRequest": {
                    "Item": to_item(
                        {**link_key(org_id, user_id, name), "entity": "google_person", "contact_id": contact}
                    )
                }
            }
            for name, contact in sorted(contacts.items())
        ]
        if batch_write(self._client, self._table, requests):
            raise BatchIncomplete("the database is throttling writes; retry shortly")

    def linked(self, org_id: str, user_id: str, resource_names: Iterable[str]) -> dict[str, str]:
        keys = [link_key(org_id, user_id, name) for name in sorted(set(resource_names))]
        prefix = f"{LINK_PREFIX}{user_id}#"
        return {
            str(item["sk"]).removeprefix(prefix): str(item["contact_id"])
            for item in batch_get(self._client, self._table, keys, projection="sk, contact_id")
        }

    def delete(self, org_id: str, user_id: str) -> bool:
        links = [
            key_of(item)
            for item in partition(self._client, self._table, org_pk(org_id), f"{LINK_PREFIX}{user_id}#")
        ]
        delete_keys(self._client, self._table, links)
        answer = self._client.delete_item(
            TableName=self._table, Key=to_item(grant_key(org_id, user_id)), ReturnValues="ALL_OLD"
        )
        return bool(answer.get("Attributes"))
