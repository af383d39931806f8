"""POST /v1/contacts with an Idempotency-Key, on moto through the handler (issue 13, point 11)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from callproof.contacts.service import ContactService
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.integration.contacts.test_contacts_api import ADA
from tests.support import api_event, keyed

REPLAYED = "Idempotent-Replayed"


def contacts(aws_stack: dict[str, Physical], org: str = "org-a") -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=aws_stack["ContactsTable"].ref)["Items"]  # test-only
    return [i for i in items if i["pk"]["S"] == f"ORG#{org}" and i["sk"]["S"].startswith("CONTACT#")]


def records(aws_stack: dict[str, Physical]) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=aws_stack["IdempotencyTable"].ref)["Items"]  # test-only


def post(call: Invoke, key: str | None, body: dict[str, Any] = ADA, **caller: str) -> dict[str, Any]:
    event = api_event("POST", "/v1/contacts", body=body, **caller)
    return call.raw("ContactsFunction", keyed(event, key) if key else event)  # type: ignore[attr-defined,no-any-return]


def test_a_retried_create_answers_the_first_response_and_stores_one_contact(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    first = post(call, "create-ada-1")
    again = post(call, "create-ada-1")
    assert first["statusCode"] == again["statusCode"] == 201
    assert again["body"] == first["body"]
    assert again["multiValueHeaders"][REPLAYED] == ["true"]
    assert REPLAYED not in (first.get("multiValueHeaders") or {})
    assert len(contacts(aws_stack)) == 1
    [record] = records(aws_stack)
    assert record["id"]["S"].startswith("ORG#org-a#IDEM#")
    assert "create-ada-1" not in str(record)  # the key itself is kept only hashed
    assert abs(int(record["expiration"]["N"]) - (time.time() + 24 * 3600)) < 60  # kept a day


def test_the_same_key_with_another_body_is_422_and_creates_nothing(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    post(call, "k-1")
    response = post(call, "k-1", {**ADA, "name": "Ada King"})
    assert response["statusCode"] == 422
    error = json_body(response)["error"]
    assert (error["code"], error["field"]) == ("idempotency_key_reused", "Idempotency-Key")
    assert len(contacts(aws_stack)) == 1


def test_without_a_key_every_post_creates(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    post(call, None)
    post(call, None)
    assert len(contacts(aws_stack)) == 2
    assert records(aws_stack) == []


def test_keys_belong_to_their_user_and_org(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    mine = post(call, "same-key", user="rep-1")
    colleague = post(call, "same-key", user="rep-2")
    other_org = post(call, "same-key", org="org-b")
    assert mine["statusCode"] == colleague["statusCode"] == other_org["statusCode"] == 201
    assert len({json_body(r)["id"] for r in (mine, colleague, other_org)}) == 3
    assert len(contacts(aws_stack)) == 2
    assert len(contacts(aws_stack, "org-b")) == 1


def test_a_refused_create_is_not_kept_and_the_key_can_be_sent_again(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    refused = post(call, "fix-and-retry", {**ADA, "phones": ["not a phone"]})
    assert refused["statusCode"] == 422
    assert records(aws_stack) == []
    fixed = post(call, "fix-and-retry")
    assert fixed["statusCode"] == 201
    assert len(contacts(aws_stack)) == 1


def json_body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


class LambdaKilled(BaseException):
    """What a timed-out or killed Lambda amounts to: the handler never returns, nothing cleans up."""


def set_record(aws_stack: dict[str, Physical], attribute: str, value: int) -> None:
    [record] = records(aws_stack)
    boto3.client("dynamodb").update_item(
        TableName=aws_stack["IdempotencyTable"].ref,
        Key={"id": record["id"]},
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": {"N": str(value)}},
    )


def test_a_key_in_flight_is_409_until_the_first_lambda_s_deadline(
    call: Invoke, aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*_: Any) -> None:
        raise LambdaKilled

    with monkeypatch.context() as patch:
        patch.setattr(ContactService, "create", killed)
        with pytest.raises(LambdaKilled):
            post(call, "in-flight")
    [record] = records(aws_stack)
    assert record["status"]["S"] == "INPROGRESS"

    busy = post(call, "in-flight")
    assert busy["statusCode"] == 409
    assert json_body(busy)["error"]["code"] == "idempotency_key_in_use"
    assert contacts(aws_stack) == []

    set_record(aws_stack, "in_progress_expiration", int(time.time() * 1000) - 1)  # its deadline passed
    retried = post(call, "in-flight")
    assert retried["statusCode"] == 201
    assert len(contacts(aws_stack)) == 1


def test_an_expired_key_runs_again(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    first = post(call, "day-old")
    set_record(aws_stack, "expiration", int(time.time()) - 1)  # 24 h later, before TTL deleted it
    again = post(call, "day-old")
    assert again["statusCode"] == 201
    assert json_body(again)["id"] != json_body(first)["id"]
    assert REPLAYED not in (again.get("multiValueHeaders") or {})
    assert len(contacts(aws_stack)) == 2
