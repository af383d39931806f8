"""Calendar connections (sealed tokens only) and the selected calendar, in the integrations table
(``MAIL_TABLE``: the table that already holds the Gmail connection and the OAuth states)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from callproof.calendars.model import Connection, ConnectionStatus, Provider, Selection
from callproof.oauth.model import SealedToken
from callproof.store.dynamo import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_PREFIX = "CALENDAR#"


def connection_key(org_id: str, user_id: str, provider: Provider) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": f"{_PREFIX}{user_id}#{provider.value}"}


def selection_key(org_id: str, user_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": f"CALSELECTED#{user_id}"}


class DynamoCalendarStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    @staticmethod
    def _connection(org_id: str, item: dict[str, Any]) -> Connection:
        return Connection(
            org_id,
            str(item["user_id"]),
            Provider(item["provider"]),
            ConnectionStatus(item["status"]),
            str(item["connected_at"]),
        )

    def get(self, org_id: str, user_id: str, provider: Provider) -> Connection | None:
        item = self._get(connection_key(org_id, user_id, provider))
        return self._connection(org_id, item) if item else None

    def connected(self, org_id: str, user_id: str) -> list[Connection]:
        found = [self.get(org_id, user_id, provider) for provider in Provider]
        return [c for c in found if c is not None]

    def save(self, connection: Connection, token: SealedToken) -> None:
        item = {
            **connection_key(connection.org_id, connection.user_id, connection.provider),
            "entity": "calendar_connection",
            "user_id": connection.user_id,
            "provider": connection.provider.value,
            "status": connection.status.value,
            "connected_at": connection.connected_at,
            **token.to_attributes(),
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def token(self, org_id: str, user_id: str, provider: Provider) -> SealedToken | None:
        item = self._get(connection_key(org_id, user_id, provider))
        return SealedToken.from_attributes(item) if item else None

    def save_token(self, org_id: str, user_id: str, provider: Provider, token: SealedToken) -> None:
        attributes = token.to_attributes()
        try:  # noqa: SIM105 - the client's exception class is an attribute of the client
            self._client.update_item(
                TableName=self._table,
                Key=to_item(connection_key(org_id, user_id, provider)),
                UpdateExpression="SET token_ct = :ct, token_nonce = :n, token_key = :k",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item(
                    {
                        ":ct": attributes["token_ct"],
                        ":n": attributes["token_nonce"],
                        ":k": attributes["token_key"],
                    }
                ),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # disconnected meanwhile: the token is not kept

    def set_status(self, org_id: str, user_id: str, provider: Provider, status: ConnectionStatus) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key=to_item(connection_key(org_id, user_id, provider)),
                UpdateExpression="SET #s = :s",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":s": status.value}),
            )

    def delete(self, org_id: str, user_id: str, provider: Provider) -> None:
        self._client.delete_item(
            TableName=self._table, Key=to_item(connection_key(org_id, user_id, provider))
        )
        selection = self.selection(org_id, user_id)
        if selection is not None and selection.provider is provider:
            self._client.delete_item(TableName=self._table, Key=to_item(selection_key(org_id, user_id)))

    def selection(self, org_id: str, user_id: str) -> Selection | None:
        item = self._get(selection_key(org_id, user_id))
        if not item:
            return None
        return Selection(Provider(item["provider"]), str(item["calendar_id"]), str(item.get("name", "")))

    def select(self, org_id: str, user_id: str, selection: Selection) -> None:
        item = {
            **selection_key(org_id, user_id),
            "entity": "calendar_selection",
            "provider": selection.provider.value,
            "calendar_id": selection.calendar_id,
            "name": selection.name,
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))
