"""The audit trail (``callproof.dsar.audit.AuditLog``) on the DsarTable.

Items, all in the org's audit partition ``pk=ORG#<org>#AUDIT``:
- entry:   sk=SEQ#<seq, 12 digits>   {seq, at, actor, action, request_id, detail, prev_hash, hash}
- head:    sk=HEAD                   {seq, hash} of the last entry
- marker:  sk=KEY#<sha256(event key)>  {seq}: the event was appended (retries append nothing)

An append reads the head, then writes the entry, the marker and the head in one transaction whose
conditions (entry and marker absent, head still at the seq read) serialise concurrent appends: the
loser re-reads the head and tries again on top of the winner. The event key is stored hashed, so the
keys of the partition name nothing but ids. Entries hold pseudonymous ids only (see the module
docstring of ``callproof.dsar.audit``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from callproof.dsar.audit import GENESIS, AuditEntry, ChainHead, Detail, seal
from callproof.errors import Conflict
from callproof.store.dynamo import backoff_sleep, from_item, to_item, transact

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

APPEND_ATTEMPTS = 30
HEAD_SK = "HEAD"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def audit_pk(org_id: str) -> str:
    return f"ORG#{org_id}#AUDIT"


def entry_sk(seq: int) -> str:
    return f"SEQ#{seq:012d}"


def marker_sk(event_key: str) -> str:
    return "KEY#" + hashlib.sha256(event_key.encode("utf-8")).hexdigest()


class DynamoAuditLog:
    def __init__(
        self, client: DynamoDBClient, table: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def append(
        self, org_id: str, event_key: str, actor: str, action: str, request_id: str, detail: Detail
    ) -> bool:
        pk = audit_pk(org_id)
        marker = {"pk": pk, "sk": marker_sk(event_key)}
        for attempt in range(APPEND_ATTEMPTS):
            head = self.head(org_id)
            seq = head.seq + 1 if head else 1
            prev_hash = head.hash if head else GENESIS
            entry = seal(
                AuditEntry(org_id, seq, self._clock(), actor, action, request_id, dict(detail), prev_hash)
            )
            head_condition: dict[str, Any] = (
                {"ConditionExpression": "attribute_not_exists(pk)"}
                if head is None
                else {
                    "ConditionExpression": "seq = :seq",
                    "ExpressionAttributeValues": to_item({":seq": head.seq}),
                }
            )
            try:
                transact(
                    self._client,
                    [
                        self._put_new({"pk": pk, "sk": entry_sk(seq), **_entry_item(entry)}),
                        self._put_new({**marker, "seq": seq}),
                        {
                            "Put": {
                                "TableName": self._table,
                                "Item": to_item({"pk": pk, "sk": HEAD_SK, "seq": seq, "hash": entry.hash}),
                                **head_condition,
                            }
                        },
                    ],
                    "the audit chain moved on meanwhile",
                )
                return True
            except Conflict:
                if self._exists(marker):
                    return False
            backoff_sleep(attempt)
        raise Conflict("the audit trail kept changing under concurrent appends; retry")

    def entries(self, org_id: str) -> Iterator[AuditEntry]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": audit_pk(org_id), ":prefix": "SEQ#"}),
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            for item in page.get("Items", []):
                yield _entry(org_id, from_item(item))
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def head(self, org_id: str) -> ChainHead | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": audit_pk(org_id), "sk": HEAD_SK}), ConsistentRead=True
        )
        item = from_item(response.get("Item") or {})
        return ChainHead(int(item["seq"]), str(item["hash"])) if item else None

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _exists(self, key: dict[str, str]) -> bool:
        response = self._client.get_item(
            TableName=self._table, Key=to_item(key), ConsistentRead=True, ProjectionExpression="pk"
        )
        return "Item" in response


def _entry_item(entry: AuditEntry) -> dict[str, Any]:
    return {
        "entity": "audit_entry",
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "request_id": entry.request_id,
        "detail": dict(entry.detail),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _entry(org_id: str, item: dict[str, Any]) -> AuditEntry:
    """The entry as stored, however damaged: ``verify`` must see a tampered item, not crash on it
    (an unreadable seq or time reads as 0 / the epoch, which no valid hash covers)."""
    seq = item.get("seq")
    try:
        at = datetime.fromisoformat(str(item.get("at")))
    except ValueError:
        at = EPOCH
    detail = item.get("detail")
    return AuditEntry(
        org_id=org_id,
        seq=seq if isinstance(seq, int) else 0,
        at=at,
        actor=str(item.get("actor", "")),
        action=str(item.get("action", "")),
        request_id=str(item.get("request_id", "")),
        detail=detail if isinstance(detail, dict) else {},
        prev_hash=str(item.get("prev_hash", "")),
        hash=str(item.get("hash", "")),
    )
