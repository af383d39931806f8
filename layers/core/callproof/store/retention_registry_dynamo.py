"""Which orgs have items a retention rule may expire, per store, on the store's own table: one item
``pk=RETENTION#<store> sk=ORG#<org>`` (org id only; mail's is put when a mailbox connects, with the
integration, ``gmail_integrations_dynamo``), put by the store's writer the first time a Lambda
environment writes for that org (the adapter remembers the orgs it put, and wiring builds it once per
environment: one PutItem per org and environment), and
read by the daily purge with a Query, never a Scan. Never removed: an org with nothing left costs the
purge one empty Query a day.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from callproof.store.dynamo import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def registry_pk(store: str) -> str:
    return f"RETENTION#{store}"


def registry_item(store: str, org_id: str) -> dict[str, str]:
    return {"pk": registry_pk(store), "sk": f"ORG#{org_id}", "org_id": org_id}


class OrgRegistry:
    def __init__(self, client: DynamoDBClient, table: str, store: str) -> None:
        self._client = client
        self._table = table
        self._store = store
        self._registered: set[str] = set()

    def add(self, org_id: str) -> None:
        if org_id in self._registered:
            return
        self._client.put_item(
            TableName=self._table,
            Item=to_item(registry_item(self._store, org_id)),
        )
        self._registered.add(org_id)

    def orgs(self) -> Iterator[str]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": registry_pk(self._store)}),
        }
        while True:
            response = self._client.query(**request)
            yield from (str(from_item(item)["org_id"]) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
