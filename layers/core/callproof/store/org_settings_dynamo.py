"""The org's settings item on DynamoDB (ContactsTable, ``pk=ORG#<org>``, ``sk=SETTINGS``): read by the
contacts and call-log functions (``DynamoOrgSettings``), written by the accounts API
(``DynamoOrgSettingsStore``) attribute by attribute, so other attributes of that item survive."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from callproof.store.contacts_dynamo import org_pk
from callproof.store.dynamo import Item, from_item, to_item
from callproof.store.retention_registry_dynamo import OrgRegistry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SETTINGS_SK = "SETTINGS"
LEGACY_CALL_RETENTION = "call_retention_months"  # before the retention map: the call-log period


def _periods(item: Item) -> dict[str, int]:
    """The org's chosen retention periods (the ``retention`` map; an item written before it holds the
    call-log period as ``call_retention_months``). Values that are not positive whole numbers are
    ignored: the rule's maximum applies."""
    stored = item.get("retention")
    periods = {
        store: value
        for store, value in (stored.items() if isinstance(stored, dict) else ())
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
    }
    legacy = item.get(LEGACY_CALL_RETENTION)
    if "call_logs" not in periods and isinstance(legacy, int) and not isinstance(legacy, bool) and legacy > 0:
        periods["call_logs"] = legacy
    return periods


class DynamoOrgSettings:
    """Reads the org's settings item (issue 7 adds its API); an unset region falls back to the
    deployment's; the retention periods are the ones the org chose (the retention rules apply the rest)."""

    def __init__(self, client: DynamoDBClient, table: str, default_region: str) -> None:
        self._client = client
        self._table = table
        self._default_region = default_region

    def default_phone_region(self, org_id: str) -> str:
        region = self._settings(org_id).get("default_phone_region")
        return region if isinstance(region, str) else self._default_region

    def retention_periods(self, org_id: str) -> dict[str, int]:
        return _periods(self._settings(org_id))

    def _settings(self, org_id: str) -> Item:
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK})
        )
        return from_item(response.get("Item") or {})


class DynamoOrgSettingsStore:
    """Writes the attributes ``DynamoOrgSettings`` (contacts, retention) reads, on its item."""

    def __init__(self, client: DynamoDBClient, contacts_table: str) -> None:
        self._client = client
        self._table = contacts_table

    def get(self, org_id: str) -> tuple[str | None, dict[str, int]]:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": org_pk(org_id), "sk": SETTINGS_SK}),
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        region = item.get("default_phone_region")
        return (region if isinstance(region, str) else None, _periods(item))

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
        self, org_id: str, region: str | None, retention: Mapping[str, int], grace_days: int | None = None
    ) -> None:
        """The legacy call-log attribute goes: the ``retention`` map holds every period."""
        values: dict[str, Any] = {
            "default_phone_region": region,
            "retention": dict(retention) or None,
            LEGACY_CALL_RETENTION: None,
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
        if "contacts" in retention:  # opted in: the purge of untouched contacts visits the org from now on
            OrgRegistry(self._client, self._table, "contacts").add(org_id)
        self._client.update_item(**args)
