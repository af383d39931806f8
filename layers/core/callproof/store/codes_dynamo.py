"""One-time codes (``callproof.otp.CodeStore``) on a DynamoDB table (the SmsTable).

Item: pk=ORG#<org>#CODE#<slot>  sk=CODE   code_hash, tries, expires_at (TTL), used_at
The slot and the hash are keyed hashes (``callproof.otp``): no number or code is readable here.
Accepting a code and counting a wrong try are each one conditional update, so two tries racing
each other can neither both succeed nor both escape the count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.otp import CodeCheck, CodeOutcome
from callproof.store.dynamo import condition_failed, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CODE_SK = "CODE"


class DynamoOneTimeCodes:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _key(self, org_id: str, slot: str) -> dict[str, Any]:
        return to_item({"pk": f"ORG#{org_id}#CODE#{slot}", "sk": CODE_SK})

    def put(self, org_id: str, slot: str, code_hash: str, expires_at: int) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                **self._key(org_id, slot),
                **to_item(
                    {"entity": "one_time_code", "code_hash": code_hash, "tries": 0, "expires_at": expires_at}
                ),
            },
        )

    def use(self, org_id: str, slot: str, code_hash: str, now: int, max_tries: int) -> CodeCheck:
        usable = "expires_at > :now AND tries < :max AND attribute_not_exists(used_at)"
        values = {":now": now, ":max": max_tries}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(org_id, slot),
                UpdateExpression="SET used_at = :now",
                ConditionExpression=f"code_hash = :hash AND {usable}",
                ExpressionAttributeValues=to_item({**values, ":hash": code_hash}),
            )
            return CodeCheck(CodeOutcome.ACCEPTED)
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(org_id, slot),
                UpdateExpression="ADD tries :one",
                ConditionExpression=f"attribute_exists(pk) AND {usable}",
                ExpressionAttributeValues=to_item({**values, ":one": 1}),
                ReturnValues="UPDATED_NEW",
            )
            return CodeCheck(CodeOutcome.WRONG, max_tries - int(from_item(response["Attributes"])["tries"]))
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        item = self._client.get_item(TableName=self._table, Key=self._key(org_id, slot), ConsistentRead=True)
        found = from_item(item["Item"]) if "Item" in item else None
        if found and "used_at" not in found and int(found["expires_at"]) > now:
            return CodeCheck(CodeOutcome.LOCKED)
        return CodeCheck(CodeOutcome.MISSING)
