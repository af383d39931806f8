"""Call logs on moto: the API, the contact-stream re-match, the retention schedule, throttling."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from callproof.store import dynamo
from callproof.store.calls_dynamo import DynamoCallLogStore
from tests.integration.conftest import Invoke
from tests.support import api_event

DEVICE = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}


def entry(number: str = "+1 415 555 0100", **overrides: Any) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "phone_number": number,
        "direction": "inbound",
        "started_at": "2026-11-27T09:30:00+01:00",
        "duration_seconds": 60,
        "device_id": "pixel-1",
        **overrides,
    }


@pytest.fixture
def device(call: Invoke) -> str:
    status, body = call(
        "CallLogsFunction",
        api_event("PUT", "/v1/devices/pixel-1", resource="/v1/devices/{device_id}", body=DEVICE),
    )
    assert status == 200, body
    return "pixel-1"


def upload(call: Invoke, entries: list[dict[str, Any]], **kwargs: Any) -> tuple[int, Any]:
    return call("CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": entries}, **kwargs))


def test_upload_match_list_and_delete(call: Invoke, device: str) -> None:
    status, ada = call(
        "ContactsFunction",
        api_event(
            "POST", "/v1/contacts", body={"name": "Ada", "type": "customer", "phones": ["+14155550100"]}
        ),
    )
    assert status == 201
    batch = [entry(started_at=f"2026-11-2{i}T09:00:00Z") for i in range(1, 4)] + [
        entry("12"),
        entry("VERIFY"),
    ]
    status, body = upload(call, batch)
    assert status == 200, body
    assert [r["status"] for r in body["results"]] == ["stored", "stored", "stored", "rejected", "stored"]
    assert body["results"][0]["match"] == {"status": "unique", "contact_ids": [ada["id"]]}
    assert body["results"][4]["match"]["status"] == "unmatchable"
    assert body["counts"] == {"stored": 4, "rejected": 1}

    status, again = upload(call, batch)
    assert again["counts"] == {"duplicate": 4, "rejected": 1}

    contact_calls = f"/v1/contacts/{ada['id']}/calls"
    status, page = call(
        "CallLogsFunction",
        api_event("GET", contact_calls, resource="/v1/contacts/{contact_id}/calls", query={"limit": "2"}),
    )
    assert status == 200
    assert [c["started_at"][:10] for c in page["items"]] == ["2026-11-23", "2026-11-22"]  # newest first
    status, rest = call(
        "CallLogsFunction",
        api_event(
            "GET",
            contact_calls,
            resource="/v1/contacts/{contact_id}/calls",
            query={"limit": "2", "cursor": page["next_cursor"]},
        ),
    )
    assert [c["started_at"][:10] for c in rest["items"]] == ["2026-11-21"]

    status, mine = call("CallLogsFunction", api_event("GET", "/v1/call-logs", query={"user": "me"}))
    assert len(mine["items"]) == 4
    status, other_org = call("CallLogsFunction", api_event("GET", "/v1/call-logs", org="org-b"))
    assert other_org["items"] == []

    call_id = batch[0]["client_id"]
    path = f"/v1/call-logs/{call_id}"
    assert (
        call("CallLogsFunction", api_event("DELETE", path, resource="/v1/call-logs/{call_id}", org="org-b"))[
            0
        ]
        == 404
    )
    assert (
        call("CallLogsFunction", api_event("DELETE", path, resource="/v1/call-logs/{call_id}", user="rep-2"))[
            0
        ]
        == 403
    )
    assert call("CallLogsFunction", api_event("DELETE", path, resource="/v1/call-logs/{call_id}"))[0] == 204
    status, mine = call("CallLogsFunction", api_event("GET", "/v1/call-logs"))
    assert len(mine["items"]) == 3


def test_cursor_of_another_user_is_refused(call: Invoke, device: str) -> None:
    upload(call, [entry(), entry()])
    status, page = call("CallLogsFunction", api_event("GET", "/v1/call-logs", query={"limit": "1"}))
    assert page["next_cursor"]
    status, error = call(
        "CallLogsFunction",
        api_event("GET", "/v1/call-logs", query={"limit": "1", "cursor": page["next_cursor"]}, org="org-b"),
    )
    assert (status, error["error"]["field"]) == (422, "cursor")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"entries": []}, 422),
        ({"entries": [{}] * 1001}, 422),
        ({"entries": "all of them"}, 422),
        ({"entries": [{}], "extra": 1}, 422),
    ],
)
def test_bad_batches_are_refused_whole(call: Invoke, device: str, body: Any, status: int) -> None:
    answered, error = call("CallLogsFunction", api_event("POST", "/v1/call-logs", body=body))
    assert answered == status
    assert error["error"]["field"]


def test_batches_over_5_mb_are_413(call: Invoke) -> None:
    status, error = call(
        "CallLogsFunction",
        api_event("POST", "/v1/call-logs", body='{"entries": ["' + "x" * (5 * 1024 * 1024) + '"]}'),
    )
    assert (status, error["error"]["code"]) == (413, "payload_too_large")


def test_device_of_another_user_is_refused(call: Invoke, device: str) -> None:
    status, error = call(
        "CallLogsFunction",
        api_event(
            "PUT", "/v1/devices/pixel-1", resource="/v1/devices/{device_id}", body=DEVICE, user="rep-2"
        ),
    )
    assert (status, error["error"]["code"]) == (409, "conflict")
    status, body = upload(call, [entry()], user="rep-2")
    assert body["results"][0] == {**body["results"][0], "status": "rejected", "field": "device_id"}


def stream_event(aws_stack: dict[str, Any], contact_id: str, event_name: str = "INSERT") -> dict[str, Any]:
    table = aws_stack["ContactsTable"].ref
    key = {"pk": {"S": "ORG#org-a"}, "sk": {"S": f"CONTACT#{contact_id}"}}
    image = boto3.client("dynamodb").get_item(TableName=table, Key=key)["Item"]
    return {
        "Records": [
            {
                "eventID": "1",
                "eventName": event_name,
                "eventSource": "aws:dynamodb",
                "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/x",
                "dynamodb": {
                    "Keys": key,
                    "NewImage": image,
                    "SequenceNumber": "100",
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        ]
    }


def test_a_new_contact_rematches_earlier_calls(call: Invoke, aws_stack: dict[str, Any], device: str) -> None:
    status, body = upload(call, [entry("+1 303 555 0123")])
    assert body["results"][0]["match"]["status"] == "none"
    status, late = call(
        "ContactsFunction",
        api_event(
            "POST", "/v1/contacts", body={"name": "Late", "type": "customer", "phones": ["303-555-0123"]}
        ),
    )
    assert call_raw(call, "CallRematchFunction", stream_event(aws_stack, late["id"])) == {
        "batchItemFailures": []
    }
    _status, page = call(
        "CallLogsFunction",
        api_event("GET", f"/v1/contacts/{late['id']}/calls", resource="/v1/contacts/{contact_id}/calls"),
    )
    assert [c["match"]["contact_ids"] for c in page["items"]] == [[late["id"]]]


def test_retention_schedule_deletes_old_calls(call: Invoke, aws_stack: dict[str, Any], device: str) -> None:
    upload(call, [entry(started_at="2020-01-01T00:00:00Z"), entry(started_at="2026-11-01T00:00:00Z")])
    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    result = call_raw(call, "CallRetentionFunction", scheduled)
    assert result == {
        "deleted": 1,
        "orgs": 1,
        "stores": {"call_logs": 1, "device_locations": 0, "devices": 0},  # the device is fresh
    }
    _status, mine = call("CallLogsFunction", api_event("GET", "/v1/call-logs"))
    assert [c["started_at"][:4] for c in mine["items"]] == ["2026"]


def call_raw(call: Invoke, function: str, event: dict[str, Any]) -> Any:
    return call.raw(function, event)  # type: ignore[attr-defined]


class UnprocessingClient:
    """A moto client whose BatchWriteItem leaves the last item of every request unprocessed N times."""

    def __init__(self, times: int) -> None:
        self._client = boto3.client("dynamodb")
        self.times = times
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        ((table, requests),) = RequestItems.items()
        if self.times > 0:
            self.times -= 1
            done = (
                self._client.batch_write_item(RequestItems={table: requests[:-1]})
                if len(requests) > 1
                else {}
            )
            return {**done, "UnprocessedItems": {table: requests[-1:]}}
        return self._client.batch_write_item(RequestItems=RequestItems)  # type: ignore[no-any-return]


def test_throttled_writes_are_retried_and_nothing_is_lost(
    call: Invoke, aws_stack: dict[str, Any], device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamo, "backoff_sleep", lambda attempt: None)
    _status, body = upload(call, [entry() for _ in range(60)])
    stored = DynamoCallLogStore(boto3.client("dynamodb"), aws_stack["CallLogsTable"].ref)
    calls = list(stored.get_many("org-a", [r["call_id"] for r in body["results"]]).values())
    flaky = DynamoCallLogStore(UnprocessingClient(times=4), aws_stack["CallLogsTable"].ref)
    assert flaky.delete_many("org-a", [c.id for c in calls]) == set()
    assert stored.get_many("org-a", [c.id for c in calls]) == {}
    stubborn = UnprocessingClient(times=1000)
    assert DynamoCallLogStore(stubborn, aws_stack["CallLogsTable"].ref).put_many(calls[:3]) == {calls[2].id}


def test_calls_of_another_orgs_contact_are_not_found(call: Invoke, device: str) -> None:
    status, ada = call(
        "ContactsFunction", api_event("POST", "/v1/contacts", body={"name": "Ada", "type": "customer"})
    )
    path = f"/v1/contacts/{ada['id']}/calls"
    assert (
        call("CallLogsFunction", api_event("GET", path, resource="/v1/contacts/{contact_id}/calls"))[0] == 200
    )
    status, error = call(
        "CallLogsFunction", api_event("GET", path, resource="/v1/contacts/{contact_id}/calls", org="org-b")
    )
    assert (status, error["error"]["code"]) == (404, "not_found")
