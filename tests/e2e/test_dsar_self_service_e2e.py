"""A member's own export and account deletion over HTTP on the local stack (issue 15, point 3): the
workflows really run, mail is read back from the local SES outbox; the org's last admin is refused
and the member's contacts and calls stay with the org under its admin."""

from __future__ import annotations

import io
import re
import uuid
import zipfile

import pytest
import requests

from tests.e2e import test_dsar_e2e
from tests.e2e.test_dsar_e2e import Org, phone_number
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
org = test_dsar_e2e.org  # the same fixture: an org of its own with a compliance officer


def test_a_member_exports_then_deletes_their_account_and_the_org_keeps_its_records(
    org: Org, local_stack: RunningStack
) -> None:
    admin = {"Authorization": f"Bearer {local_stack.token(org.id, 'admin-1', ['admin'])}"}
    assert org.api("PATCH", "/v1/me", {"full_name": "Ann Admin"}, headers=admin).status_code == 200
    refused = org.api("DELETE", "/v1/me", headers=admin)
    assert refused.status_code == 409, refused.text  # the org's last admin, told why
    assert refused.json()["error"]["code"] == "last_admin"

    email = f"rep-{uuid.uuid4().hex[:6]}@example.com"
    added = org.api(
        "POST", "/v1/org/members", {"email": email, "full_name": "Rita Rep", "roles": ["rep"]}, admin
    )
    assert added.status_code == 201, added.text
    rep_id = added.json()["user_id"]
    rep = {"Authorization": f"Bearer {local_stack.token(org.id, rep_id, ['rep'])}"}
    phone = phone_number()
    contact = org.api("POST", "/v1/contacts", {"name": "Carl", "type": "customer", "phones": [phone]}, rep)
    assert contact.status_code == 201, contact.text
    org.rep = rep
    org.call(phone)  # Rita logs a call from her phone

    exported = org.api("POST", "/v1/me/export", headers=rep)
    assert exported.status_code == 202, exported.text
    assert org.wait(exported.json()["request_id"])["status"] == "completed"
    [mail] = org.mail_to(email)
    token = re.findall(r"token=(\S+)", mail["body"])[0]
    archive = requests.get(f"{org.url}/privacy/download", params={"token": token}, timeout=30)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        names = set(zipped.namelist())
        devices = zipped.read("devices.csv").decode()
        calls = zipped.read("call_logs.csv").decode()
    assert {"accounts.csv", "devices.csv", "call_logs.csv", "manifest.json"} <= names
    assert "phone-1" in devices
    assert "logged_by_subject" in calls

    deleting = org.api("DELETE", "/v1/me", headers=rep)
    assert deleting.status_code == 202, deleting.text
    request_id = deleting.json()["request_id"]
    assert org.api("GET", f"/v1/dsar/requests/{request_id}").json()["status"] == "pending_confirmation"
    link = re.findall(r"(http\S+/privacy/confirm\?token=\S+)", org.mail_to(email)[-1]["body"])[0]
    assert requests.post(link, timeout=30).status_code == 200
    done = org.wait(request_id)
    assert done["status"] == "completed", done
    assert done["stores"]["devices"]["deleted"] == 1

    kept = org.api("GET", f"/v1/contacts/{contact.json()['id']}", headers=admin)
    assert kept.status_code == 200
    assert kept.json()["owner_user_id"] == "admin-1"  # reassigned, not erased
    calls_now = org.api("GET", "/v1/call-logs?user=admin-1", headers=admin).json()["items"]
    assert [(call["e164"], call["user_id"]) for call in calls_now] == [(phone, "admin-1")]
    members = org.api("GET", "/v1/org/members", headers=admin).json()["items"]
    assert rep_id not in [member["user_id"] for member in members]
    notice = org.mail_to(email)[-1]
    assert notice["subject"] == "Your privacy request: erasure complete"
    assert "reassigned to one of its admins" in notice["body"]
