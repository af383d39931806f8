"""DynamoDB helpers shared by the adapters: (de)serialization and batch calls that never drop items."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from callproof.errors import TemporarilyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
Item = dict[str, Any]
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

MAX_BATCH_GET = 100
MAX_BATCH_ATTEMPTS = 8


class BatchIncomplete(TemporarilyUnavailable):
    """DynamoDB kept returning unprocessed keys after every retry: the caller must report failure."""


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> Item:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def backoff_sleep(attempt: int, sleep: Callable[[float], None] = time.sleep) -> None:
    """Capped exponential backoff with full jitter (AWS architecture blog's recommendation)."""
    sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not security


def batch_get(
    client: DynamoDBClient, table: str, keys: Sequence[Mapping[str, str]], projection: str | None = None
) -> list[Item]:
    """BatchGetItem in calls of at most 100 keys, retrying UnprocessedKeys with backoff."""
    found: list[Item] = []
    for chunk in chunks(list(keys), MAX_BATCH_GET):
        request: dict[str, Any] = {"Keys": [to_item(key) for key in chunk], "ConsistentRead": True}
        if projection:
            request["ProjectionExpression"] = projection
        pending: Mapping[str, Any] = {table: request}
        for attempt in range(MAX_BATCH_ATTEMPTS):
            response = client.batch_get_item(RequestItems=pending)
            found.extend(from_item(item) for item in response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            backoff_sleep(attempt)
        else:
            raise BatchIncomplete("the database is throttling requests; retry shortly")
    return found
