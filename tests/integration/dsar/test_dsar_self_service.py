"""A member's own requests on moto (issue 15, point 3): the business-record adapters that reassign an
erased user's contacts and calls, and ``POST /v1/me/export`` / ``DELETE /v1/me`` on the DSAR function,
including what a stranger or another org's user gets from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from callproof import aws
from callproof.accounts.model import Member
from callproof.store.business_records_dynamo import CallOwnership, ContactOwnership
from callproof.store.calls_dynamo import DynamoCallLogStore
from callproof.store.contacts_dynamo import DynamoContactStore
from callproof.store.members_dynamo import DynamoMemberStore
from callproof.tenancy import Role
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.integration.dsar import test_dsar_api
from tests.integration.dsar.personal_data_seed import ADA_B_ID, ADA_ID, BOB_ID, seed
from tests.support import api_event

dsar = test_dsar_api.dsar  # the same fixture: the DSAR function with confirmation links configured


def test_business_records_move_to_the_admin_within_one_org_once(aws_stack: dict[str, Physical]) -> None:
    tables = seed(aws_stack)
    client = aws.dynamodb()
    contacts = ContactOwnership(client, tables.contacts)
    calls = CallOwnership(client, tables.call_logs)
    assert contacts.reassign("org-a", "rep-1", "admin-1") == 2
    assert calls.reassign("org-a", "rep-1", "admin-1") == 3
    assert contacts.reassign("org-a", "rep-1", "admin-1") == 0  # a replay finds nothing left
    assert calls.reassign("org-a", "rep-1", "admin-1") == 0
    store = DynamoContactStore(client, tables.contacts)
    moved = {c.id: c for c in store.get_many("org-a", [ADA_ID, BOB_ID])}
    assert {c.owner_user_id for c in moved.values()} == {"admin-1"}
    assert {c.version for c in moved.values()} == {2}  # a change like any edit
    assert store.get("org-b", ADA_B_ID).owner_user_id == "rep-1"  # type: ignore[union-attr]
    logged = DynamoCallLogStore(client, tables.call_logs)
    assert len(list(logged.every_by_user("org-a", "admin-1"))) == 3  # found through ByUser under the admin
    assert list(logged.every_by_user("org-a", "rep-1")) == []
    assert [c.user_id for c in logged.every_by_user("org-b", "rep-1")] == ["rep-1"]


def me(method: str, path: str, org: str = "org-a", user: str = "rep-1", roles: str = "rep") -> dict[str, Any]:
    return api_event(method, path, org=org, user=user, roles=roles)


def test_own_export_and_deletion_over_the_api(dsar: Invoke, aws_stack: dict[str, Physical]) -> None:
    members = DynamoMemberStore(aws.dynamodb(), aws_stack["AccountsTable"].ref)
    joined = datetime(2026, 1, 1, tzinfo=UTC)
    for user, role in (("admin-1", Role.ADMIN), ("rep-1", Role.REP)):
        members.put(
            None,
            Member("org-a", user, f"{user}@corp.example", user, roles=frozenset({role}), created_at=joined),
        )

    status, body = dsar("DsarFunction", me("POST", "/v1/me/export"))
    assert status == 202, body
    assert (body["type"], body["status"]) == ("access", "in_progress")

    status, body = dsar("DsarFunction", me("DELETE", "/v1/me", user="admin-1", roles="admin"))
    assert status == 409, body  # the last admin, with the reason
    assert body["error"]["code"] == "last_admin"
    assert "make another member an admin" in body["error"]["message"]

    status, body = dsar("DsarFunction", me("DELETE", "/v1/me"))
    assert status == 202, body
    assert body["status"] == "pending_confirmation"
    sent = [m for m in test_dsar_api.sent_mail() if "rep-1@corp.example" in m.destinations["ToAddresses"]]
    [confirmation] = sent  # the export's link comes when its workflow ends (not run here)
    assert "/privacy/confirm?token=" in confirmation.body
    status, page = dsar("DsarFunction", test_dsar_api.staff("GET", "/v1/dsar/requests"))
    assert sorted(item["type"] for item in page["items"]) == ["access", "erasure"]  # the 409 recorded nothing

    # A stranger: a signed-in user with no account in this org, or the same user id in another org.
    for org, user in (("org-a", "nobody"), ("org-b", "rep-1")):
        for method, path in (("POST", "/v1/me/export"), ("DELETE", "/v1/me")):
            status, body = dsar("DsarFunction", me(method, path, org=org, user=user))
            assert status == 404, body
    status, page = dsar("DsarFunction", test_dsar_api.staff("GET", "/v1/dsar/requests", org="org-b"))
    assert page["items"] == []
