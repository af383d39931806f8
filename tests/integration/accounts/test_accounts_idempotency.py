"""POST /v1/org/members and POST /v1/me/consents with an Idempotency-Key, on moto through the
handler: a retried add answers the first member (not 409) and a retried consent records once."""

from __future__ import annotations

import json
from typing import Any

import boto3

from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event, keyed

ADMIN = {"org": "org-a", "user": "admin-1", "roles": "admin"}
BOB = {"email": "bob@example.com", "full_name": "Bob", "roles": ["rep"]}


def post(call: Invoke, path: str, body: dict[str, Any], key: str, **caller: Any) -> dict[str, Any]:
    event = keyed(api_event("POST", path, body=body, **caller), key)
    return call.raw("AccountsFunction", event)  # type: ignore[attr-defined,no-any-return]


def test_a_retried_member_add_answers_the_first_member(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    first = post(call, "/v1/org/members", BOB, "add-bob", **ADMIN)
    again = post(call, "/v1/org/members", BOB, "add-bob", **ADMIN)
    assert first["statusCode"] == again["statusCode"] == 201, first
    assert again["body"] == first["body"]
    users = boto3.client("cognito-idp").list_users(UserPoolId=aws_stack["UserPool"].ref)["Users"]
    assert len(users) == 1

    other = post(call, "/v1/org/members", {**BOB, "roles": ["admin"]}, "add-bob", **ADMIN)
    assert other["statusCode"] == 422
    assert json.loads(other["body"])["error"]["code"] == "idempotency_key_reused"
    without_key = call("AccountsFunction", api_event("POST", "/v1/org/members", body=BOB, **ADMIN))
    assert without_key[0] == 409  # as before: the address is taken


def test_a_retried_consent_is_recorded_once(call: Invoke) -> None:
    body = {"purpose": "marketing_email"}
    first = post(call, "/v1/me/consents", body, "consent-1")
    again = post(call, "/v1/me/consents", body, "consent-1")
    assert first["statusCode"] == again["statusCode"] == 201, first
    assert again["body"] == first["body"]
    status, state = call("AccountsFunction", api_event("GET", "/v1/me/consents"))
    assert status == 200
    assert [(r["purpose"], r["granted"]) for r in state["history"]] == [("marketing_email", True)]

    other = post(call, "/v1/me/consents", {"purpose": "geolocation"}, "consent-1")
    assert other["statusCode"] == 422
    assert len(call("AccountsFunction", api_event("GET", "/v1/me/consents"))[1]["history"]) == 1
