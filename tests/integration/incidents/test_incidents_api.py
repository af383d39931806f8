"""The breach register on the DSAR function over moto: record, counts, roles and tenants, the 72-hour
clock in the daily check, the people's notification once per member, and bad input changing nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.ses.models import ses_backends

from callproof import aws
from callproof.accounts.model import Member
from callproof.dsar.audit import verify
from callproof.store.audit_dynamo import DynamoAuditLog
from callproof.store.members_dynamo import DynamoMemberStore
from callproof.tenancy import Role
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event, keyed

OPERATOR = "operator-org"


@pytest.fixture
def staff_api(call: Invoke, aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("OPERATOR_ORG_ID", OPERATOR)
    aws.ses().verify_email_identity(EmailAddress="privacy@callproof.example")
    members = DynamoMemberStore(boto3.client("dynamodb"), aws_stack["AccountsTable"].ref)
    contacts = aws_stack["ContactsTable"].ref
    for org, count in (("org-a", 2), ("org-b", 3)):
        for n in range(count):
            user = f"{org}-u{n}"
            members.put(
                None, Member(org, user, f"{user}@example.com", f"User {n}", roles=frozenset({Role.REP}))
            )
            item = {"pk": {"S": f"ORG#{org}"}, "sk": {"S": f"CONTACT#{user}-c"}, "entity": {"S": "contact"}}
            boto3.client("dynamodb").put_item(TableName=contacts, Item=item)
    return call


def event(
    method: str, path: str, body: Any = None, org: str = "org-a", roles: str = "compliance"
) -> dict[str, Any]:
    resource = re.sub(r"/incidents/[^/]+", "/incidents/{incident_id}", path)
    return api_event(method, path, resource=resource, body=body, org=org, user="staff-1", roles=roles)


def body(**changes: Any) -> dict[str, Any]:
    detected = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {
        "detected_at": detected,
        "description": "A support laptop holding an unencrypted export was stolen.",
        "stores": ["contacts", "accounts"],
        "data_kinds": ["contact_details", "account"],
    } | changes


def record(
    api: Invoke, payload: dict[str, Any], org: str = "org-a", roles: str = "compliance"
) -> tuple[int, Any]:
    return api("DsarFunction", event("POST", "/v1/incidents", payload, org=org, roles=roles))


def daily_check(api: Invoke) -> dict[str, int]:
    return api.raw("DsarDeadlinesFunction", {})  # type: ignore[attr-defined,no-any-return]


def sent() -> list[Any]:
    return list(ses_backends["123456789012"]["us-east-1"].sent_messages)


def test_an_incident_counts_members_and_subjects_and_notifies_each_member_once(
    staff_api: Invoke, aws_stack: dict[str, Physical]
) -> None:
    status, incident = record(staff_api, body())
    assert status == 201, incident
    assert incident["affected"] == {"members": 2, "subjects": 2}
    assert incident["status"] == "open"
    assert incident["authority_overdue"] is False
    assert "example.com" not in str(incident)  # counted, never listed
    path = f"/v1/incidents/{incident['id']}"
    decision = {"decision": "notify", "what_to_do": "Watch for phishing mail that uses your name."}
    for _ in range(2):  # a replay emails nobody twice
        status, notified = staff_api("DsarFunction", event("POST", path + "/people", decision))
        assert status == 200, notified
    assert notified["people"] == "notify"
    assert notified["people_notified"] == 2
    recipients = sorted(address for message in sent() for address in message.destinations["ToAddresses"])
    assert recipients == ["org-a-u0@example.com", "org-a-u1@example.com"]
    assert "Watch for phishing" in sent()[0].body
    assert "contact details" in sent()[0].body
    status, other = staff_api("DsarFunction", event("POST", path + "/people", {"decision": "not_required"}))
    assert status == 409
    audit = DynamoAuditLog(boto3.client("dynamodb"), aws_stack["DsarTable"].ref)
    entries = list(audit.entries("org-a"))
    assert [e.action for e in entries].count("incident_member_notified") == 2
    assert verify(entries, audit.head("org-a")) is None
    assert "example.com" not in str([e.detail for e in entries])


def test_the_daily_check_flags_an_incident_not_notified_within_72_hours(staff_api: Invoke) -> None:
    late = (datetime.now(UTC) - timedelta(hours=73)).isoformat()
    _, old = record(staff_api, body(detected_at=late))
    payload = body()
    first = staff_api("DsarFunction", keyed(event("POST", "/v1/incidents", payload), "incident-1"))
    again = staff_api("DsarFunction", keyed(event("POST", "/v1/incidents", payload), "incident-1"))
    assert first == again  # a retried record (same Idempotency-Key) records one incident
    fresh = first[1]
    assert old["authority_overdue"] is True
    assert old["status"] == "open"
    counts = daily_check(staff_api)
    assert counts["incidents_awaiting_authority"] == 2
    assert counts["incidents_overdue"] == 1
    _, shown = staff_api("DsarFunction", event("GET", f"/v1/incidents/{old['id']}"))
    assert shown["status"] == "overdue"
    notified = {"notified_at": datetime.now(UTC).isoformat(), "reference": "ICO-2026-0042"}
    status, done = staff_api("DsarFunction", event("POST", f"/v1/incidents/{old['id']}/authority", notified))
    assert status == 200
    assert done["status"] == "authority_notified"
    assert done["authority_overdue"] is True
    counts = daily_check(staff_api)
    assert counts["incidents_awaiting_authority"] == 1
    assert counts["incidents_overdue"] == 0
    _, page = staff_api("DsarFunction", event("GET", "/v1/incidents"))
    assert [item["id"] for item in page["items"]] == [fresh["id"], old["id"]]  # newest first


def test_only_the_operators_compliance_staff_name_other_orgs(staff_api: Invoke) -> None:
    status, refused = record(staff_api, body(orgs=["org-a", "org-b"]))
    assert status == 403
    assert refused["error"]["code"] == "forbidden"
    status, refused = record(staff_api, body(orgs=["org-b"]))
    assert status == 403
    status, incident = record(staff_api, body(orgs=["org-a", "org-b"]), org=OPERATOR)
    assert status == 201, incident
    assert incident["affected"] == {"members": 5, "subjects": 5}
    assert (
        staff_api("DsarFunction", event("GET", f"/v1/incidents/{incident['id']}"))[0] == 404
    )  # org-a's staff
    _, page = staff_api("DsarFunction", event("GET", "/v1/incidents"))
    assert page["items"] == []


def test_a_rep_an_admin_or_a_role_less_caller_is_refused(staff_api: Invoke) -> None:
    _, incident = record(staff_api, body())
    path = f"/v1/incidents/{incident['id']}"
    for roles in ("rep", "admin", ""):
        for method, route, payload in (
            ("POST", "/v1/incidents", body()),
            ("GET", "/v1/incidents", None),
            ("GET", path, None),
            ("POST", path + "/authority", {"notified_at": datetime.now(UTC).isoformat(), "reference": "X"}),
            ("POST", path + "/people", {"decision": "not_required"}),
        ):
            status, answer = staff_api("DsarFunction", event(method, route, payload, roles=roles))
            assert status == 403, (roles, method, route, answer)
    _, page = staff_api("DsarFunction", event("GET", "/v1/incidents"))
    assert len(page["items"]) == 1
    assert page["items"][0]["people"] == "undecided"


def test_another_orgs_admin_and_compliance_staff_see_nothing(staff_api: Invoke) -> None:
    _, incident = record(staff_api, body())
    path = f"/v1/incidents/{incident['id']}"
    for roles in ("admin", "compliance"):
        status, _ = staff_api("DsarFunction", event("GET", path, org="org-b", roles=roles))
        assert status in (403, 404)
    status, answer = staff_api(
        "DsarFunction", event("POST", path + "/people", {"decision": "not_required"}, org="org-b")
    )
    assert status == 404, answer
    assert sent() == []


def test_a_stranger_without_a_token_is_refused_before_anything_runs(staff_api: Invoke) -> None:
    anonymous = event("POST", "/v1/incidents", body())
    anonymous["requestContext"]["authorizer"] = {}
    status, answer = staff_api("DsarFunction", anonymous)
    assert status == 401, answer
    _, page = staff_api("DsarFunction", event("GET", "/v1/incidents"))
    assert page["items"] == []


def test_bad_input_is_a_4xx_and_records_nothing(staff_api: Invoke) -> None:
    for payload in (
        body(detected_at="2026-11-30T10:00:00"),  # no time zone
        body(detected_at=(datetime.now(UTC) + timedelta(days=1)).isoformat()),
        body(stores=["contacts", "contacts"]),
        body(stores=["nowhere"]),
        body(stores=[]),
        body(data_kinds=["gossip"]),
        body(description="short"),
        body(orgs=["bad org!"]),
        body(extra=True),
    ):
        status, answer = record(staff_api, payload)
        assert 400 <= status < 500, (payload, answer)
        assert answer["error"]["code"], answer
    _, page = staff_api("DsarFunction", event("GET", "/v1/incidents"))
    assert page["items"] == []


def test_bad_decisions_and_notifications_are_refused_and_change_nothing(staff_api: Invoke) -> None:
    _, incident = record(staff_api, body())
    path = f"/v1/incidents/{incident['id']}"
    for route, payload in (
        ("/people", {"decision": "notify"}),  # no advice
        ("/people", {"decision": "maybe"}),
        ("/authority", {"notified_at": "2020-01-01T00:00:00Z", "reference": "X"}),  # before detection
        ("/authority", {"notified_at": datetime.now(UTC).isoformat(), "reference": ""}),
    ):
        status, answer = staff_api("DsarFunction", event("POST", path + route, payload))
        assert 400 <= status < 500, (route, answer)
    assert staff_api("DsarFunction", event("GET", "/v1/incidents/not-an-id"))[0] in (404, 422)
    _, shown = staff_api("DsarFunction", event("GET", path))
    assert shown["status"] == "open"
    assert shown["people"] == "undecided"
    assert sent() == []
