"""Restriction of processing on moto: the flag is stored, shown, survives edits, and a restricted
contact is treated as absent by call matching (Gmail sync and SMS sends have their own tests)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from callproof import aws
from callproof.errors import Conflict
from callproof.store.contacts_dynamo import DynamoContactStore
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event

DEVICE = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}
NUMBER = "+1 415 555 0100"


def new_contact(call: Invoke, name: str = "Ada") -> dict[str, Any]:
    body = {"name": name, "type": "customer", "phones": [NUMBER]}
    status, contact = call("ContactsFunction", api_event("POST", "/v1/contacts", body=body))
    assert status == 201, contact
    return contact  # type: ignore[no-any-return]


def upload_match(call: Invoke) -> dict[str, Any]:
    entry = {
        "client_id": str(uuid.uuid4()),
        "phone_number": NUMBER,
        "direction": "inbound",
        "started_at": "2026-11-27T09:30:00+01:00",
        "duration_seconds": 60,
        "device_id": "pixel-1",
    }
    status, body = call("CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": [entry]}))
    assert status == 200, body
    return body["results"][0]["match"]  # type: ignore[no-any-return]


def get(call: Invoke, contact_id: str) -> dict[str, Any]:
    path = f"/v1/contacts/{contact_id}"
    status, body = call("ContactsFunction", api_event("GET", path, resource="/v1/contacts/{contact_id}"))
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def test_flag_is_set_once_shown_and_survives_an_edit(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    ada = new_contact(call)
    store = DynamoContactStore(aws.dynamodb(), aws_stack["ContactsTable"].ref)
    assert get(call, ada["id"])["restricted"] is False

    assert store.set_restricted("org-a", [ada["id"], "f" * 32], True) == 1  # unknown ids change nothing
    assert store.set_restricted("org-a", [ada["id"]], True) == 0  # already restricted
    assert store.set_restricted("org-b", [ada["id"]], True) == 0  # another org's contact is absent

    path = f"/v1/contacts/{ada['id']}"
    patch = api_event("PATCH", path, resource="/v1/contacts/{contact_id}", body={"company": "Acme"})
    status, edited = call("ContactsFunction", patch)
    assert status == 200, edited
    assert (edited["restricted"], edited["company"]) == (True, "Acme")
    assert get(call, ada["id"])["restricted"] is True
    assert store.set_restricted("org-a", [ada["id"]], False) == 1
    assert get(call, ada["id"])["restricted"] is False


def test_an_edit_based_on_a_read_before_the_restriction_conflicts(
    aws_stack: dict[str, Physical], call: Invoke
) -> None:
    ada = new_contact(call)
    store = DynamoContactStore(aws.dynamodb(), aws_stack["ContactsTable"].ref)
    stale = store.get("org-a", ada["id"])
    assert stale is not None
    store.set_restricted("org-a", [ada["id"]], True)
    with pytest.raises(Conflict):  # else the stale write would drop the restriction
        store.replace(stale, stale)
    current = store.get("org-a", ada["id"])
    assert current is not None
    assert current.restricted


def test_calls_never_match_a_restricted_contact(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    status, body = call(
        "CallLogsFunction",
        api_event("PUT", "/v1/devices/pixel-1", resource="/v1/devices/{device_id}", body=DEVICE),
    )
    assert status == 200, body
    ada = new_contact(call)
    store = DynamoContactStore(aws.dynamodb(), aws_stack["ContactsTable"].ref)
    assert upload_match(call) == {"status": "unique", "contact_ids": [ada["id"]]}

    store.set_restricted("org-a", [ada["id"]], True)
    assert upload_match(call) == {"status": "none", "contact_ids": []}
    twin = new_contact(call, "Ada's husband")  # the number is shared: only the unrestricted one matches
    assert upload_match(call) == {"status": "unique", "contact_ids": [twin["id"]]}

    store.set_restricted("org-a", [ada["id"]], False)
    assert upload_match(call)["status"] == "ambiguous"


def modify_event(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The ContactsTable stream record of one contact change (NEW_AND_OLD_IMAGES)."""
    record = {"eventID": "1", "eventName": "MODIFY", "eventSource": "aws:dynamodb"}
    record["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/contacts/stream/x"
    images = {"Keys": {k: new[k] for k in ("pk", "sk")}, "OldImage": old, "NewImage": new}
    record["dynamodb"] = {**images, "SequenceNumber": "100", "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return {"Records": [record]}


def test_restricting_a_contact_unlinks_its_earlier_calls_through_the_stream(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    status, body = call(
        "CallLogsFunction",
        api_event("PUT", "/v1/devices/pixel-1", resource="/v1/devices/{device_id}", body=DEVICE),
    )
    assert status == 200, body
    ada = new_contact(call)
    assert upload_match(call)["status"] == "unique"
    table, client = aws_stack["ContactsTable"].ref, aws.dynamodb()
    key = {"pk": {"S": "ORG#org-a"}, "sk": {"S": f"CONTACT#{ada['id']}"}}
    before = client.get_item(TableName=table, Key=key)["Item"]
    DynamoContactStore(client, table).set_restricted("org-a", [ada["id"]], True)
    after = client.get_item(TableName=table, Key=key)["Item"]

    assert call.raw("CallRematchFunction", modify_event(before, after)) == {"batchItemFailures": []}  # type: ignore[attr-defined]

    path = f"/v1/contacts/{ada['id']}/calls"
    status, page = call(
        "CallLogsFunction", api_event("GET", path, resource="/v1/contacts/{contact_id}/calls")
    )
    assert (status, page["items"]) == (200, [])
    status, mine = call("CallLogsFunction", api_event("GET", "/v1/call-logs"))
    assert [c["match"]["status"] for c in mine["items"]] == ["none"]
