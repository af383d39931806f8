"""The DSAR function on moto (tables, bucket, SES and Step Functions from the template): requests API,
public routes, the request store's queries, and bad input answered 4xx without changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from moto.ses.models import ses_backends

from callproof import aws
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event, form_event

BODY = {
    "type": "correction",
    "subject": {"email": "ada@example.com"},
    "jurisdiction": "gdpr",
    "received": "2026-11-20",
    "verification": "ID checked",
}


@pytest.fixture
def dsar(call: Invoke, aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("DSAR_PUBLIC_BASE_URL", "https://api.example/dev")
    aws.ses().verify_email_identity(EmailAddress="privacy@callproof.example")
    return call


def staff(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    org: str = "org-a",
    roles: str = "compliance",
) -> dict[str, Any]:
    resource = re.sub(r"/requests/[^/]+", "/requests/{request_id}", path)
    return api_event(
        method, path, resource=resource, body=body, query=query, org=org, user="staff-1", roles=roles
    )


def raw(call: Invoke, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """The handler's whole response (HTML pages, headers)."""
    return call.raw(function, event)  # type: ignore[attr-defined,no-any-return]


def create(call: Invoke, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    return call("DsarFunction", staff("POST", "/v1/dsar/requests", body=body or BODY))


def get(
    call: Invoke,
    path: str,
    query: dict[str, str] | None = None,
    org: str = "org-a",
    roles: str = "compliance",
) -> tuple[int, Any]:
    return call("DsarFunction", staff("GET", path, query=query, org=org, roles=roles))


def sent_mail() -> list[Any]:
    return list(ses_backends["123456789012"]["us-east-1"].sent_messages)


def test_list_is_sorted_by_due_date_filtered_and_paged(dsar: Invoke) -> None:
    ids = {}
    for received in ("2026-11-01", "2026-10-25", "2026-11-15"):
        status, body = create(dsar, {**BODY, "received": received})
        assert status == 201, body
        ids[received] = body["id"]
    status, page = get(dsar, "/v1/dsar/requests", {"limit": "2"})
    assert status == 200
    assert [item["id"] for item in page["items"]] == [ids["2026-10-25"], ids["2026-11-01"]]
    status, rest = get(dsar, "/v1/dsar/requests", {"limit": "2", "cursor": page["next_cursor"]})
    assert [item["id"] for item in rest["items"]] == [ids["2026-11-15"]]
    status, due = get(dsar, "/v1/dsar/requests", {"due_before": "2026-12-02"})
    assert [item["id"] for item in due["items"]] == [ids["2026-10-25"], ids["2026-11-01"]]
    status, waiting = get(dsar, "/v1/dsar/requests", {"status": "awaiting_correction"})
    assert len(waiting["items"]) == 3
    status, none = get(dsar, "/v1/dsar/requests", {"status": "completed"})
    assert none["items"] == []
    assert get(dsar, "/v1/dsar/requests", {"cursor": page["next_cursor"]}, org="org-b")[0] == 422


def test_staff_requests_start_workflows_and_cross_org_reads_are_404(
    dsar: Invoke, aws_stack: dict[str, Physical]
) -> None:
    status, body = create(dsar, {**BODY, "type": "access"})
    assert status == 201
    assert body["status"] == "in_progress"
    executions = aws.stepfunctions().list_executions(stateMachineArn=aws_stack["ExportStateMachine"].ref)[
        "executions"
    ]
    assert [e["name"] for e in executions] == [f"{body['id']}-1"]
    assert get(dsar, f"/v1/dsar/requests/{body['id']}", org="org-b")[0] == 404
    assert get(dsar, f"/v1/dsar/requests/{body['id']}", roles="rep,admin")[0] == 403


def test_erasure_by_staff_sends_one_confirmation_and_the_link_confirms_once(
    dsar: Invoke, aws_stack: dict[str, Physical]
) -> None:
    status, body = create(dsar, {**BODY, "type": "erasure"})
    assert status == 201
    assert body["status"] == "pending_confirmation"
    [mail] = sent_mail()
    token = re.findall(r"token=(\S+)", mail.body)[0]
    page = raw(
        dsar, "DsarPagesFunction", form_event("/privacy/confirm", {}, method="GET", query={"token": token})
    )
    assert page["statusCode"] == 200
    assert "Confirm my request" in page["body"]
    done = raw(dsar, "DsarPagesFunction", form_event("/privacy/confirm", {}, query={"token": token}))
    assert done["statusCode"] == 200, done["body"]
    again = raw(dsar, "DsarPagesFunction", form_event("/privacy/confirm", {}, query={"token": token}))
    assert again["statusCode"] == 410
    executions = aws.stepfunctions().list_executions(stateMachineArn=aws_stack["ErasureStateMachine"].ref)[
        "executions"
    ]
    assert len(executions) == 1


def test_public_requests_are_rate_limited_per_client(dsar: Invoke) -> None:
    event = form_event("/privacy/requests", {})
    event.update(body='{"org_id":"org-a","type":"access","email":"p@example.com","jurisdiction":"ccpa"}')
    event["headers"]["Content-Type"] = "application/json"
    event["requestContext"]["identity"]["sourceIp"] = "203.0.113.7"
    statuses = [raw(dsar, "DsarPagesFunction", event)["statusCode"] for _ in range(6)]
    assert statuses == [202] * 5 + [429]
    assert len(sent_mail()) == 5


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "type": "forget"},
        {**BODY, "jurisdiction": "pipeda"},
        {**BODY, "subject": {}},
        {**BODY, "received": "2099-01-01"},
        {**BODY, "received": "not a date"},
        {**BODY, "type": "portability"},
        {**BODY, "subject": {"phone": "not a phone"}},
        {**BODY, "verification": ""},
        {**BODY, "extra": 1},
    ],
)
def test_bad_requests_are_4xx_and_store_nothing(dsar: Invoke, body: dict[str, Any]) -> None:
    status, answer = create(dsar, body)
    assert 400 <= status < 500, answer
    assert "error" in answer
    assert get(dsar, "/v1/dsar/requests")[1]["items"] == []


def test_actions_on_the_wrong_status_are_409(dsar: Invoke) -> None:
    _, body = create(dsar)
    path = f"/v1/dsar/requests/{body['id']}"
    for action in ("start", "retry"):
        event = staff("POST", f"{path}/{action}")
        assert dsar("DsarFunction", event)[0] == 409
    cancel = staff("POST", f"{path}/cancel", body={"reason": "withdrawn"})
    assert dsar("DsarFunction", cancel)[0] == 200
    assert dsar("DsarFunction", cancel)[0] == 409
    download = staff("GET", f"{path}/download")
    assert dsar("DsarFunction", download)[0] == 404
    missing = staff("GET", "/v1/dsar/requests/nope")
    assert dsar("DsarFunction", missing)[0] == 404


def test_the_daily_check_flags_open_requests(dsar: Invoke) -> None:
    create(dsar, {**BODY, "received": "2026-01-01"})
    result = raw(dsar, "DsarDeadlinesFunction", {"source": "aws.events"})
    assert result["overdue"] == 1
    _, page = get(dsar, "/v1/dsar/requests")
    assert page["items"][0]["deadline_state"] == "overdue"


def test_the_console_is_served_with_a_strict_policy(dsar: Invoke) -> None:
    page = raw(dsar, "DsarPagesFunction", form_event("/console", {}, method="GET"))
    assert page["statusCode"] == 200
    policy = (
        page["multiValueHeaders"]["Content-Security-Policy"][0]
        if "multiValueHeaders" in page
        else page["headers"]["Content-Security-Policy"]
    )
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
