"""Issue 16, point 2, over HTTP on the running local stack (ADR 0023): removing a member leaves no
token that can sync (Gmail and calendar disconnected through the Google double), no photo version, no
device or location; their contact and call go to the removing admin, audited; an access request for
their email during the grace period finds their account rows; restore undoes the removal within the
grace period and is refused after it; the daily sweep (`POST /_local/schedules/MemberSweep`, what
`callproof run-schedule MemberSweep` calls) then deletes the Cognito user and keeps the consent history.
Bad input (another org's admin, yourself, a rep) answers a 4xx and changes nothing."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from callproof.store.audit_dynamo import DynamoAuditLog
from callproof_local.provision import aws_session, local_name
from callproof_local.stack import STATE_FILE
from tests.e2e.test_dsar_e2e import Org, phone_number
from tests.e2e.test_dsar_mail_e2e import connect_gmail, synced
from tests.e2e.test_gmail_e2e import MAIL, deliver
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
LOCATED = {
    "device_type": "phone",
    "os_name": "Android",
    "os_version": "15",
    "app_version": "4.2.0",
    "location_consent": True,
    "location": {"latitude": 48.85, "longitude": 2.35},
}


class Moto:
    """The stack's AWS backend, read directly where the API shows nothing (test-only inspection)."""

    def __init__(self, stack: RunningStack) -> None:
        url = json.loads((stack.home / STATE_FILE).read_text())["moto_url"]
        session = aws_session()
        self.dynamodb = session.client("dynamodb", endpoint_url=url)
        self.s3 = session.client("s3", endpoint_url=url)
        self.cognito = session.client("cognito-idp", endpoint_url=url)
        self.pool = self.cognito.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]

    def sign_in(self, email: str) -> bool | None:
        """Whether the Cognito user of this email may sign in; None when there is none."""
        try:
            return bool(self.cognito.admin_get_user(UserPoolId=self.pool, Username=email)["Enabled"])
        except self.cognito.exceptions.UserNotFoundException:
            return None

    def photo_versions(self, org: str, user: str) -> int:
        bucket = next(b["Name"] for b in self.s3.list_buckets()["Buckets"] if "databucket" in b["Name"])
        listing = self.s3.list_object_versions(Bucket=bucket, Prefix=f"orgs/{org}/users/{user}/photo")
        return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))

    def device(self, org: str, device: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"ORG#{org}#DEVICE#{device}"}, "sk": {"S": "DEVICE"}}
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=local_name("CallLogsTable"), Key=key, ConsistentRead=True
        ).get("Item")
        return item

    def consent_records(self, org: str, user: str) -> int:
        found = self.dynamodb.query(
            TableName=local_name("AccountsTable"),
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": {"S": f"ORG#{org}"}, ":sk": {"S": f"CONSENT#{user}#"}},
            ConsistentRead=True,
        )
        return int(found["Count"])

    def end_grace_period(self, org: str, user: str) -> None:
        """The sweep cannot wait the org's 30 days here: the member's ``purge_after`` moves back."""
        self.dynamodb.update_item(
            TableName=local_name("AccountsTable"),
            Key={"pk": {"S": f"ORG#{org}"}, "sk": {"S": f"USER#{user}"}},
            UpdateExpression="SET purge_after = :past",
            ConditionExpression="attribute_exists(removed_pk)",
            ExpressionAttributeValues={
                ":past": {"S": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
            },
        )

    def audit(self, org: str) -> list[tuple[str, dict[str, Any]]]:
        log = DynamoAuditLog(self.dynamodb, local_name("DsarTable"))
        return [(entry.action, dict(entry.detail)) for entry in log.entries(org)]


def test_removal_restore_and_sweep(local_stack: RunningStack, tmp_path: Path) -> None:
    org, moto = Org(local_stack), Moto(local_stack)  # staff-1: admin, rep and compliance
    assert org.api("PATCH", "/v1/me", {"full_name": "Sam Staff"}).status_code == 200
    email = f"rita-{uuid.uuid4().hex[:6]}@example.com"  # her sign-in and her Gmail mailbox
    added = org.api("POST", "/v1/org/members", {"email": email, "full_name": "Rita Rep", "roles": ["rep"]})
    assert added.status_code == 201, added.text
    user_id = added.json()["user_id"]
    rita = copy.copy(org)
    rita.rep = {"Authorization": f"Bearer {local_stack.token(org.id, user_id, ['rep'])}"}

    # Rita's data: consents, a located device, a photo, Gmail and calendar grants, a contact and a call
    for purpose in ("geolocation", "marketing_email"):
        given = rita.api("POST", "/v1/me/consents", {"purpose": purpose}, headers=rita.rep)
        assert given.status_code == 201, given.text
    device = rita.api("PUT", "/v1/devices/phone-1", LOCATED, headers=rita.rep)
    assert device.status_code == 200, device.text
    assert device.json()["location"] == LOCATED["location"]
    upload = rita.api("POST", "/v1/me/photo", {"content_type": "image/png"}, headers=rita.rep).json()
    photo = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("p.png", b"\x89PNG")}, timeout=30
    )
    assert photo.status_code in (200, 204), photo.text
    assert moto.photo_versions(org.id, user_id) == 1
    connect_gmail(rita, email)
    authorize = rita.api("POST", "/v1/integrations/google/calendar/authorize", headers=rita.rep)
    assert authorize.status_code == 200, authorize.text
    consent_page = requests.get(
        authorize.json()["authorization_url"] + f"&login_hint={email}", allow_redirects=False, timeout=10
    )
    assert requests.get(consent_page.headers["Location"], timeout=30).status_code == 200
    assert rita.api("GET", "/v1/integrations/google", headers=rita.rep).json()["status"] == "active"
    phone = phone_number()
    ada = {"name": "Ada", "type": "customer", "phones": [phone], "emails": ["ada@customer.example"]}
    contact = rita.api("POST", "/v1/contacts", ada, headers=rita.rep)
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()["id"]
    pushed = deliver(local_stack, email, MAIL / "contact.eml")  # her grant syncs: the control
    assert pushed.returncode == 0, pushed.stderr
    assert len(synced(rita, contact_id)) == 1
    entry = {
        "client_id": str(uuid.uuid4()),
        "phone_number": phone,
        "direction": "outbound",
        "started_at": "2026-11-27T10:00:00+00:00",
        "duration_seconds": 60,
        "device_id": "phone-1",
    }
    assert rita.api("POST", "/v1/call-logs", {"entries": [entry]}, headers=rita.rep).status_code == 200

    # bad input: a 4xx, and nothing changes
    path = f"/v1/org/members/{user_id}"
    other = {"Authorization": f"Bearer {local_stack.token(org.id + 'x', 'staff-1', ['admin'])}"}
    assert org.api("DELETE", path, headers=other).status_code == 404
    assert org.api("DELETE", path, headers=org.rep).status_code == 403
    assert org.api("DELETE", "/v1/org/members/staff-1").status_code == 409  # yourself
    assert org.api("DELETE", "/v1/org/members/nobody").status_code == 404
    assert org.api("POST", f"{path}/restore").status_code == 409  # not removed
    assert rita.api("GET", "/v1/integrations/google", headers=rita.rep).json()["status"] == "active"
    assert moto.sign_in(email) is True
    assert moto.photo_versions(org.id, user_id) == 1

    # the removal, retried: the second finds nothing left to do
    assert org.api("DELETE", path).status_code == 204
    assert org.api("DELETE", path).status_code == 204
    assert rita.api("GET", "/v1/integrations/google", headers=rita.rep).status_code == 404  # no token
    later = tmp_path / "later.eml"  # new mail from the contact: no grant left to sync it with
    later.write_bytes(
        (MAIL / "contact.eml")
        .read_bytes()
        .replace(b"quote-1@", b"quote-2@")
        .replace(b"40 seats", b"41 seats")
    )
    pushed = deliver(local_stack, email, later)
    assert pushed.returncode == 0, pushed.stderr
    assert '"push_status": 204' in pushed.stdout  # acknowledged, nothing queued (no mailbox route)
    subjects = [m["subject"] for m in org.api("GET", f"/v1/contacts/{contact_id}/emails").json()["items"]]
    assert subjects == ["Quote for 40 seats"]  # the mail synced before stays with the org
    assert rita.api("GET", "/v1/integrations/calendar", headers=rita.rep).json()["connections"] == []
    assert moto.photo_versions(org.id, user_id) == 0  # every version
    assert moto.device(org.id, "phone-1") is None  # the device and its location
    assert moto.sign_in(email) is False  # disabled, kept for the grace period
    owner = org.api("GET", f"/v1/contacts/{contact_id}").json()["owner_user_id"]
    assert owner == "staff-1"
    calls = org.api("GET", "/v1/call-logs?user=staff-1").json()["items"]
    assert [call["user_id"] for call in calls] == ["staff-1"]
    [listed] = [m for m in org.api("GET", "/v1/org/members").json()["items"] if m["user_id"] == user_id]
    assert listed["status"] == "removed"
    assert listed["purge_after"][:10] == (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    [(action, detail)] = moto.audit(org.id)
    assert action == "member.removed"
    assert detail["integrations"] == 3 + 1  # Gmail (item, route, registry), the Google calendar
    assert (detail["devices"], detail["photo"]) == (1, 1)
    assert (detail["contacts_reassigned"], detail["call_logs_reassigned"], detail["to"]) == (1, 1, "staff-1")
    assert email not in json.dumps(detail)

    # an access request for her email during the grace period finds her account rows
    created = org.api(
        "POST",
        "/v1/dsar/requests",
        {
            "type": "access",
            "subject": {"email": email},
            "jurisdiction": "gdpr",
            "received": "2026-11-20",
            "verification": "ID checked by video call",
        },
    )
    assert created.status_code == 201, created.text
    review = org.wait(created.json()["id"])
    assert review["status"] == "needs_review", review
    assert [(c["kind"], c["id"]) for c in review["subject"]["candidates"]] == [("user", user_id)]
    chosen = org.api(
        "POST",
        f"/v1/dsar/requests/{review['id']}/subject",
        {"user_ids": [user_id], "reason": "former employee; identity checked by HR"},
    )
    assert chosen.status_code == 202, chosen.text
    done = org.wait(review["id"])
    assert done["status"] == "completed", done
    assert done["stores"]["accounts"]["rows"] == 1 + 2  # her profile and two consent records

    # restored within the grace period: she signs in again; what went at removal stays gone
    restored = org.api("POST", f"{path}/restore")
    assert restored.status_code == 200, restored.text
    assert (restored.json()["status"], restored.json()["purge_after"]) == ("active", None)
    assert moto.sign_in(email) is True
    assert rita.api("GET", "/v1/integrations/google", headers=rita.rep).status_code == 404

    # removed again; after the grace period restore is refused and the sweep deletes the account
    assert org.api("DELETE", path).status_code == 204
    moto.end_grace_period(org.id, user_id)
    late = org.api("POST", f"{path}/restore")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "grace_period_over")
    swept = requests.post(f"{local_stack.url}/_local/schedules/MemberSweep", timeout=120)
    assert swept.status_code == 200, swept.text
    assert moto.sign_in(email) is None  # the Cognito user is deleted
    assert user_id not in {m["user_id"] for m in org.api("GET", "/v1/org/members").json()["items"]}
    assert moto.consent_records(org.id, user_id) == 2  # the history, kept under the bare id
    actions = [action for action, _ in moto.audit(org.id) if action.startswith("member.")]
    assert actions == ["member.removed", "member.restored", "member.removed", "member.purged"]
