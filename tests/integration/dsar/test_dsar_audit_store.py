"""DynamoAuditLog on moto: appends build one chain, a repeated event key appends nothing, concurrent
appends (threads) keep one unbroken chain, and ``callproof audit verify`` reports a tampered item."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import boto3
import pytest

from callproof.dsar.audit import GENESIS, ChainHead, verify
from callproof.store.audit_dynamo import DynamoAuditLog, audit_pk, entry_sk, marker_sk
from callproof.store.dynamo import to_item
from callproof_local import cli
from tests.integration.moto_env import REGION, bare_aws

TABLE = "dsar-audit-test"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A table shaped like the template's DsarTable (pk / sk strings) in moto."""
    with bare_aws(monkeypatch):
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def clock() -> Any:
    ticks = count()
    start = datetime(2026, 11, 28, 9, tzinfo=UTC)
    return lambda: start + timedelta(seconds=next(ticks))


def test_appends_build_one_verifiable_chain(dynamodb: Any) -> None:
    log = DynamoAuditLog(dynamodb, TABLE, clock())
    assert log.head("org-a") is None
    assert log.append("org-a", "req-1:created", "user:u1", "request.created", "req-1", {"type": "access"})
    assert log.append("org-a", "req-1:export", "step:export", "export.assembled", "req-1", {"rows": 12})
    assert log.append("org-b", "req-9:created", "user:u9", "request.created", "req-9", {})

    entries = list(log.entries("org-a"))
    assert [(e.seq, e.action) for e in entries] == [(1, "request.created"), (2, "export.assembled")]
    assert entries[0].prev_hash == GENESIS
    assert entries[1].prev_hash == entries[0].hash
    assert entries[1].detail == {"rows": 12}
    assert log.head("org-a") == ChainHead(2, entries[1].hash)
    assert verify(entries, log.head("org-a")) is None
    assert [e.seq for e in log.entries("org-b")] == [1]  # each org has its own chain


def test_a_repeated_event_key_appends_nothing(dynamodb: Any) -> None:
    log = DynamoAuditLog(dynamodb, TABLE, clock())
    assert log.append("org-a", "req-1:erased:contacts", "step:erase", "store.erased", "req-1", {"deleted": 3})
    assert not log.append(
        "org-a", "req-1:erased:contacts", "step:erase", "store.erased", "req-1", {"deleted": 3}
    )
    assert not log.append(
        "org-a", "req-1:erased:contacts", "step:erase", "store.erased", "req-1", {"deleted": 0}
    )
    assert log.append(
        "org-b", "req-1:erased:contacts", "step:erase", "store.erased", "req-1", {}
    )  # other org
    assert [e.seq for e in log.entries("org-a")] == [1]
    assert log.head("org-a") == ChainHead(1, next(log.entries("org-a")).hash)


def test_the_partition_is_the_orgs_and_keys_hold_no_event_text(dynamodb: Any) -> None:
    log = DynamoAuditLog(dynamodb, TABLE, clock())
    log.append("org-a", "req-1:mail:ada@example.com", "user:u1", "request.created", "req-1", {})
    items = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues=to_item({":pk": "ORG#org-a#AUDIT"}),
    )["Items"]
    keys = sorted(item["sk"]["S"] for item in items)
    assert keys == sorted(["HEAD", entry_sk(1), marker_sk("req-1:mail:ada@example.com")])
    assert all("ada@" not in str(item) for item in items)


class SerialisedCalls:
    """moto applies a transaction's conditions and writes without a lock, so two threads can both pass
    a condition; DynamoDB itself never lets that happen. This proxy makes each call atomic (as in
    DynamoDB) while threads still interleave between calls (reading the head, then transacting)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            with self._lock:
                return method(**kwargs)

        return call


def test_concurrent_appends_keep_one_chain(dynamodb: Any) -> None:
    log = DynamoAuditLog(SerialisedCalls(dynamodb), TABLE, clock())  # type: ignore[arg-type]
    keys = [f"req-{i % 30}:step-{i % 30}" for i in range(60)]  # every key twice: 30 distinct events
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda key: log.append("org-a", key, "step:x", "step.done", key.split(":")[0], {}), keys)
        )
    assert sum(results) == 30  # each event appended once, its retry refused
    entries = list(log.entries("org-a"))
    assert [e.seq for e in entries] == list(range(1, 31))
    assert sorted(e.request_id for e in entries) == sorted({key.split(":")[0] for key in keys})
    assert verify(entries, log.head("org-a")) is None


def tamper(client: Any, seq: int, attribute: str, value: dict[str, Any]) -> None:
    client.update_item(
        TableName=TABLE,
        Key=to_item({"pk": audit_pk("org-a"), "sk": entry_sk(seq)}),
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": value},
    )


def seed(client: Any, n: int) -> DynamoAuditLog:
    log = DynamoAuditLog(client, TABLE, clock())
    for i in range(1, n + 1):
        log.append("org-a", f"event-{i}", "user:u1", "step.done", f"req-{i}", {"rows": i})
    return log


def test_cli_verify_reports_an_intact_chain(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    seed(dynamodb, 5)
    assert cli.main(["audit", "verify", "--org", "org-a", "--table", TABLE]) == 0
    assert capsys.readouterr().out.strip() == "chain intact: 5 entries"
    assert cli.main(["audit", "verify", "--org", "org-nobody", "--table", TABLE]) == 0
    assert capsys.readouterr().out.strip() == "chain intact: 0 entries"


@pytest.mark.parametrize(
    ("seq", "attribute", "value", "reason"),
    [
        (3, "detail", {"M": {"rows": {"N": "0"}}}, "hash does not match"),
        (2, "actor", {"S": "user:someone-else"}, "hash does not match"),
        (4, "prev_hash", {"S": "f" * 64}, "prev_hash"),
        (3, "seq", {"N": "9"}, "seq 9 where 3 was expected"),
        (5, "at", {"S": "not a time"}, "hash does not match"),
    ],
)
def test_cli_verify_reports_a_tampered_item(
    dynamodb: Any,
    capsys: pytest.CaptureFixture[str],
    seq: int,
    attribute: str,
    value: dict[str, Any],
    reason: str,
) -> None:
    seed(dynamodb, 6)
    tamper(dynamodb, seq, attribute, value)
    assert cli.main(["audit", "verify", "--org", "org-a", "--table", TABLE]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"chain broken at seq {9 if attribute == 'seq' else seq} (entry {seq}): ")
    assert reason in out


def test_cli_verify_reports_a_deleted_entry_and_a_truncated_tail(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(dynamodb, 4)
    dynamodb.delete_item(TableName=TABLE, Key=to_item({"pk": audit_pk("org-a"), "sk": entry_sk(4)}))
    assert cli.main(["audit", "verify", "--org", "org-a", "--table", TABLE]) == 1
    assert "the head records seq 4; the chain ends at seq 3" in capsys.readouterr().out
    dynamodb.delete_item(TableName=TABLE, Key=to_item({"pk": audit_pk("org-a"), "sk": entry_sk(2)}))
    assert cli.main(["audit", "verify", "--org", "org-a", "--table", TABLE]) == 1
    assert "chain broken at seq 3 (entry 2): seq 3 where 2 was expected" in capsys.readouterr().out


def test_cli_without_a_running_stack_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("callproof_local.stack.state_file", lambda: tmp_path / "missing.json")
    assert cli.main(["audit", "verify", "--org", "org-a"]) == 2
    assert "no running local stack" in capsys.readouterr().err
