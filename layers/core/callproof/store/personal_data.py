"""What the stores of personal data (``callproof.dsar.ports.PersonalDataStore``) share: a base on one
DynamoDB table and the CSV cell of a value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.dsar.model import Cell, Subject


class TableData:
    """Base of a store of personal data on one DynamoDB table; it adds no extra export files."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        return iter(())


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
