"""The local-only moto transaction patch keeps all-or-nothing semantics on the pinned moto."""

from __future__ import annotations

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from callproof_local import moto_patches


def test_moto_is_the_pinned_version() -> None:
    assert moto.__version__ == "5.2.5", "moto_patches touches moto internals: re-check it on upgrade"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_patches.install()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        yield "t"


def test_a_cancelled_transaction_changes_nothing(table: str) -> None:
    client = boto3.client("dynamodb")
    client.put_item(TableName=table, Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
    with pytest.raises(ClientError) as caught:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "kept"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = client.scan(TableName=table)["Items"]
    assert items == [{"pk": {"S": "kept"}, "n": {"N": "1"}}]


def test_a_successful_transaction_applies_every_action(table: str) -> None:
    client = boto3.client("dynamodb")
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "a"}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "b"}}}},
        ]
    )
    assert sorted(i["pk"]["S"] for i in client.scan(TableName=table)["Items"]) == ["a", "b"]
