"""Accounts on moto: profile, members and roles mirrored to Cognito groups, org settings read by the
contacts and SMS functions, bad input and another org's member."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from callproof.dsar.audit import verify
from callproof.store.audit_dynamo import DynamoAuditLog
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event

ADMIN = {"org": "org-a", "user": "admin-1", "roles": "admin"}


def accounts(call: Invoke, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    resource = kwargs.pop("resource", None)
    return call("AccountsFunction", api_event(method, path, resource=resource, **kwargs))


def groups_of(stack: dict[str, Physical], username: str) -> set[str]:
    cognito = boto3.client("cognito-idp")
    pool = stack["UserPool"].ref
    return {
        g["GroupName"]
        for g in cognito.admin_list_groups_for_user(UserPoolId=pool, Username=username)["Groups"]
    }


def test_me_profile_created_on_first_patch_and_email_is_read_only(call: Invoke) -> None:
    status, me = accounts(call, "GET", "/v1/me")
    assert status == 200, me
    assert me["user_id"] == "rep-1"
    assert me["org_id"] == "org-a"
    assert me["roles"] == ["rep"]

    status, me = accounts(call, "PATCH", "/v1/me", body={"full_name": " Ada Lovelace ", "company": "Acme"})
    assert status == 200, me
    assert (me["full_name"], me["company"]) == ("Ada Lovelace", "Acme")
    status, me = accounts(call, "PATCH", "/v1/me", body={"company": "Analytical"})
    assert status == 200
    assert (me["full_name"], me["company"]) == ("Ada Lovelace", "Analytical")

    status, body = accounts(call, "PATCH", "/v1/me", body={"email": "other@example.com"})
    assert status == 422
    assert body["error"]["field"] == "email"
    status, body = accounts(call, "PATCH", "/v1/me", body={"full_name": ""})
    assert status == 422
    assert body["error"]["field"] == "full_name"
    assert accounts(call, "GET", "/v1/me")[1]["company"] == "Analytical"


def test_admin_adds_member_changes_roles_and_removes(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    new = {"email": "Bob@Example.com", "full_name": "Bob", "roles": ["rep"]}
    status, body = accounts(call, "POST", "/v1/org/members", body=new)  # a rep may not
    assert status == 403

    status, bob = accounts(call, "POST", "/v1/org/members", body=new, **ADMIN)
    assert status == 201, bob
    assert bob["email"] == "bob@example.com"
    assert bob["roles"] == ["rep"]
    cognito = boto3.client("cognito-idp")
    user = cognito.admin_get_user(UserPoolId=aws_stack["UserPool"].ref, Username="bob@example.com")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["custom:org_id"] == "org-a"
    username = user["Username"]
    assert groups_of(aws_stack, username) == {"rep"}

    status, body = accounts(call, "POST", "/v1/org/members", body=new, **ADMIN)
    assert status == 409
    assert body["error"]["field"] == "email"

    path = f"/v1/org/members/{bob['user_id']}"
    resource = "/v1/org/members/{user_id}"
    status, bob2 = accounts(call, "PATCH", path, resource=resource, body={"roles": ["rep", "admin"]}, **ADMIN)
    assert status == 200, bob2
    assert set(bob2["roles"]) == {"rep", "admin"}
    assert groups_of(aws_stack, username) == {"rep", "admin"}
    status, body = accounts(call, "PATCH", path, resource=resource, body={"roles": ["owner"]}, **ADMIN)
    assert status == 422
    assert body["error"]["field"].startswith("roles")

    status, listing = accounts(call, "GET", "/v1/org/members", **ADMIN)
    assert status == 200
    assert [m["user_id"] for m in listing["items"]] == [bob["user_id"]]

    # another org's admin: the member does not exist for them
    other = {"org": "org-b", "user": "admin-9", "roles": "admin"}
    assert accounts(call, "PATCH", path, resource=resource, body={"roles": ["rep"]}, **other)[0] == 404
    assert accounts(call, "DELETE", path, resource=resource, **other)[0] == 404
    for bad in ("bad id", "x" * 65, "-lead"):  # malformed: 422 naming user_id, before any read
        status, body = accounts(call, "DELETE", f"/v1/org/members/{bad}", resource=resource, **ADMIN)
        assert (status, body["error"]["field"]) == (422, "user_id"), body
    assert accounts(call, "GET", "/v1/org/members", **other)[1]["items"] == []

    assert accounts(call, "DELETE", path, resource=resource, **ADMIN)[0] == 204
    user = cognito.admin_get_user(UserPoolId=aws_stack["UserPool"].ref, Username="bob@example.com")
    assert user["Enabled"] is False  # signs in no more; deleted after the grace period (ADR 0023)
    # the ID token Bob still holds (valid for up to an hour) is refused on every gated route
    status, refused = accounts(call, "GET", "/v1/org/settings", user=bob["user_id"])
    assert (status, refused["error"]["code"]) == (403, "member_removed"), refused
    (listed,) = accounts(call, "GET", "/v1/org/members", **ADMIN)[1]["items"]
    assert listed["status"] == "removed"
    assert listed["purge_after"] > datetime.now(UTC).isoformat()

    assert sweep(call) == {"purged": 0, "skipped": 0}  # not due for 30 days: not even listed
    end_grace_period(aws_stack, "org-a", bob["user_id"])
    assert sweep(call) == {"purged": 1, "skipped": 0}
    with pytest.raises(cognito.exceptions.UserNotFoundException):  # deleted: the address is free again
        cognito.admin_get_user(UserPoolId=aws_stack["UserPool"].ref, Username="bob@example.com")
    assert accounts(call, "GET", "/v1/org/members", **ADMIN)[1]["items"] == []
    assert sweep(call) == {"purged": 0, "skipped": 0}


SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


def sweep(call: Invoke) -> dict[str, int]:
    """One run of the daily member sweep."""
    result: dict[str, int] = call.raw("MemberSweepFunction", SCHEDULED)  # type: ignore[attr-defined]
    return result


def end_grace_period(stack: dict[str, Physical], org_id: str, user_id: str) -> None:
    """Move a removed member's ``purge_after`` to the past (the sweep cannot wait 30 days here)."""
    boto3.client("dynamodb").update_item(
        TableName=stack["AccountsTable"].ref,
        Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": f"USER#{user_id}"}},
        UpdateExpression="SET purge_after = :past",
        ConditionExpression="attribute_exists(removed_pk)",
        ExpressionAttributeValues={":past": {"S": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}},
    )


def test_admin_cannot_demote_or_remove_themselves(call: Invoke) -> None:
    status, _ = accounts(call, "PATCH", "/v1/me", body={"full_name": "Admin"}, **ADMIN)
    assert status == 200
    path, resource = "/v1/org/members/admin-1", "/v1/org/members/{user_id}"
    status, body = accounts(call, "PATCH", path, resource=resource, body={"roles": ["rep"]}, **ADMIN)
    assert status == 409
    assert body["error"]["field"] == "roles"
    assert accounts(call, "DELETE", path, resource=resource, **ADMIN)[0] == 409


def test_org_settings_are_read_by_contacts_and_sms(call: Invoke) -> None:
    status, settings = accounts(call, "GET", "/v1/org/settings")
    assert status == 200
    assert settings == {
        "default_phone_region": None,
        "call_retention_months": None,
        "sms_confirmations": False,
        "daily_sms_cap": None,
        "slug": None,
        "published_name": None,
        "member_grace_days": 30,
        "retention": {},
    }
    wanted = {
        "default_phone_region": "GB",
        "call_retention_months": 6,
        "sms_confirmations": True,
        "daily_sms_cap": 40,
        "slug": None,
        "published_name": None,
        "member_grace_days": 7,
    }
    assert accounts(call, "PUT", "/v1/org/settings", body=wanted)[0] == 403
    status, settings = accounts(call, "PUT", "/v1/org/settings", body=wanted, **ADMIN)
    assert status == 200
    assert settings == {**wanted, "retention": {"call_logs": 6}}

    # the contacts function parses a national number with the org's region now
    status, contact = call(
        "ContactsFunction",
        api_event(
            "POST", "/v1/contacts", body={"name": "Ada", "type": "customer", "phones": ["020 7946 0018"]}
        ),
    )
    assert status == 201, contact
    assert contact["phones"][0]["e164"] == "+442079460018"
    # the SMS function sees the same confirmations and cap
    status, sms = call("SmsFunction", api_event("GET", "/v1/org/sms", **ADMIN))
    assert status == 200
    assert sms["confirmations"] is True
    assert sms["daily_cap"] == 40

    for bad, field in (
        ({**wanted, "default_phone_region": "gb"}, "default_phone_region"),
        ({**wanted, "call_retention_months": 0}, "call_retention_months"),
        ({**wanted, "daily_sms_cap": -1}, "daily_sms_cap"),
        ({**wanted, "member_grace_days": 0}, "member_grace_days"),
        ({**wanted, "member_grace_days": 91}, "member_grace_days"),
        ({**wanted, "member_grace_days": "30"}, "member_grace_days"),
        ({**wanted, "colour": "red"}, "colour"),
    ):
        status, body = accounts(call, "PUT", "/v1/org/settings", body=bad, **ADMIN)
        assert (status, body["error"]["field"]) == (422, field), body
    assert accounts(call, "GET", "/v1/org/settings")[1] == {**wanted, "retention": {"call_logs": 6}}

    status, settings = accounts(call, "PUT", "/v1/org/settings", body={}, **ADMIN)  # back to defaults
    assert status == 200
    assert settings["default_phone_region"] is None
    assert settings["daily_sms_cap"] is None
    assert settings["member_grace_days"] == 30


def test_retention_periods_may_be_shortened_never_lengthened(call: Invoke) -> None:
    """``retention`` holds the periods the org shortened (docs/retention.md); past a rule's maximum,
    below its minimum, an unknown store or a period that contradicts ``call_retention_months`` is a
    422 that changes nothing."""
    shorter = {"retention": {"mail": 12, "export_staging": 3, "contacts": 36}}
    status, settings = accounts(call, "PUT", "/v1/org/settings", body=shorter, **ADMIN)
    assert status == 200, settings
    assert settings["retention"] == shorter["retention"]
    assert settings["call_retention_months"] is None

    for bad in (
        {"retention": {"mail": 25}},  # the maximum is 24 months
        {"retention": {"export_staging": 9}},  # 8 days
        {"retention": {"contacts": 2}},  # at least 6 months
        {"retention": {"mail": 0}},
        {"retention": {"mail": "12"}},
        {"retention": {"mail": True}},
        {"retention": {"backups": 1}},
        {"retention": ["mail"]},
        {"call_retention_months": 25},
        {"call_retention_months": 6, "retention": {"call_logs": 3}},
    ):
        status, body = accounts(call, "PUT", "/v1/org/settings", body=bad, **ADMIN)
        assert status == 422, (bad, body)
        assert body["error"]["code"] == "validation_error", body
    assert accounts(call, "GET", "/v1/org/settings")[1]["retention"] == shorter["retention"]

    both = {"call_retention_months": 6, "retention": {"call_logs": 6, "sms": 1}}
    status, settings = accounts(call, "PUT", "/v1/org/settings", body=both, **ADMIN)
    assert status == 200
    assert settings["retention"] == {"call_logs": 6, "sms": 1}
    assert settings["call_retention_months"] == 6
    status, settings = accounts(call, "PUT", "/v1/org/settings", body={}, **ADMIN)  # back to the maxima
    assert (status, settings["retention"], settings["call_retention_months"]) == (200, {}, None)


def test_org_retention_setting_drives_the_scheduled_purge(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    """Old data really goes: the org's ``call_retention_months`` (set here) is what the daily
    CallRetentionFunction enforces; another org keeps its default 24 months."""
    device = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}
    now = datetime.now(UTC)
    for org in ("org-a", "org-b"):
        event = api_event(
            "PUT", "/v1/devices/pixel-1", resource="/v1/devices/{device_id}", body=device, org=org
        )
        assert call("CallLogsFunction", event)[0] == 200
        entries = [
            {
                "client_id": str(uuid.uuid4()),
                "phone_number": "+14155550100",
                "direction": "outbound",
                "started_at": (now - age).isoformat(),
                "duration_seconds": 30,
                "device_id": "pixel-1",
            }
            for age in (timedelta(days=100), timedelta(days=10))
        ]
        status, _ = call(
            "CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": entries}, org=org)
        )
        assert status == 200
    status, _ = accounts(call, "PUT", "/v1/org/settings", body={"call_retention_months": 1}, **ADMIN)
    assert status == 200

    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    result = call.raw("CallRetentionFunction", scheduled)  # type: ignore[attr-defined]
    assert result["deleted"] == 1
    assert result["stores"] == {"call_logs": 1, "device_locations": 0, "devices": 0}
    for org, kept in (("org-a", 1), ("org-b", 2)):
        status, calls = call("CallLogsFunction", api_event("GET", "/v1/call-logs", org=org))
        assert status == 200
        assert len(calls["items"]) == kept
    # the counts are in org-a's audit chain (ids and counts only); org-b lost nothing: no entry
    audit = DynamoAuditLog(boto3.client("dynamodb"), aws_stack["DsarTable"].ref)
    visited = {"call_logs": 1, "device_locations": 0, "devices": 0}  # every store the org has items in
    for org, purged in (("org-a", [visited]), ("org-b", [])):
        entries = list(audit.entries(org))
        assert [e.detail for e in entries if e.action == "retention.purged"] == purged
        assert verify(entries, audit.head(org)) is None


def cognito_users(stack: dict[str, Physical]) -> dict[str, dict[str, Any]]:
    """The pool's users by email (test-only inspection)."""
    users = boto3.client("cognito-idp").list_users(UserPoolId=stack["UserPool"].ref)["Users"]
    return {
        {a["Name"]: a["Value"] for a in u["Attributes"]}["email"]: {
            "username": u["Username"],
            "enabled": u["Enabled"],
            "org": {a["Name"]: a["Value"] for a in u["Attributes"]}.get("custom:org_id"),
        }
        for u in users
    }


def test_emails_cognito_refuses_are_a_422_naming_email(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    """Issue 13, point 4: these passed the API's validator and made AdminCreateUser fail (502).
    Non-ASCII and over-long addresses are refused up front; o'brien@ passes our rules (RFC 5322
    allows it, and no documented Cognito rule refuses it) but moto's pool refuses it, and that
    refusal is a 422 naming the field too."""
    messages = {}
    for email in ("ñ@example.com", "o'brien@example.com", "user@bücher.example", "a" * 120 + "@example.com"):
        body = {"email": email, "full_name": "X", "roles": ["rep"]}
        status, refused = accounts(call, "POST", "/v1/org/members", body=body, **ADMIN)
        assert (status, refused["error"]["field"]) == (422, "email"), (email, refused)
        messages[email] = refused["error"]["message"]
    assert "user@xn--bcher-kva.example" in messages["user@bücher.example"]  # what would work
    assert accounts(call, "GET", "/v1/org/members", **ADMIN)[1]["items"] == []
    assert cognito_users(aws_stack) == {}


def test_another_orgs_member_email_is_not_revealed(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    """Issue 13, point 8: org B's admin adding org A's member got 409 "a user with this email already
    exists". Now org B sees what it sees for a free address, and nothing changes for org A's user."""
    org_b = {"org": "org-b", "user": "admin-9", "roles": "admin"}
    status, ada = accounts(
        call,
        "POST",
        "/v1/org/members",
        body={"email": "ada@example.com", "full_name": "Ada", "roles": ["rep"]},
        **ADMIN,
    )
    assert status == 201, ada
    before = cognito_users(aws_stack)

    answers = []
    for email in ("ada@example.com", "free@example.com"):
        body = {"email": email, "full_name": "Bob", "roles": ["rep"]}
        status, added = accounts(call, "POST", "/v1/org/members", body=body, **org_b)
        again, repeated = accounts(call, "POST", "/v1/org/members", body=body, **org_b)
        answers.append(
            (status, sorted(added), added["email"] == email, len(added["user_id"]), again, repeated["error"])
        )
    assert answers[0] == answers[1]
    assert answers[0][0] == 201

    after = cognito_users(aws_stack)
    assert after["ada@example.com"] == before["ada@example.com"]  # still org A's, enabled
    assert groups_of(aws_stack, after["ada@example.com"]["username"]) == {"rep"}
    assert set(after) == {"ada@example.com", "free@example.com"}
    listing = accounts(call, "GET", "/v1/org/members", **org_b)[1]["items"]
    assert sorted(m["email"] for m in listing) == ["ada@example.com", "free@example.com"]
    assert [m["email"] for m in accounts(call, "GET", "/v1/org/members", **ADMIN)[1]["items"]] == [
        "ada@example.com"
    ]


def test_a_removed_members_address_can_be_invited_again(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    body = {"email": "bob@example.com", "full_name": "Bob", "roles": ["rep"]}
    status, bob = accounts(call, "POST", "/v1/org/members", body=body, **ADMIN)
    assert status == 201, bob
    path, resource = f"/v1/org/members/{bob['user_id']}", "/v1/org/members/{user_id}"
    assert accounts(call, "DELETE", path, resource=resource, **ADMIN)[0] == 204
    assert cognito_users(aws_stack)["bob@example.com"]["enabled"] is False  # held for the grace period
    end_grace_period(aws_stack, "org-a", bob["user_id"])
    assert sweep(call)["purged"] == 1
    assert "bob@example.com" not in cognito_users(aws_stack)

    org_b = {"org": "org-b", "user": "admin-9", "roles": "admin"}
    status, moved = accounts(call, "POST", "/v1/org/members", body={**body, "roles": ["admin"]}, **org_b)
    assert (status, moved["roles"]) == (201, ["admin"])
    assert moved["user_id"] != bob["user_id"]
    user = cognito_users(aws_stack)["bob@example.com"]
    assert (user["org"], user["enabled"]) == ("org-b", True)  # a real invitation this time
    assert groups_of(aws_stack, user["username"]) == {"admin"}
