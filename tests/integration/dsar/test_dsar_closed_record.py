"""A closed request's record on moto (issue 16 point 1, ADR 0022): a completed export and a completed
erasure, run through the template's functions and the state machines' steps, leave a DsarTable item
with its ids, counts and timeline and no email, phone, name or free text of the person; the staff API
shows it closed with the time the identifiers went; another org sees nothing."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from moto.ses.models import ses_backends

from callproof import aws
from callproof.dsar.closing import scrub_closed
from callproof.dsar.deadlines import Deadline, Jurisdiction
from callproof.dsar.model import DsarRequest, Identifiers, RequestType, Status
from callproof.store.dsar_dynamo import DynamoRequestStore
from callproof_local import cli
from callproof_local.template import Physical
from tests.dsar_fakes import run_workflow
from tests.integration.conftest import Invoke
from tests.support import api_event, form_event

NAME = "Ada Lovelace"
DETAILS = f"I am {NAME}, please send me everything"
VERIFICATION = f"passport of {NAME} checked on a call"


@pytest.fixture
def dsar(call: Invoke, aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("DSAR_PUBLIC_BASE_URL", "https://api.example/dev")
    aws.ses().verify_email_identity(EmailAddress="privacy@callproof.example")
    return call


def api(call: Invoke, org: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resource = re.sub(r"/requests/[^/]+", "/requests/{request_id}", path)
    event = api_event(
        method, path, resource=resource, body=body, org=org, user="u1", roles="rep,admin,compliance"
    )
    return call(function_for(path), event)


def function_for(path: str) -> str:
    return "DsarFunction" if path.startswith("/v1/dsar") else "ContactsFunction"


def stored(stack: dict[str, Physical], org: str, request_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName=stack["DsarTable"].ref, Key={"pk": {"S": f"ORG#{org}"}, "sk": {"S": f"REQ#{request_id}"}}
    )["Item"]
    return dict(item)


def run(call: Invoke, machine: str, org: str, request_id: str) -> None:
    raw = call.raw  # type: ignore[attr-defined]
    assert (
        run_workflow(lambda payload: raw("DsarTasksFunction", payload), machine, org, request_id, 1)
        == "Finish"
    )


def confirm(call: Invoke, email: str) -> None:
    mail = [
        m for m in ses_backends["123456789012"]["us-east-1"].sent_messages if email in str(m.destinations)
    ]
    token = re.findall(r"token=(\S+)", mail[-1].body)[0]
    raw = call.raw  # type: ignore[attr-defined]
    confirmed = raw("DsarPagesFunction", form_event("/privacy/confirm", {}, query={"token": token}))
    assert confirmed["statusCode"] == 200, confirmed["body"]


@pytest.mark.parametrize("kind", ["access", "erasure"])
def test_a_completed_request_keeps_ids_and_counts_and_no_identifier(
    dsar: Invoke, aws_stack: dict[str, Physical], kind: str
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    email, phone = f"ada-{uuid.uuid4().hex[:6]}@example.com", "+14155550142"
    status, contact = api(
        dsar,
        org,
        "POST",
        "/v1/contacts",
        {"name": NAME, "type": "customer", "emails": [email], "phones": [phone]},
    )
    assert status == 201, contact
    body = {
        "type": kind,
        "subject": {"email": email, "phone": phone},
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "verification": VERIFICATION,
        "details": DETAILS,
    }
    status, created = api(dsar, org, "POST", "/v1/dsar/requests", body)
    assert status == 201, created
    path = f"/v1/dsar/requests/{created['id']}"
    before = json.dumps(stored(aws_stack, org, created["id"]))
    assert email in before  # open: the identifiers are there while the request runs
    if kind == "erasure":
        confirm(dsar, email)
    run(dsar, "erasure" if kind == "erasure" else "export", org, created["id"])

    item = stored(aws_stack, org, created["id"])
    text = json.dumps(item)
    for value in (email, phone, phone.lstrip("+"), NAME, "passport"):
        assert value not in text, (value, item)
    assert not {"details", "verification", "recipient_email"} & item.keys()
    assert item["status"] == {"S": "completed"}
    assert item["closed_pk"] == {"S": f"ORG#{org}#CLOSED"}  # the retention purge still finds it
    assert "open_pk" not in item
    assert item["identifiers_removed_at"]["S"]
    assert item["subject"]["M"]["contact_ids"]["L"] == [{"S": contact["id"]}]  # the pseudonymous ids stay
    assert item["stores"]["M"]  # the counts per store stay

    status, shown = api(dsar, org, "GET", path)
    assert status == 200, shown
    assert shown["status"] == "completed"
    assert shown["subject"]["email"] is None
    assert shown["subject"]["phone"] is None
    assert shown["subject"]["removed_at"] is not None
    assert shown["details"] is None
    assert shown["verification"] is None
    assert shown["subject"]["proven"] == ["email", "phone"]
    assert shown["stores"]
    assert [event["event"] for event in shown["timeline"]][-1] == "completed"
    if kind == "access":
        assert shown["download_ready"] is True
        status, link = api(dsar, org, "GET", f"{path}/download")
        assert status == 200, link

    other = f"org-{uuid.uuid4().hex[:8]}"
    assert api(dsar, other, "GET", path)[0] == 404
    status, listed = api(dsar, other, "GET", "/v1/dsar/requests")
    assert status == 200
    assert listed["items"] == []


def test_scrub_closed_removes_the_identifiers_of_requests_closed_before(
    aws_stack: dict[str, Physical], capsys: pytest.CaptureFixture[str]
) -> None:
    """A request closed before this change (identifiers kept, not in ClosedByOrgTime) loses them to
    the one-off command, joins the closed index; open requests and other orgs are left as they are."""
    table = aws_stack["DsarTable"].ref
    store = DynamoRequestStore(aws.dynamodb(), table)
    org, other = f"org-{uuid.uuid4().hex[:8]}", f"org-{uuid.uuid4().hex[:8]}"

    def old(org_id: str, request_id: str, status: Status) -> None:
        request = DsarRequest(
            org_id=org_id,
            id=request_id,
            type=RequestType.ACCESS,
            status=status,
            deadline=Deadline(Jurisdiction.GDPR, date(2024, 1, 10)),
            identifiers=Identifiers(email="old@example.com", phone="+14155550177"),
            created_at=datetime(2024, 1, 10, tzinfo=UTC),
            created_by="staff-1",
            verification=VERIFICATION,
            details=DETAILS,
        )
        store.create(request, None, None)
        boto3.client("dynamodb").update_item(  # as written before: no closed index, no removal time
            TableName=table,
            Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": f"REQ#{request_id}"}},
            UpdateExpression="REMOVE closed_pk, closed_sk, identifiers_removed_at",
        )

    for n in range(3):
        old(org, f"done-{n}", Status.COMPLETED)
    old(org, "cancelled", Status.CANCELLED)
    old(org, "open", Status.VERIFIED)
    old(other, "theirs", Status.COMPLETED)

    assert scrub_closed(store, org, datetime.now(UTC), page=2) == 4  # three pages of the org's requests
    for request_id in ("done-0", "done-1", "done-2", "cancelled"):
        item = stored(aws_stack, org, request_id)
        text = json.dumps(item)
        assert "old@example.com" not in text
        assert "4155550177" not in text
        assert NAME not in text
        assert item["closed_pk"] == {"S": f"ORG#{org}#CLOSED"}
    assert "old@example.com" in json.dumps(stored(aws_stack, org, "open"))
    assert "old@example.com" in json.dumps(stored(aws_stack, other, "theirs"))
    assert cli.main(["dsar", "scrub-closed", "--org", org, "--table", table]) == 0  # idempotent
    assert capsys.readouterr().out.strip() == "identifiers removed from 0 closed request(s)"
    assert cli.main(["dsar", "scrub-closed", "--org", other, "--table", table]) == 0
    assert capsys.readouterr().out.strip() == "identifiers removed from 1 closed request(s)"
    assert "old@example.com" not in json.dumps(stored(aws_stack, other, "theirs"))
    registry = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": "RETENTION#dsar_requests"}, "sk": {"S": f"ORG#{other}"}}
    )
    assert "Item" in registry  # the retention purge visits the org from now on
