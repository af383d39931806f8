"""The org's settings item on DynamoDB (ContactsTable, ``pk=ORG#<org>``, ``sk=SETTINGS``): read by the
contacts and call-log functions (``DynamoOrgSettings``), written by the accounts API
(``DynamoOrgSettingsStore``) attribute by attribute, so other attributes of that item survive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callproof.store.contacts_dynamo import org_pk
from callproof.store.dynamo import Item, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SETTINGS_SK = "SETTINGS"
DEFAULT_CALL_RETENTION_MONTHS = 24


class DynamoOrgSettings:
    """Reads the org's settings item (issue 7 adds its API); unset values fall back to the defaults:
    the deployment's phone region, and 24 months of call logs."""

    def __init__(self, client: DynamoDBClient, table: str, default_region: str) -> None:
        self._client = client
        self._table = table
        self._default_region = default_region

    def default_phone_region(self, org_id: str) -> str:
        region = self._settings(org_id).get("default_phone_region")
        return region if isinstance(region, str) else self._default_region

    def call_retention_months(self, org_id: str) -> int:
        months = self._settings(org_id).get("call_retention_months")
        return months if isinstance(months, int) and months > 0 else DEFAULT_CALL_RETENTION_MONTHS

    def _settings(self, org_id: str) -> Item:
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK})
        )
        return from_item(response.get("Item") or {})


class DynamoOrgSettingsStore:
    """Writes the attributes ``DynamoOrgSettings`` (contacts, call logs) reads, on its item."""

    def __init__(self, client: DynamoDBClient, contacts_table: str) -> None:
        self._client = client
        self._table = contacts_table

    def get(self, org_id: str) -> tuple[str | None, int | None]:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK}),
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        region, months = item.get("default_phone_region"), item.get("call_retention_months")
        return (region if isinstance(region, str) else None, months if isinstance(months, int) else None)

    def member_grace_days(self, org_id: str) -> int | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK}),
            ConsistentRead=True,
            ProjectionExpression="member_grace_days",
        )
        days = from_item(response.get("Item") or {}).get("member_grace_days")
        return days if isinstance(days, int) and days > 0 else None

    def put(
        self, org_id: str, region: str | None, retention_months: int | None, grace_days: int | None = None
    ) -> None:
        values = {
            "default_phone_region": region,
            "call_retention_months": retention_months,
            "member_grace_days": grace_days,
        }
        sets = [name for name, value in values.items() if value is not None]
        removes = [name for name, value in values.items() if value is None]
        expression = " ".join(
            part
            for part in (
                ("SET " + ", ".join(f"{n} = :{n}" for n in sets)) if sets else "",
                ("REMOVE " + ", ".join(removes)) if removes else "",
            )
            if part
        )
        args: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK}),
            "UpdateExpression": expression,
        }
        if sets:
            args["ExpressionAttributeValues"] = to_item({f":{n}": values[n] for n in sets})
        self._client.update_item(**args)
