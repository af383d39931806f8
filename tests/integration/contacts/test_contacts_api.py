"""The contacts function on moto, invoked the way API Gateway and the local stack invoke it."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest

from tests.integration.conftest import Invoke
from tests.support import api_event

ITEM = "/v1/contacts/{contact_id}"
ADA = {
    "name": "Ada Lovelace",
    "type": "customer",
    "emails": ["ADA@example.com"],
    "phones": ["(415) 555-0100"],
}


def create(call: Invoke, body: dict[str, Any] = ADA, org: str = "org-a") -> dict[str, Any]:
    status, created = call("ContactsFunction", api_event("POST", "/v1/contacts", body=body, org=org))
    assert status == 201, created
    return created  # type: ignore[no-any-return]


def table_items(aws_stack: dict[str, Any]) -> list[dict[str, Any]]:
    table = aws_stack["ContactsTable"].ref
    return boto3.client("dynamodb").scan(TableName=table)["Items"]  # test-only inspection


def test_create_get_update_delete_round_trip(call: Invoke) -> None:
    created = create(call)
    assert created["emails"] == ["ada@example.com"]
    assert created["phones"] == [{"e164": "+14155550100", "raw": "(415) 555-0100", "extension": None}]
    path = f"/v1/contacts/{created['id']}"

    status, fetched = call("ContactsFunction", api_event("GET", path, resource=ITEM))
    assert (status, fetched["id"]) == (200, created["id"])

    patch = {"company": "Analytical Engines", "phones": ["+44 20 7946 0958"]}
    status, updated = call("ContactsFunction", api_event("PATCH", path, resource=ITEM, body=patch))
    assert status == 200
    assert updated["company"] == "Analytical Engines"
    assert updated["version"] == 2

    lookup = {"phones": ["+14155550100", "020 7946 0958"], "emails": []}
    status, found = call("ContactsFunction", api_event("POST", "/v1/contacts/lookup", body=lookup))
    assert status == 422  # 020... is not a US number: the caller is told which entry
    assert found["error"]["field"] == "phones[1]"

    lookup = {"phones": ["+14155550100", "+442079460958"], "emails": ["ada@example.com"]}
    status, found = call("ContactsFunction", api_event("POST", "/v1/contacts/lookup", body=lookup))
    assert status == 200
    assert found["phones"]["+14155550100"] == []  # the old number no longer points at the contact
    assert [c["id"] for c in found["phones"]["+442079460958"]] == [created["id"]]
    assert [c["id"] for c in found["emails"]["ada@example.com"]] == [created["id"]]

    status, _ = call("ContactsFunction", api_event("DELETE", path, resource=ITEM))
    assert status == 204
    status, body = call("ContactsFunction", api_event("GET", path, resource=ITEM))
    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_shared_number_returns_every_contact(call: Invoke) -> None:
    first = create(call)
    second = create(call, {**ADA, "name": "Front desk", "emails": []})
    lookup = {"phones": ["415 555 0100"]}
    status, found = call("ContactsFunction", api_event("POST", "/v1/contacts/lookup", body=lookup))
    assert status == 200
    assert {c["id"] for c in found["phones"]["+14155550100"]} == {first["id"], second["id"]}


def test_another_org_gets_404_for_every_verb(call: Invoke) -> None:
    created = create(call)
    path = f"/v1/contacts/{created['id']}"
    for method, body in [("GET", None), ("PATCH", {"name": "Mallory"}), ("DELETE", None)]:
        status, answer = call(
            "ContactsFunction", api_event(method, path, resource=ITEM, body=body, org="org-b")
        )
        assert status == 404, method
        assert created["id"] not in str(answer)
    status, listed = call("ContactsFunction", api_event("GET", "/v1/contacts", org="org-b"))
    assert (status, listed["items"]) == (200, [])
    lookup = {"emails": ["ada@example.com"]}
    status, found = call(
        "ContactsFunction", api_event("POST", "/v1/contacts/lookup", body=lookup, org="org-b")
    )
    assert found["emails"]["ada@example.com"] == []


def test_list_paginates_with_an_opaque_cursor(call: Invoke) -> None:
    ids = {create(call, {**ADA, "emails": [f"p{i}@x.io"], "phones": []})["id"] for i in range(5)}
    seen: list[str] = []
    query: dict[str, str] = {"limit": "2"}
    while True:
        status, page = call("ContactsFunction", api_event("GET", "/v1/contacts", query=query))
        assert status == 200
        seen += [c["id"] for c in page["items"]]
        if not page["next_cursor"]:
            break
        query = {"limit": "2", "cursor": page["next_cursor"]}
    assert sorted(seen) == sorted(ids)


BAD_REQUESTS = [
    pytest.param("POST", "/v1/contacts", "{not json", 400, None, id="malformed-json"),
    pytest.param("POST", "/v1/contacts", {"name": 5, "type": "customer"}, 422, "name", id="wrong-type"),
    pytest.param("POST", "/v1/contacts", {**ADA, "org_id": "org-b"}, 422, "org_id", id="unknown-field"),
    pytest.param("POST", "/v1/contacts", {**ADA, "type": "lead"}, 422, "type", id="bad-enum"),
    pytest.param(
        "POST", "/v1/contacts", {**ADA, "emails": ["not-an-email"]}, 422, "emails.0", id="bad-email"
    ),
    pytest.param("POST", "/v1/contacts", {**ADA, "phones": ["12"]}, 422, "phones[0]", id="bad-phone"),
    pytest.param("POST", "/v1/contacts", {**ADA, "phones": ["1"] * 11}, 422, "phones", id="too-many-phones"),
    pytest.param("POST", "/v1/contacts", {"type": "customer"}, 422, "name", id="missing-name"),
    pytest.param("POST", "/v1/contacts", "x" * (1024 * 1024 + 1), 413, "body", id="oversize-json"),
    pytest.param("POST", "/v1/contacts", [ADA], 422, "body", id="array-body"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), BAD_REQUESTS)
def test_bad_input_gets_a_4xx_json_error_naming_the_field_and_writes_nothing(
    call: Invoke, aws_stack: dict[str, Any], method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    answered, error = call("ContactsFunction", api_event(method, path, body=body))
    assert answered == status
    assert error["error"]["code"]
    if field:
        assert error["error"]["field"] == field
    assert table_items(aws_stack) == []


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_bad_limit_is_refused(call: Invoke, limit: str) -> None:
    status, error = call("ContactsFunction", api_event("GET", "/v1/contacts", query={"limit": limit}))
    assert status == 422
    assert error["error"]["field"] == "limit"


def test_forged_cursor_is_refused(call: Invoke) -> None:
    forged = base64.urlsafe_b64encode(b'{"sk": "SETTINGS"}').decode()
    status, error = call("ContactsFunction", api_event("GET", "/v1/contacts", query={"cursor": forged}))
    assert (status, error["error"]["field"]) == (422, "cursor")


def test_caller_without_a_sales_role_is_forbidden(call: Invoke) -> None:
    status, error = call("ContactsFunction", api_event("GET", "/v1/contacts", roles="compliance"))
    assert (status, error["error"]["code"]) == (403, "forbidden")


def test_missing_claims_are_unauthenticated(call: Invoke) -> None:
    event = api_event("GET", "/v1/contacts")
    event["requestContext"]["authorizer"] = None
    status, error = call("ContactsFunction", event)
    assert (status, error["error"]["code"]) == (401, "unauthenticated")


def test_org_region_setting_decides_national_numbers(call: Invoke, aws_stack: dict[str, Any]) -> None:
    boto3.client("dynamodb").put_item(
        TableName=aws_stack["ContactsTable"].ref,
        Item={"pk": {"S": "ORG#org-uk"}, "sk": {"S": "SETTINGS"}, "default_phone_region": {"S": "GB"}},
    )
    created = create(call, {**ADA, "phones": ["020 7946 0958"]}, org="org-uk")
    assert created["phones"][0]["e164"] == "+442079460958"


def test_a_rep_cannot_take_over_a_colleagues_contact_to_delete_it(call: Invoke) -> None:
    """Issue 13, point 1: PATCH owner_user_id to oneself, then DELETE. The PATCH is refused (403
    naming the field, nothing stored), so the DELETE stays 403; the owner may hand the contact over."""
    created = create(call)  # owned by rep-1
    path = f"/v1/contacts/{created['id']}"
    takeover = {"owner_user_id": "rep-2"}
    status, body = call(
        "ContactsFunction", api_event("PATCH", path, resource=ITEM, body=takeover, user="rep-2")
    )
    assert (status, body["error"]["code"], body["error"]["field"]) == (403, "forbidden", "owner_user_id")
    status, body = call("ContactsFunction", api_event("DELETE", path, resource=ITEM, user="rep-2"))
    assert status == 403
    status, fetched = call("ContactsFunction", api_event("GET", path, resource=ITEM, user="rep-2"))
    assert (status, fetched["owner_user_id"], fetched["version"]) == (200, "rep-1", 1)

    status, body = call(
        "ContactsFunction", api_event("PATCH", path, resource=ITEM, body={"company": "Acme"}, user="rep-2")
    )
    assert (status, body["company"]) == (200, "Acme")  # the shared fields stay the team's
    status, body = call("ContactsFunction", api_event("PATCH", path, resource=ITEM, body=takeover))
    assert (status, body["owner_user_id"]) == (200, "rep-2")  # the owner hands it over
    status, _ = call("ContactsFunction", api_event("DELETE", path, resource=ITEM, user="rep-2"))
    assert status == 204
