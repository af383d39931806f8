"""Gmail integrations on DynamoDB (MailTable): the integration with its sealed token, the mailbox route
that Pub/Sub pushes are found by, and the watch registry the hourly maintenance walks (layout in
``store/mail_index_dynamo.py``)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from callproof.errors import Conflict
from callproof.mail.model import DEFAULT_LABELS, Integration, IntegrationStatus
from callproof.oauth.model import SealedToken
from callproof.store.dynamo import batch_get, from_item, to_item
from callproof.store.mail_index_dynamo import org_pk
from callproof.store.retention_registry_dynamo import registry_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def integration_key(org_id: str, user_id: str) -> dict[str, str]:
    return {"pk": org_pk(org_id), "sk": f"GMAIL#USER#{user_id}"}


def route_key(mailbox: str) -> dict[str, str]:
    digest = hashlib.sha256(mailbox.strip().lower().encode()).hexdigest()
    return {"pk": f"MAILBOX#{digest}", "sk": "ROUTE"}


REGISTRY_PK = "GMAIL#REGISTRY"


def registry_key(org_id: str, user_id: str) -> dict[str, str]:
    """The watch registry: the schedules' way to every mailbox without a Scan (one item per mailbox)."""
    return {"pk": REGISTRY_PK, "sk": f"{org_id}#{user_id}"}


def _integration(item: Mapping[str, Any]) -> Integration:
    return Integration(
        org_id=str(item["pk"]).removeprefix("ORG#"),
        user_id=str(item["sk"]).removeprefix("GMAIL#USER#"),
        mailbox=item["mailbox"],
        status=IntegrationStatus(item["status"]),
        history_id=int(item["history_id"]),
        watch_expiration=int(item["watch_expiration"]),
        connected_at=item["connected_at"],
        status_reason=item.get("status_reason"),
        last_push_at=item.get("last_push_at"),
        last_sync_at=item.get("last_sync_at"),
        labels=tuple(item.get("labels") or DEFAULT_LABELS),  # none stored: chosen before labels existed
    )


class DynamoIntegrationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def get(self, org_id: str, user_id: str) -> Integration | None:
        item = self._get(integration_key(org_id, user_id))
        return _integration(item) if item else None

    def find_by_mailbox(self, mailbox: str) -> Integration | None:
        route = self._get(route_key(mailbox))
        if route is None:
            return None
        integration = self.get(route["org_id"], route["user_id"])
        return integration if integration and integration.mailbox == mailbox.strip().lower() else None

    def connect(self, integration: Integration, token: SealedToken) -> None:
        old = self.get(integration.org_id, integration.user_id)
        item = {
            **integration_key(integration.org_id, integration.user_id),
            "entity": "gmail_integration",
            "mailbox": integration.mailbox,
            "status": integration.status.value,
            "history_id": integration.history_id,
            "watch_expiration": integration.watch_expiration,
            "connected_at": integration.connected_at,
            "labels": list(integration.labels),
            **token.to_attributes(),
        }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": to_item(item)}},
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {
                            **route_key(integration.mailbox),
                            "entity": "gmail_route",
                            "org_id": integration.org_id,
                            "user_id": integration.user_id,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk) OR (org_id = :o AND user_id = :u)",
                    "ExpressionAttributeValues": to_item(
                        {":o": integration.org_id, ":u": integration.user_id}
                    ),
                }
            },
        ]
        actions.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {**registry_key(integration.org_id, integration.user_id), "entity": "gmail_registry"}
                    ),
                }
            }
        )
        org = integration.org_id  # the retention purge's registry: kept after the mailbox is removed
        actions.append({"Put": {"TableName": self._table, "Item": to_item(registry_item("mail", org))}})
        if old is not None and old.mailbox != integration.mailbox:
            actions.append({"Delete": {"TableName": self._table, "Key": to_item(route_key(old.mailbox))}})
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise Conflict("this Gmail mailbox is already connected by another user") from None

    def token(self, org_id: str, user_id: str) -> SealedToken | None:
        item = self._get(integration_key(org_id, user_id))
        return SealedToken.from_attributes(item) if item else None

    def save_token(self, org_id: str, user_id: str, token: SealedToken) -> None:
        attributes = token.to_attributes()
        self._update(
            org_id,
            user_id,
            "SET " + ", ".join(f"{name} = :{name}" for name in attributes),
            {f":{name}": value for name, value in attributes.items()},
        )

    def _update(
        self, org_id: str, user_id: str, expression: str, values: dict[str, Any], condition: str = ""
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_item(integration_key(org_id, user_id)),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)" + (f" AND {condition}" if condition else ""),
                ExpressionAttributeValues=to_item(values),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def advance(self, org_id: str, user_id: str, history_id: int, synced_at: str) -> bool:
        return self._update(
            org_id,
            user_id,
            "SET history_id = :h, last_sync_at = :t",
            {":h": history_id, ":t": synced_at},
            condition="history_id < :h",
        )

    def set_status(self, org_id: str, user_id: str, status: IntegrationStatus, reason: str | None) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key=to_item(integration_key(org_id, user_id)),
                UpdateExpression="SET #s = :s, status_reason = :r",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":s": status.value, ":r": reason or ""}),
            )

    def record_push(self, org_id: str, user_id: str, at: str) -> None:
        self._update(org_id, user_id, "SET last_push_at = :t", {":t": at})

    def set_watch(self, org_id: str, user_id: str, expiration: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item(integration_key(org_id, user_id)),
            UpdateExpression="SET watch_expiration = :e",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":e": expiration}),
        )

    def set_labels(self, org_id: str, user_id: str, labels: Sequence[str], expiration: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item(integration_key(org_id, user_id)),
            UpdateExpression="SET labels = :l, watch_expiration = :e",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":l": list(labels), ":e": expiration}),
        )

    def all(self) -> Iterator[Integration]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": REGISTRY_PK}),
        }
        while True:
            response = self._client.query(**request)
            keys = []
            for item in response.get("Items", []):
                org_id, _, user_id = str(from_item(item)["sk"]).partition("#")
                keys.append(integration_key(org_id, user_id))
            for found in batch_get(self._client, self._table, keys):
                yield _integration(found)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def delete(self, integration: Integration) -> None:
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(registry_key(integration.org_id, integration.user_id)),
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(integration_key(integration.org_id, integration.user_id)),
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item(route_key(integration.mailbox)),
                        "ConditionExpression": "attribute_not_exists(pk) OR (org_id = :o AND user_id = :u)",
                        "ExpressionAttributeValues": to_item(
                            {":o": integration.org_id, ":u": integration.user_id}
                        ),
                    }
                },
            ]
        )
