"""A complaint over HTTP on the local stack (issue 15, point 4): filed by staff, its 30-day deadline
tracked, investigated, answered in writing (read back from the local SES outbox), audited."""

from __future__ import annotations

import json
import uuid

import pytest

from callproof.store.audit_dynamo import DynamoAuditLog
from callproof_local.provision import aws_session, local_name
from callproof_local.stack import STATE_FILE
from tests.e2e import test_dsar_e2e
from tests.e2e.test_dsar_e2e import Org
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
org = test_dsar_e2e.org  # the same fixture: an org of its own with a compliance officer


def test_a_complaint_is_answered_in_writing_and_audited_within_its_deadline(
    org: Org, local_stack: RunningStack
) -> None:
    stack = local_stack
    email = f"cat-{uuid.uuid4().hex[:6]}@example.com"
    body = {
        "type": "complaint",
        "subject": {"email": email},
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "verification": "complaint received by letter",
        "details": "You kept texting me after I replied STOP.",
    }
    assert org.api("POST", "/v1/dsar/requests", {**body, "details": None}).status_code == 422
    created = org.api("POST", "/v1/dsar/requests", body)
    assert created.status_code == 201, created.text
    complaint = created.json()
    assert (complaint["status"], complaint["due"]) == ("received", "2026-12-20")
    assert complaint["deadline_state"] in ("on_track", "due_soon", "overdue")  # tracked like any request
    path = f"/v1/dsar/requests/{complaint['id']}"
    listed = org.api("GET", "/v1/dsar/requests?status=received").json()["items"]
    assert [item["id"] for item in listed] == [complaint["id"]]

    answer = {"outcome": "Our opt-out sync had a bug; it is fixed.", "steps": "We purged the send queue."}
    assert org.api("POST", f"{path}/answer", {"outcome": "x"}).status_code == 422
    assert org.api("POST", f"{path}/answer", answer, headers=org.rep).status_code == 403
    assert org.api("POST", f"{path}/investigate").json()["status"] == "investigating"
    answered = org.api("POST", f"{path}/answer", answer)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    assert org.api("POST", f"{path}/answer", answer).status_code == 409  # answered once

    [mail] = org.mail_to(email)
    assert answer["outcome"] in mail["body"]
    assert answer["steps"] in mail["body"]
    assert "supervisory authority" in mail["body"]
    audited = {entry.action: entry.detail for entry in audit_log(stack).entries(org.id)}
    assert {"complaint.received", "complaint.investigating", "complaint.answered"} <= audited.keys()
    assert audited["complaint.answered"]["due"] == "2026-12-20"

    stranger = Org(stack)  # another org's compliance officer
    assert stranger.api("GET", path).status_code == 404
    assert stranger.api("POST", f"{path}/answer", answer).status_code == 404


def audit_log(stack: RunningStack) -> DynamoAuditLog:
    moto_url = json.loads((stack.home / STATE_FILE).read_text())["moto_url"]
    client = aws_session().client("dynamodb", endpoint_url=moto_url)
    return DynamoAuditLog(client, local_name("DsarTable"))
