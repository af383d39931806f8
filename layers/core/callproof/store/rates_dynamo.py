"""Rate counters (``callproof.ratelimit.RateCounter``) on a DynamoDB table.

Item: pk=RATE#<keyed hash of action and party>  sk=<window>  count, expires_at (TTL, 2 hours)
The one key family that does not begin with an org: these limits exist to cross orgs (a client
address or a phone number is counted wherever it is used), and they hold no org data.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from callproof.ratelimit import WINDOW_SECONDS
from callproof.store.dynamo import count_below

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoRateCounter:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def hit(self, key: str, window: str, limit: int) -> bool:
        expires = int(time.time()) + 2 * WINDOW_SECONDS
        return count_below(
            self._client, self._table, {"pk": f"RATE#{key}", "sk": window}, "count", limit, expires
        )
