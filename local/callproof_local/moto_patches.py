"""Local-only fixes for moto behaviour that would make the local stack unusably slow.

moto 5.2.5's ``transact_write_items`` deep-copies every table a transaction touches, once per action,
so that it can roll back on failure: a 100-action transaction on a 10,000-item table copies a million
items, and a 10,000-row contacts import never finishes. The patch makes that table copy a no-op and
instead snapshots only the items the transaction addresses, restoring exactly those when the
transaction is cancelled. Transaction semantics (all or nothing, cancellation reasons) are unchanged;
a test on the pinned moto version keeps it honest.

moto also accepts any browser-based S3 POST upload; the second patch checks the POST policy's
conditions first (``callproof_local.s3_post_policy``), as S3 does, so the photo upload's type and size
limits are enforced by the local S3 too.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.s3.responses import S3Response

from callproof_local import s3_post_policy

_original_transact: Callable[..., None] | None = None
_original_s3_post: Callable[..., Any] | None = None


class _TableCopyIsIdentity:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _target_key(backend: DynamoDBBackend, action: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    try:
        operation, spec = next(iter(action.items()))
        table_name = spec["TableName"]
        if operation != "Put":
            return table_name, spec["Key"]
        table = backend.get_table(table_name)
        attributes = spec["Item"]
        key = {table.hash_key_attr: attributes[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attributes[table.range_key_attr]
        return table_name, key
    except Exception:
        return None


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    assert _original_transact is not None
    snapshot = []
    for action in transact_items:
        target = _target_key(self, action)
        # An unknown table or a bad key is left for moto to report with its own error.
        with contextlib.suppress(Exception):
            if target is not None:
                before = self.get_item(*target)
                snapshot.append((target, copy.deepcopy(before.to_json()["Attributes"]) if before else None))
    try:
        _original_transact(self, transact_items)
    except Exception:
        for (table_name, key), attributes in reversed(snapshot):
            table = self.get_table(table_name)
            if attributes is None:
                hash_key, range_key = self.get_keys_value(table, key)
                table.delete_item(hash_key, range_key)
            else:
                table.put_item(attributes)
        raise


def _s3_post_with_policy(self: Any, request: Any, bucket_name: str) -> Any:
    """S3's browser-upload policy conditions, which moto does not check (see ``s3_post_policy``)."""
    # moto adds "BucketName" to the parsed form itself; it is not a field the client sent
    fields = {key: values[0] for key, values in self.querystring.items() if values and key != "BucketName"}
    body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.body or "").encode()
    refused = s3_post_policy.refusal(fields, bucket_name, len(body))
    if refused is not None:
        status, code = refused
        xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>Invalid according to Policy</Message></Error>'
        return status, {"Content-Type": "application/xml"}, xml
    assert _original_s3_post is not None
    return _original_s3_post(self, request, bucket_name)


def install() -> None:
    """Idempotent: patch moto's DynamoDB backend for item-level transaction rollback."""
    global _original_transact
    if _original_transact is not None:
        return
    _original_transact = DynamoDBBackend.transact_write_items
    dynamodb_models.copy = _TableCopyIsIdentity  # type: ignore[attr-defined,assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    global _original_s3_post
    _original_s3_post = S3Response._bucket_response_post
    S3Response._bucket_response_post = _s3_post_with_policy  # type: ignore[method-assign]
