"""DynamoDB helpers shared by the adapters: (de)serialization and batch calls that never drop items."""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from callproof.errors import Conflict, InvalidInput, TemporarilyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
Item = dict[str, Any]
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

MAX_BATCH_GET = 100
# Items a page of a resumable listing (``resume``): a 1 MB page of call or mail items is about 2,000
# of them, some 20 MB once parsed, so a listing's memory grew with its length up to that; 500 (about
# 4 MB parsed) keep it the same from 500 items on, in a quarter of the requests 100 would take.
LISTING_PAGE = 500
MAX_BATCH_ATTEMPTS = 8


class BatchIncomplete(TemporarilyUnavailable):
    """DynamoDB kept returning unprocessed keys after every retry: the caller must report failure."""


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values to DynamoDB JSON; None attributes are left out, floats travel as Decimal."""
    return {
        key: _serializer.serialize(_to_dynamo(value)) for key, value in values.items() if value is not None
    }


def from_item(item: Mapping[str, Any]) -> Item:
    """DynamoDB JSON to Python values; numbers come back as int or float, not Decimal."""
    return {key: _from_dynamo(_deserializer.deserialize(value)) for key, value in item.items()}


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(item) for item in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(item) for item in value]
    return value


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


MAX_BATCH_WRITE = 25
TRANSACTION_ATTEMPTS = 5


def transact(client: DynamoDBClient, actions: Sequence[Mapping[str, Any]], conflict: str) -> None:
    """One TransactWriteItems. A failed condition raises ``Conflict(conflict)``; cancellations caused by
    concurrent transactions on the same items (TransactionConflict) are retried with backoff."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = {reason.get("Code") for reason in exc.response.get("CancellationReasons", [])}
            if reasons - {"None", None, "TransactionConflict"}:
                raise Conflict(conflict) from None
        backoff_sleep(attempt)
    raise Conflict("the transaction kept conflicting with concurrent writes; retry")


def batch_write(
    client: DynamoDBClient, table: str, requests: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """BatchWriteItem in calls of at most 25, retrying UnprocessedItems with backoff.

    Returns the requests DynamoDB still had not processed after every retry, so the caller can report
    exactly those as failed: nothing is dropped silently.
    """
    failed: list[Mapping[str, Any]] = []
    for chunk in chunks(list(requests), MAX_BATCH_WRITE):
        pending: list[Any] = list(chunk)
        for attempt in range(MAX_BATCH_ATTEMPTS):
            response = client.batch_write_item(RequestItems={table: pending})
            pending = list((response.get("UnprocessedItems") or {}).get(table, []))
            if not pending:
                break
            backoff_sleep(attempt)
        failed.extend(pending)
    return failed


def encode_cursor(last_key: Mapping[str, Any]) -> str:
    """An opaque pagination cursor from DynamoDB's LastEvaluatedKey."""
    return (
        base64.urlsafe_b64encode(json.dumps(from_item(last_key), sort_keys=True).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(
    cursor: str, pinned: Mapping[str, str], prefixes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ExclusiveStartKey in a cursor, refused unless its ``pinned`` key attributes (the caller's org
    and partition) are exactly the expected ones and its other keys have the expected ``prefixes``: a
    cursor can never open another org's data, nor point outside the query (a DynamoDB error)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor", field="cursor") from None
    valid = (
        isinstance(data, dict)
        and all(isinstance(key, str) and isinstance(value, str) for key, value in data.items())
        and all(data.get(key) == value for key, value in pinned.items())
        and all(str(data.get(key, "")).startswith(prefix) for key, prefix in (prefixes or {}).items())
    )
    if not valid:
        raise InvalidInput("invalid cursor", field="cursor")
    return to_item(data)


def condition_failed(exc: ClientError) -> bool:
    """Whether a conditional write was refused because its condition did not hold."""
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def count_below(
    client: DynamoDBClient, table: str, key: Mapping[str, Any], attribute: str, cap: int, expires_at: int
) -> bool:
    """Add one to ``attribute`` of the item at ``key`` unless it already reached ``cap`` (then False
    and nothing changes); the item expires at ``expires_at`` (TTL) set by its first count."""
    try:
        client.update_item(
            TableName=table,
            Key=to_item(key),
            UpdateExpression="ADD #count :one SET expires_at = if_not_exists(expires_at, :expires)",
            ConditionExpression="attribute_not_exists(#count) OR #count < :cap",
            ExpressionAttributeNames={"#count": attribute},
            ExpressionAttributeValues=to_item({":one": 1, ":cap": cap, ":expires": expires_at}),
        )
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def save_versioned(
    client: DynamoDBClient,
    table: str,
    key: Mapping[str, str],
    values: Mapping[str, Any],
    expected: int,
    conflict: str,
) -> None:
    """SET the ``values`` that are not None and REMOVE the others, if the item's ``version`` is still
    ``expected``; else ``Conflict(conflict)``. ``values`` carries the new version."""
    present = {name: value for name, value in values.items() if value is not None}
    absent = [name for name, value in values.items() if value is None]
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in present)
    if absent:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in absent)
    try:
        client.update_item(
            TableName=table,
            Key=to_item(key),
            UpdateExpression=expression,
            ConditionExpression="#version = :expected",
            ExpressionAttributeNames={f"#{name}": name for name in values} | {"#version": "version"},
            ExpressionAttributeValues=to_item(
                {**{f":{name}": value for name, value in present.items()}, ":expected": expected}
            ),
        )
    except ClientError as exc:
        if condition_failed(exc):
            raise Conflict(conflict) from None
        raise


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
    return query_all(client, partition_listing(table, pk, prefix).request)


def partition_listing(table: str, pk: str, prefix: str, tag: str = "") -> Listing:
    """``partition`` as a resumable listing (``resume``)."""
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": to_item({":pk": pk, ":prefix": prefix}),
        "ConsistentRead": True,
    }
    return Listing(request, ("pk", pk), ("sk",), tag, {"sk": prefix})


def key_of(item: Mapping[str, Any]) -> dict[str, str]:
    """The primary key (``pk``, ``sk``) of an item."""
    return {"pk": item["pk"], "sk": item["sk"]}


def delete_keys(client: DynamoDBClient, table: str, keys: Iterable[Mapping[str, str]]) -> int:
    """BatchWriteItem deletes (25 a call, unprocessed ones retried); how many keys were sent. Raises
    ``BatchIncomplete`` if any is still unprocessed, so the caller retries: deleting an absent key is a
    no-op, which keeps a second run idempotent."""
    requests = [{"DeleteRequest": {"Key": to_item(key)}} for key in keys]
    if batch_write(client, table, requests):
        raise BatchIncomplete("the database is throttling deletes; retry shortly")
    return len(requests)


def time_sk(moment: datetime, suffix: str) -> str:
    """A sort key that orders by time: ``<moment in UTC, ISO with microseconds>Z#<suffix>``; with an
    empty suffix, the bound a ``< cutoff`` key condition compares with."""
    return f"{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{suffix}"


@dataclass(frozen=True, slots=True)
class Listing:
    """One Query of a resumable listing (``resume``): its parameters, its partition key (name, value)
    and the other attributes that place an item in it (the table's key, an index's sort key)."""

    request: Mapping[str, Any]
    partition: tuple[str, str]
    position: tuple[str, ...]
    tag: str = ""  # what the caller calls this listing (the access path it is)
    within: Mapping[str, str] = field(default_factory=dict)  # position attribute -> prefix of its value


def resume(
    client: DynamoDBClient, listings: Sequence[Listing], cursor: str | None
) -> Iterator[tuple[Listing, Item, str]]:
    """Every item of ``listings`` in turn, in pages of ``LISTING_PAGE`` items, from just after
    ``cursor`` (None: from the start), each with its listing and the cursor that resumes after it. A
    cursor names the listing by its place and the item by its position attributes only (the partition
    key, which may hold a phone number, is the listing's own): keys, never data. A cursor that does not
    fit the listings (another listing's position, outside the listing's key range) raises ValueError."""
    first, after = _resume_point(listings, cursor)
    for number in range(first, len(listings)):
        listing = listings[number]
        request = {"Limit": LISTING_PAGE, **listing.request}
        if number == first and after is not None:
            request["ExclusiveStartKey"] = to_item({listing.partition[0]: listing.partition[1], **after})
        for item in query_all(client, request):
            position = {name: item[name] for name in listing.position}
            yield listing, item, _resume_cursor(number, position)


def _resume_cursor(number: int, position: Mapping[str, Any]) -> str:
    data = json.dumps({"listing": number, "after": position}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _resume_point(listings: Sequence[Listing], cursor: str | None) -> tuple[int, dict[str, Any] | None]:
    if cursor is None:
        return 0, None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        number, after = data["listing"], data["after"]
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError, KeyError):
        raise ValueError("not a listing cursor") from None
    fits = (
        isinstance(number, int)
        and 0 <= number < len(listings)
        and isinstance(after, dict)
        and set(after) == set(listings[number].position)
        and all(isinstance(value, str) for value in after.values())
        and all(after[name].startswith(prefix) for name, prefix in listings[number].within.items())
    )
    if not fits:
        raise ValueError("the cursor does not fit these listings")
    return number, after
