"""Issue 13, point 3: a number DynamoDB cannot store is refused where it enters, naming its field. A
call-log batch stores its good entries and rejects the entry that holds one (before, the whole batch
was a 502 and nothing was stored, so a retrying phone looped forever); a device's settings or
location is a 422. Numbers at DynamoDB's very limits are stored and read back as sent."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.calls.test_call_logs_api import DEVICE, entry
from tests.integration.conftest import Invoke
from tests.support import api_event


@pytest.fixture
def device(call: Invoke) -> str:
    event = api_event("PUT", "/v1/devices/pixel-1", resource="/v1/devices/{device_id}", body=DEVICE)
    status, body = call("CallLogsFunction", event)
    assert status == 200, body
    return "pixel-1"


def upload_text(call: Invoke, text: str) -> tuple[int, Any]:
    """The batch as JSON text, so that numbers Python would not write (1e400) can be sent."""
    return call("CallLogsFunction", api_event("POST", "/v1/call-logs", body=text))


def listed_ids(call: Invoke) -> list[str]:
    status, page = call("CallLogsFunction", api_event("GET", "/v1/call-logs"))
    assert status == 200, page
    return [item["id"] for item in page["items"]]


UNSTORABLE = {
    "tiny": "1e-200",
    "huge": "1e200",
    "just-below-the-smallest": "9.9e-131",
    "just-above-the-largest": "1e126",
    "overflows-to-infinity": "1e400",
    "39-digit-integer": "1" + "0" * 38,
    "negative-39-digit-integer": "-" + "9" * 39,
}


@pytest.mark.parametrize("number", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_a_batch_stores_its_good_entries_and_rejects_the_one_with_an_unstorable_number(
    call: Invoke, device: str, number: str
) -> None:
    good, bad = entry(), entry(metadata={"app": "dialer"})
    text = json.dumps({"entries": [good, bad]}).replace('"dialer"}', f'"dialer", "x": {number}}}')
    status, body = upload_text(call, text)
    assert status == 200, body
    stored, rejected = body["results"]
    assert stored["status"] == "stored"
    assert (rejected["status"], rejected["field"]) == ("rejected", "metadata.x")
    assert "must be" in rejected["reason"] or "digits" in rejected["reason"]
    assert listed_ids(call) == [good["client_id"]]


def test_numbers_at_dynamodbs_limits_are_stored_and_read_back(call: Invoke, device: str) -> None:
    limits = {
        "smallest": 1e-130,
        "negative_smallest": -1e-130,
        "largest_float": 9.999999999999998e125,
        "longest_int": int("9" * 38),
        "negative_longest_int": -int("9" * 38),
        "zero": 0.0,
        "pi": 3.141592653589793,
    }
    batch = [entry(metadata=limits)]
    status, body = call("CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": batch}))
    assert [r["status"] for r in body["results"]] == ["stored"], body
    status, page = call("CallLogsFunction", api_event("GET", "/v1/call-logs"))
    as_decimals = {key: Decimal(str(value)) for key, value in page["items"][0]["metadata"].items()}
    assert as_decimals == {key: Decimal(str(value)) for key, value in limits.items()}  # integral: as int


def test_a_device_with_an_unstorable_setting_or_location_is_422_and_not_stored(
    call: Invoke, device: str
) -> None:
    resource = "/v1/devices/{device_id}"
    for body, field in (
        ({**DEVICE, "settings": {"f": 1e200}}, "settings.f"),
        ({**DEVICE, "settings": {"f": int("1" * 40)}}, "settings.f"),
        (
            {**DEVICE, "location_consent": True, "location": {"latitude": 1e-200, "longitude": 0}},
            "location.latitude",
        ),
        (
            {
                **DEVICE,
                "location_consent": True,
                "location": {"latitude": 1, "longitude": 2, "accuracy_m": 5e-324},
            },
            "location.accuracy_m",
        ),
    ):
        status, refused = call(
            "CallLogsFunction", api_event("PUT", "/v1/devices/pixel-2", resource=resource, body=body)
        )
        assert (status, refused["error"]["field"]) == (422, field), refused
    batch = {"entries": [entry(device_id="pixel-2")]}
    status, upload = call("CallLogsFunction", api_event("POST", "/v1/call-logs", body=batch))
    assert (status, upload["results"][0]["field"]) == (200, "device_id")  # pixel-2 was never registered


def test_a_device_with_storable_settings_keeps_them(call: Invoke, device: str) -> None:
    settings = {"volume": 0.75, "tiny": 1e-130, "big": int("9" * 38), "label": "two\nlines"}
    event = api_event(
        "PUT",
        "/v1/devices/pixel-3",
        resource="/v1/devices/{device_id}",
        body={**DEVICE, "settings": settings},
    )
    status, body = call("CallLogsFunction", event)
    assert (status, body["settings"]) == (200, settings)


@pytest.mark.parametrize(
    ("field", "value"), [("duration_seconds", True), ("duration_seconds", "30"), ("started_at", 0)]
)
def test_an_entry_with_a_value_of_another_json_type_is_rejected_naming_the_field(
    call: Invoke, device: str, field: str, value: object
) -> None:
    good, bad = entry(), {**entry(), field: value}
    status, body = call("CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": [good, bad]}))
    assert status == 200, body
    stored, rejected = body["results"]
    assert stored["status"] == "stored"
    assert (rejected["status"], rejected["field"]) == ("rejected", field), rejected
    assert listed_ids(call) == [good["client_id"]]
