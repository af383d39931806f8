"""Gmail sync's contact matching on DynamoDB (ContactsTable, read-only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from callproof.store.contacts_dynamo import DynamoContactStore, contact_key
from callproof.store.dynamo import batch_get

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoContactMatcher:
    """Email matching through the contacts' batch lookup; contacts flagged ``restricted`` (processing
    restricted by a data-subject request) are left out."""

    def __init__(self, client: DynamoDBClient, contacts_table: str) -> None:
        self._client = client
        self._table = contacts_table
        self._store = DynamoContactStore(client, contacts_table)

    def match(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        found = self._store.lookup_by_emails(org_id, emails)
        ids = sorted({contact_id for ids in found.values() for contact_id in ids})
        if not ids:
            return {}
        items = batch_get(
            self._client,
            self._table,
            [contact_key(org_id, contact_id) for contact_id in ids],
            projection="sk, restricted",
        )
        allowed = {str(item["sk"]).removeprefix("CONTACT#") for item in items if not item.get("restricted")}
        return {email: frozenset(ids & allowed) for email, ids in found.items() if ids & allowed}

    def exists(self, org_id: str, contact_id: str) -> bool:
        return self._store.get(org_id, contact_id) is not None
