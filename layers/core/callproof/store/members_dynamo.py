"""Org members on DynamoDB (AccountsTable).

AccountsTable items (every key begins with the org, except the service's own policy documents):
- member / profile:  pk=ORG#<org>   sk=USER#<user>
  a removed member (ADR 0023) also carries ``removed_pk=REMOVED`` and ``purge_after`` (ISO, UTC): the
  sparse index ``RemovedByPurge`` lists them across orgs for the daily sweep (never a Scan)
- consent record:    pk=ORG#<org>   sk=CONSENT#<user>#<purpose>#<at>#<id>   (append-only)
- consent state:     pk=ORG#<org>   sk=CONSENTS#<user>   (the latest record per purpose)
  (consent records and state: ``store/consents_dynamo.py``)
- policy version:    pk=POLICY#<document>   sk=V#<seq, zero-padded>   (append-only)
- current policy:    pk=POLICY#<document>   sk=CURRENT
  (policies: ``store/policies_dynamo.py``)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.accounts.model import Member
from callproof.errors import Conflict
from callproof.store.consents_dynamo import consents_key
from callproof.store.contacts_dynamo import org_pk
from callproof.store.dynamo import Item, from_item, to_item, transact
from callproof.tenancy import Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

USER_PREFIX = "USER#"
REMOVED_BY_PURGE = "RemovedByPurge"
REMOVED_PK = "REMOVED"


def member_key(org_id: str, user_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"{USER_PREFIX}{user_id}"}


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _member(item: Mapping[str, Any]) -> Member:
    created = item.get("created_at")
    return Member(
        org_id=item["org_id"],
        user_id=item["user_id"],
        email=item.get("email", ""),
        full_name=item.get("full_name", ""),
        company=item.get("company", ""),
        roles=frozenset(Role(r) for r in item.get("roles", []) if r in Role._value2member_map_),
        username=item.get("username"),
        created_at=datetime.fromisoformat(created) if created else None,
        version=int(item.get("version", 1)),
        removed_at=_moment(item.get("removed_at")),
        removed_by=item.get("removed_by"),
        purge_after=_moment(item.get("purge_after")),
    )


def _utc(moment: datetime) -> str:
    """Sortable in the index: every ``purge_after`` in UTC with the same offset."""
    return moment.astimezone(UTC).isoformat()


def _member_item(member: Member) -> Item:
    item: Item = {
        **member_key(member.org_id, member.user_id),
        "entity": "member",
        "org_id": member.org_id,
        "user_id": member.user_id,
        "email": member.email,
        "full_name": member.full_name,
        "company": member.company,
        "roles": sorted(member.roles),
        "username": member.username,
        "created_at": member.created_at.isoformat() if member.created_at else None,
        "version": member.version,
    }
    if member.removed_at is not None and member.purge_after is not None:
        item |= {
            "removed_at": _utc(member.removed_at),
            "removed_by": member.removed_by,
            "purge_after": _utc(member.purge_after),
            "removed_pk": REMOVED_PK,
        }
    return item


class DynamoMemberStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, org_id: str, user_id: str) -> Member | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(member_key(org_id, user_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return _member(from_item(item)) if item else None

    def list_org(self, org_id: str) -> list[Member]:
        members: list[Member] = []
        start: dict[str, Any] | None = None
        while True:
            args: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": to_item({":pk": org_pk(org_id), ":prefix": USER_PREFIX}),
            }
            if start:
                args["ExclusiveStartKey"] = start
            response = self._client.query(**args)
            members.extend(_member(from_item(item)) for item in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return members

    def put(self, old: Member | None, new: Member) -> None:
        if old is None or old.version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": to_item({":v": old.version}),
            }
        conflict = "the member exists or changed meanwhile; reload and retry"
        item = to_item(_member_item(new))
        if old is not None and old.status is not new.status:
            # A removal (or restore) is mirrored, in the same transaction, on the item the per-request
            # gate reads (the user's consents item): a removed member's still-valid token is refused.
            put = {"TableName": self._table, "Item": item, **condition}
            transact(self._client, [{"Put": put}, self._gate_mark(new)], conflict)
            return
        try:
            self._client.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise Conflict(conflict) from None

    def _gate_mark(self, member: Member) -> dict[str, Any]:
        key = to_item(consents_key(member.org_id, member.user_id))
        update: dict[str, Any] = {"TableName": self._table, "Key": key}
        if member.removed_at is None:
            return {"Update": update | {"UpdateExpression": "REMOVE removed_at"}}
        when = to_item({":at": _utc(member.removed_at)})
        return {
            "Update": update | {"UpdateExpression": "SET removed_at = :at", "ExpressionAttributeValues": when}
        }

    def delete(self, member: Member) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=to_item(member_key(member.org_id, member.user_id)),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues=to_item({":v": member.version}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise Conflict("the member changed meanwhile; reload and retry") from None

    def due_for_purge(self, now: datetime) -> Iterator[tuple[str, str]]:
        """Removed members whose grace period ended, from the sparse index (eventually consistent: the
        sweep reads each member again before it purges)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": REMOVED_BY_PURGE,
            "KeyConditionExpression": "removed_pk = :removed AND purge_after <= :now",
            "ExpressionAttributeValues": to_item({":removed": REMOVED_PK, ":now": _utc(now)}),
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                keys = from_item(item)  # the index is KEYS_ONLY: the table's keys name org and user
                yield str(keys["pk"]).removeprefix("ORG#"), str(keys["sk"]).removeprefix(USER_PREFIX)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
