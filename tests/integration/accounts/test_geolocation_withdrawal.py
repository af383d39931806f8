"""Issue 16, point 3: withdrawing ``geolocation`` acts, on moto through the template's routes. The
withdrawal (DELETE, or a POST with ``granted: false``) erases the stored location of every device of
the user and of no one else; a location reported afterwards is dropped (the device is stored, 200,
``location: null``) until consent is given again, when it is stored anew."""

from __future__ import annotations

from typing import Any

import boto3

from callproof_local.template import Physical
from tests.integration.calls.test_call_logs_api import DEVICE
from tests.integration.conftest import Invoke
from tests.support import api_event

WHERE = {"latitude": 48.85, "longitude": 2.35}
LOCATED = {**DEVICE, "location_consent": True, "location": WHERE}
RESOURCE = "/v1/devices/{device_id}"


def consent(call: Invoke, user: str, granted: bool, *, by_delete: bool = False) -> None:
    if by_delete:
        event = api_event(
            "DELETE", "/v1/me/consents/geolocation", resource="/v1/me/consents/{purpose}", user=user
        )
    else:
        event = api_event(
            "POST", "/v1/me/consents", body={"purpose": "geolocation", "granted": granted}, user=user
        )
    status, body = call("AccountsFunction", event)
    assert status in (200, 201), body
    assert body["granted"] is granted


def report(call: Invoke, device: str, user: str = "rep-1") -> Any:
    status, body = call(
        "CallLogsFunction",
        api_event("PUT", f"/v1/devices/{device}", resource=RESOURCE, body=LOCATED, user=user),
    )
    assert status == 200, body
    return body["location"]


def stored_location(stack: dict[str, Physical], device: str) -> Any:
    item = boto3.client("dynamodb").get_item(
        TableName=stack["CallLogsTable"].ref,
        Key={"pk": {"S": f"ORG#org-a#DEVICE#{device}"}, "sk": {"S": "DEVICE"}},
    )["Item"]
    return item.get("location", {"NULL": True})


def test_withdrawing_geolocation_erases_every_device_location_and_stops_storing(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    assert report(call, "pixel-1") is None  # no consent on record: the location is dropped
    consent(call, "rep-1", True)
    consent(call, "rep-2", True)
    assert report(call, "pixel-1") == WHERE
    assert report(call, "tablet-1") == WHERE
    assert report(call, "iphone-2", user="rep-2") == WHERE

    consent(call, "rep-1", False, by_delete=True)
    assert stored_location(aws_stack, "pixel-1") == {"NULL": True}
    assert stored_location(aws_stack, "tablet-1") == {"NULL": True}
    assert "M" in stored_location(aws_stack, "iphone-2")  # another user's device keeps its own
    assert report(call, "pixel-1") is None  # reported after the withdrawal: dropped, not stored
    assert stored_location(aws_stack, "pixel-1") == {"NULL": True}

    consent(call, "rep-1", True)  # given again: stored anew
    assert report(call, "pixel-1") == WHERE
    consent(call, "rep-1", False)  # a POST with granted false withdraws as DELETE does
    assert stored_location(aws_stack, "pixel-1") == {"NULL": True}
    status, body = call(
        "AccountsFunction",
        api_event("DELETE", "/v1/me/consents/geolocation", resource="/v1/me/consents/{purpose}", org="org-b"),
    )
    assert status == 200, body  # another org's user with the same id: nothing of org-a's is touched
    assert "M" in stored_location(aws_stack, "iphone-2")
