"""What the DynamoDB-backed stores of personal data share: paged queries and batched deletes that
never drop an item silently."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from callproof import aws
from callproof.config import DsarTaskSettings
from callproof.dsar.model import Cell, Subject
from callproof.dsar.ports import PersonalDataStore
from callproof.store.dynamo import BatchIncomplete, Item, batch_write, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TableData:
    """Base of a store of personal data on one DynamoDB table; it adds no extra export files."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        return iter(())


def query_all(client: DynamoDBClient, request: Mapping[str, Any]) -> Iterator[Item]:
    """Every item a Query answers (table or index), page by page."""
    page: dict[str, Any] = dict(request)
    while True:
        response = client.query(**page)
        yield from (from_item(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return
        page["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def partition(client: DynamoDBClient, table: str, pk: str, prefix: str) -> Iterator[Item]:
    """Every item of one partition whose sort key begins with ``prefix`` (consistent reads)."""
    return query_all(
        client,
        {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": pk, ":prefix": prefix}),
            "ConsistentRead": True,
        },
    )


def delete_keys(client: DynamoDBClient, table: str, keys: Iterable[Mapping[str, str]]) -> int:
    """BatchWriteItem deletes (25 a call, unprocessed ones retried); how many keys were sent. Raises
    ``BatchIncomplete`` if any is still unprocessed, so the workflow retries the store: deleting an
    absent key is a no-op, which keeps a second run idempotent."""
    requests = [{"DeleteRequest": {"Key": to_item(key)}} for key in keys]
    if batch_write(client, table, requests):
        raise BatchIncomplete("the database is throttling deletes; retry shortly")
    return len(requests)


def cell(value: Any) -> Cell:
    """A CSV cell: lists joined with ';', mappings as compact JSON, times in ISO 8601, enums by value."""
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(str(part) for part in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def key_of(item: Mapping[str, Any]) -> dict[str, str]:
    return {"pk": item["pk"], "sk": item["sk"]}


def on_table(
    table: Callable[[DsarTaskSettings], str | None], build: Callable[[DynamoDBClient, str], PersonalDataStore]
) -> Callable[[DsarTaskSettings], PersonalDataStore | None]:
    """A registry factory for a store on one DynamoDB table: absent when the table is not configured."""

    def factory(settings: DsarTaskSettings) -> PersonalDataStore | None:
        name = table(settings)
        return build(aws.dynamodb(), name) if name else None

    return factory
