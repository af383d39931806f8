"""An erased org user's business records, reassigned to an admin (``BusinessRecords`` of the DSAR
domain): the contacts they own (ContactsTable) and the calls they logged (CallLogsTable).

Each record changes in one conditional UpdateItem that still expects the old owner, so a replay
moves only what is left and a record someone else changed meanwhile is not overwritten.

- contacts: the org's contact partition is queried (consistent, no Scan) with a filter on the owner;
  there is no owner index (ADR 0018: an erasure is rare, the partition is read once per erased user).
  The contact's version goes up, as any edit's does.
- calls: the ByUser index lists the user's calls; ``user_id`` and the index key ``user_pk`` move.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.store.calls_dynamo import BY_USER, call_key
from callproof.store.contacts_dynamo import contact_key, org_pk
from callproof.store.dynamo import condition_failed, query_all, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class _Reassigning:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _update(self, key: dict[str, str], expression: str, values: dict[str, Any]) -> bool:
        """One conditional update; False when the record is gone or no longer the old owner's."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(key),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk) AND #owner = :from",
                ExpressionAttributeNames={"#owner": self._owner},
                ExpressionAttributeValues=to_item(values),
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    _owner = ""


class ContactOwnership(_Reassigning):
    name = "contacts"
    _owner = "owner_user_id"

    def reassign(self, org_id: str, from_user: str, to_user: str) -> int:
        owned = query_all(
            self._client,
            {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "FilterExpression": "owner_user_id = :from",
                "ProjectionExpression": "id",
                "ExpressionAttributeValues": to_item(
                    {":pk": org_pk(org_id), ":prefix": "CONTACT#", ":from": from_user}
                ),
                "ConsistentRead": True,
            },
        )
        now = datetime.now(UTC).isoformat()
        return sum(
            self._update(
                contact_key(org_id, str(item["id"])),
                "SET #owner = :to, updated_at = :now, version = version + :one",
                {":from": from_user, ":to": to_user, ":now": now, ":one": 1},
            )
            for item in owned
        )


class CallOwnership(_Reassigning):
    name = "call_logs"
    _owner = "user_id"

    def reassign(self, org_id: str, from_user: str, to_user: str) -> int:
        logged = list(
            query_all(
                self._client,
                {
                    "TableName": self._table,
                    "IndexName": BY_USER,
                    "KeyConditionExpression": "user_pk = :pk",
                    "ProjectionExpression": "id",
                    "ExpressionAttributeValues": to_item({":pk": f"ORG#{org_id}#USER#{from_user}"}),
                },
            )
        )  # listed first: each update moves the call out of the index being read
        return sum(
            self._update(
                call_key(org_id, str(item["id"])),
                "SET #owner = :to, user_pk = :pk",
                {":from": from_user, ":to": to_user, ":pk": f"ORG#{org_id}#USER#{to_user}"},
            )
            for item in logged
        )
