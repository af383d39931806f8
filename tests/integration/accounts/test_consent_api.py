"""Consent and policy versions on moto: the 428 every authenticated function answers after a
significant version, consent per purpose, withdrawal, the public unsubscribe page."""

from __future__ import annotations

import json
from typing import Any

import boto3

from callproof import wiring
from callproof.accounts.consent import ConsentService
from callproof.store.consents_dynamo import DynamoConsentStore
from callproof.store.policies_dynamo import DynamoPolicyStore
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event


def consent_service(stack: dict[str, Physical]) -> ConsentService:
    client = boto3.client("dynamodb")
    table = stack["AccountsTable"].ref
    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=stack["AccountsLinkSecret"].ref)[
            "SecretString"
        ]
    )
    return ConsentService(
        DynamoConsentStore(client, table),
        DynamoPolicyStore(client, table),
        lambda: secret["key"].encode(),
        "https://api.example.com/dev",
    )


def public_event(method: str, token: str, body: str | None = None) -> dict[str, Any]:
    event = api_event(method, "/email/unsubscribe", body=body, query={"token": token})
    event["requestContext"].pop("authorizer")
    event["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
    return event


def test_significant_version_answers_428_everywhere_until_consent(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    assert call("ContactsFunction", api_event("GET", "/v1/contacts"))[0] == 200
    service = consent_service(aws_stack)
    service.publish("terms", "2026-12", significant=True, url="https://example.com/privacy/2026-12")
    wiring.reset()  # the gate caches the current policy for 60 s per environment: start afresh

    for function, event in (
        ("ContactsFunction", api_event("GET", "/v1/contacts")),
        ("CallLogsFunction", api_event("GET", "/v1/call-logs")),
        ("SmsFunction", api_event("GET", "/v1/org/sms")),
        ("AccountsFunction", api_event("GET", "/v1/org/settings")),
    ):
        status, body = call(function, event)
        assert status == 428, (function, body)
        assert body["error"]["code"] == "policy_consent_required"
        assert body["error"]["details"][0]["version"] == "2026-12"

    # what the user needs to consent stays reachable
    status, policy = call(
        "AccountsFunction", api_event("GET", "/v1/policies/terms", resource="/v1/policies/{document}")
    )
    assert status == 200
    assert (policy["version"], policy["significant"]) == ("2026-12", True)
    assert call("AccountsFunction", api_event("GET", "/v1/me"))[0] == 200
    status, record = call(
        "AccountsFunction",
        api_event("POST", "/v1/me/consents", body={"purpose": "terms", "version": "2026-12"}),
    )
    assert status == 201, record
    assert record["version"] == "2026-12"
    assert call("ContactsFunction", api_event("GET", "/v1/contacts"))[0] == 200
    # another user of the same org still has to consent
    assert call("ContactsFunction", api_event("GET", "/v1/contacts", user="rep-2"))[0] == 428

    # a minor version asks nothing more
    service.publish("terms", "2026-12a", significant=False)
    wiring.reset()
    assert call("CallLogsFunction", api_event("GET", "/v1/call-logs"))[0] == 200


def test_consent_per_purpose_and_withdrawal_in_one_call(call: Invoke) -> None:
    status, body = call(
        "AccountsFunction", api_event("POST", "/v1/me/consents", body={"purpose": "marketing_email"})
    )
    assert status == 201, body
    status, body = call(
        "AccountsFunction",
        api_event("DELETE", "/v1/me/consents/marketing_email", resource="/v1/me/consents/{purpose}"),
    )
    assert status == 200
    assert body["granted"] is False
    status, state = call("AccountsFunction", api_event("GET", "/v1/me/consents"))
    assert status == 200
    assert state["current"]["marketing_email"]["granted"] is False
    assert [(r["purpose"], r["granted"]) for r in state["history"]] == [
        ("marketing_email", True),
        ("marketing_email", False),
    ]
    for bad, field in (
        ({"purpose": "astrology"}, "purpose"),
        ({"purpose": "geolocation", "granted": "maybe"}, "granted"),
        ({"purpose": "geolocation", "extra": 1}, "extra"),
    ):
        status, body = call("AccountsFunction", api_event("POST", "/v1/me/consents", body=bad))
        assert (status, body["error"]["field"]) == (422, field)
    status, body = call(
        "AccountsFunction", api_event("DELETE", "/v1/me/consents/nope", resource="/v1/me/consents/{purpose}")
    )
    assert status == 422
    # terms before any policy is published: nothing to accept
    status, body = call("AccountsFunction", api_event("POST", "/v1/me/consents", body={"purpose": "terms"}))
    assert status == 404
    # another user's ledger is not this one's
    assert call("AccountsFunction", api_event("GET", "/v1/me/consents", user="rep-2"))[1]["history"] == []
    assert call("AccountsFunction", api_event("GET", "/v1/me/consents", org="org-b"))[1]["history"] == []


def test_unsubscribe_link_works_without_login(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    url = consent_service(aws_stack).unsubscribe_link("org-a", "rep-1")
    token = url.split("token=", 1)[1]
    response = call.raw("AccountPagesFunction", public_event("GET", token))  # type: ignore[attr-defined]
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"][0].startswith("text/html")
    assert "<form" in response["body"]
    assert (
        call("AccountsFunction", api_event("GET", "/v1/me/consents"))[1]["history"] == []
    )  # GET changes nothing

    response = call.raw("AccountPagesFunction", public_event("POST", token, "List-Unsubscribe=One-Click"))  # type: ignore[attr-defined]
    assert response["statusCode"] == 200
    status, state = call("AccountsFunction", api_event("GET", "/v1/me/consents"))
    record = state["current"]["marketing_email"]
    assert (record["granted"], record["source"]) == (False, "unsubscribe_link")

    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = call.raw("AccountPagesFunction", public_event("POST", forged))  # type: ignore[attr-defined]
    assert response["statusCode"] == 400
    assert len(call("AccountsFunction", api_event("GET", "/v1/me/consents"))[1]["history"]) == 1


def test_cookie_policy_is_a_public_page_that_sets_no_cookie(call: Invoke) -> None:
    event = api_event("GET", "/legal/cookies")
    event["requestContext"].pop("authorizer")
    response = call.raw("AccountPagesFunction", event)  # type: ignore[attr-defined]
    assert response["statusCode"] == 200
    headers = response["multiValueHeaders"]
    assert headers["Content-Type"][0].startswith("text/html")
    assert headers["Content-Security-Policy"][0].startswith("default-src 'none'")
    assert "Set-Cookie" not in headers
    assert not response.get("cookies")
    for name in ("privacy_csrf", "sms_csrf"):
        assert f"<code>{name}</code>" in response["body"]
