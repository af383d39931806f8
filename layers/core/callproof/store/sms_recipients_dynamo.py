"""What the SMS send gate reads of a contact, on DynamoDB (ContactsTable, read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callproof.sms.model import Recipient
from callproof.store.contacts_dynamo import contact_key
from callproof.store.dynamo import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoRecipientReader:
    """Reads what the send gate needs of a contact item (ContactsTable, read-only)."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def recipient(self, org_id: str, contact_id: str) -> Recipient | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item(contact_key(org_id, contact_id)),
            ProjectionExpression="id, #type, phones, restricted, suppressed",
            ExpressionAttributeNames={"#type": "type"},
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        if not item:
            return None
        return Recipient(
            contact_id=item["id"],
            type=str(item.get("type")),
            e164s=tuple(phone["e164"] for phone in item.get("phones", ())),
            restricted=bool(item.get("restricted", False)),
            suppressed=bool(item.get("suppressed", False)),
        )
