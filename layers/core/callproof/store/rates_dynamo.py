"""Rate counters (``callproof.ratelimit.RateCounter``) on a DynamoDB table.

Item: pk=RATE#<keyed hash of action and party>  sk=<window>  count, expires_at (TTL, 2 hours)
The one key family that does not begin with an org: these limits exist to cross orgs (a client
address or a phone number is counted wherever it is used), and they hold no org data.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from callproof.ratelimit import WINDOW_SECONDS
from callproof.store.dynamo import to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoRateCounter:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def hit(self, key: str, window: str, limit: int) -> bool:
        expires = int(time.time()) + 2 * WINDOW_SECONDS
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": f"RATE#{key}", "sk": window}),
                UpdateExpression="ADD #count :one SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues=to_item({":one": 1, ":limit": limit, ":expires": expires}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
