"""Policy documents and their versions on DynamoDB (AccountsTable; layout in ``store/members_dynamo.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from callproof.accounts.model import CurrentPolicy, PolicyVersion
from callproof.store.dynamo import Item, from_item, to_item, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _version_item(version: PolicyVersion) -> Item:
    return {
        "document": version.document,
        "version": version.version,
        "seq": version.seq,
        "significant": version.significant,
        "published_at": version.published_at.isoformat(),
        "url": version.url,
    }


def _version(item: Mapping[str, Any]) -> PolicyVersion:
    return PolicyVersion(
        document=item["document"],
        version=item["version"],
        seq=int(item["seq"]),
        significant=bool(item["significant"]),
        published_at=datetime.fromisoformat(item["published_at"]),
        url=item.get("url"),
    )


class DynamoPolicyStore:
    """Policy documents are the service's, not a tenant's: their partition is POLICY#<document>."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def current(self, document: str) -> CurrentPolicy | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"POLICY#{document}", "sk": "CURRENT"}),
            ConsistentRead=True,
        )
        item = from_item(response.get("Item") or {})
        if not item:
            return None
        significant = item.get("significant_version")
        return CurrentPolicy(
            latest=_version(item["latest"]),
            significant=_version(significant) if isinstance(significant, dict) else None,
        )

    def publish(self, previous: CurrentPolicy | None, version: PolicyVersion) -> None:
        pk = f"POLICY#{version.document}"
        significant = version if version.significant else (previous.significant if previous else None)
        current = {
            "pk": pk,
            "sk": "CURRENT",
            "entity": "policy_current",
            "seq": version.seq,
            "latest": {k: v for k, v in _version_item(version).items() if v is not None},
            "significant_version": (
                {k: v for k, v in _version_item(significant).items() if v is not None}
                if significant
                else None
            ),
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if previous is None
            else {
                "ConditionExpression": "seq = :seq",
                "ExpressionAttributeValues": to_item({":seq": previous.latest.seq}),
            }
        )
        transact(
            self._client,
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {
                                "pk": pk,
                                "sk": f"V#{version.seq:010d}",
                                "entity": "policy_version",
                                **_version_item(version),
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self._table, "Item": to_item(current), **condition}},
            ],
            "another version was published meanwhile; retry",
        )
