"""Retention on the running local stack (issue 16, point 1): data in every store with old timestamps
(written through the stores' own adapters, which take the item's time from the caller, and through
the API for call logs), one `callproof run-schedule CallLogRetention`, then every expired item is gone
(S3 bodies with every version) and every fresh one is intact; the counts are in the org's audit chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from callproof.calls.model import Device
from callproof.contacts.model import Contact, ContactType
from callproof.dsar.audit import verify
from callproof.dsar.deadlines import Deadline, Jurisdiction
from callproof.dsar.model import DsarRequest, Identifiers, RequestType, Status
from callproof.mail.model import EmailRecord, email_id, object_key
from callproof.phones import Phone
from callproof.sms.model import MessageDirection, ThreadMessage
from callproof.store.audit_dynamo import DynamoAuditLog
from callproof.store.calls_dynamo import DynamoDeviceStore
from callproof.store.contacts_dynamo import DynamoContactStore
from callproof.store.dsar_dynamo import DynamoRequestStore
from callproof.store.mail_bodies_s3 import S3MailBlobs
from callproof.store.mail_index_dynamo import DynamoMailIndex
from callproof.store.retention_registry_dynamo import OrgRegistry
from callproof.store.sms_dynamo import DynamoSmsStore
from callproof_local.provision import aws_session, local_name
from callproof_local.stack import STATE_FILE
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=1_500)  # past every maximum (36 months is the longest)
RECENT = NOW - timedelta(days=2)


class Stores:
    """The stack's moto, reached as the handlers reach it."""

    def __init__(self, stack: RunningStack) -> None:
        moto_url = json.loads((stack.home / STATE_FILE).read_text())["moto_url"]
        session = aws_session()
        self.dynamodb = session.client("dynamodb", endpoint_url=moto_url)
        self.s3 = session.client("s3", endpoint_url=moto_url)
        self.data_bucket = local_name("DataBucket")
        self.exports_bucket = local_name("ExportsBucket")
        self.mail = DynamoMailIndex(self.dynamodb, local_name("MailTable"))
        self.bodies = S3MailBlobs(self.s3, self.data_bucket)
        self.sms = DynamoSmsStore(self.dynamodb, local_name("SmsTable"))
        self.devices = DynamoDeviceStore(self.dynamodb, local_name("CallLogsTable"))
        self.requests = DynamoRequestStore(self.dynamodb, local_name("DsarTable"))
        self.contacts = DynamoContactStore(self.dynamodb, local_name("ContactsTable"))
        self.audit = DynamoAuditLog(self.dynamodb, local_name("DsarTable"))

    def message(self, org: str, gmail_id: str, received: datetime) -> EmailRecord:
        key = object_key(org, "rep-1", gmail_id)
        self.bodies.put(key, b'{"text": "draft"}')
        self.bodies.put(key, b'{"text": "final"}')  # a second version
        record = EmailRecord(
            org_id=org,
            email_id=email_id("rep-1", gmail_id),
            user_id="rep-1",
            gmail_id=gmail_id,
            thread_id=f"t-{gmail_id}",
            internal_date=int(received.timestamp() * 1000),
            subject="Quote",
            sender="Ada <ada@example.com>",
            contact_ids=("c-ada",),
            object_key=key,
        )
        assert self.mail.put(record)
        OrgRegistry(self.dynamodb, local_name("MailTable"), "mail").add(
            org
        )  # what connecting the mailbox puts
        return record

    def versions(self, bucket: str, prefix: str) -> int:
        page = self.s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))

    def text(self, org: str, message_id: str, at: datetime) -> None:
        self.sms.add_message(
            ThreadMessage(org, "c-ada", message_id, MessageDirection.OUTBOUND, "hi", "+14155550100", at)
        )

    def thread(self, org: str) -> list[str]:
        items = self.dynamodb.query(
            TableName=local_name("SmsTable"),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ORG#{org}#THREAD#c-ada"}},
        )["Items"]
        return sorted(item["message_id"]["S"] for item in items)

    def device(self, org: str, device_id: str, seen: datetime) -> None:
        where = {"latitude": 48.85, "longitude": 2.35}
        self.devices.put(
            Device(org, device_id, "rep-1", "phone", "Android", "15", "4.2", seen, location=where)
        )

    def device_item(self, org: str, device_id: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"ORG#{org}#DEVICE#{device_id}"}, "sk": {"S": "DEVICE"}}
        return self.dynamodb.get_item(TableName=local_name("CallLogsTable"), Key=key).get("Item")

    def request(self, org: str, request_id: str, closed: datetime) -> None:
        new = DsarRequest(
            org,
            request_id,
            RequestType.ACCESS,
            Status.VERIFIED,
            Deadline(Jurisdiction.GDPR, closed.date()),
            Identifiers(email="ada@example.com"),
            closed,
            "staff-1",
        )
        self.requests.create(new, None, None)
        self.requests.save(new, new.with_status(Status.COMPLETED, closed))

    def contact(self, org: str, contact_id: str, touched: datetime, phone: str) -> None:
        contact = Contact(
            contact_id, org, "Ada", ContactType.CUSTOMER, "rep-1", touched, touched,
            phones=(Phone(phone, phone),),
        )  # fmt: skip
        assert self.contacts.create([contact]) == [True]


def run_retention(stack: RunningStack) -> dict[str, Any]:
    ran = subprocess.run(
        [sys.executable, "-m", "callproof_local.cli", "run-schedule", "CallLogRetention"],
        env={**os.environ, "CALLPROOF_LOCAL_HOME": str(stack.home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, Any] = json.loads(ran.stdout)
    return result


def test_the_daily_purge_empties_every_store_of_expired_items_only(local_stack: RunningStack) -> None:
    org = f"retention-{uuid.uuid4().hex[:8]}"
    base = local_stack.url
    admin = {"Authorization": f"Bearer {local_stack.token(org, 'admin-1', ['admin', 'rep'])}"}
    stores = Stores(local_stack)

    # opt in to the purge of untouched contacts (24 months), and shorten device locations to 30 days
    settings = {"retention": {"contacts": 24, "device_locations": 30}}
    response = requests.put(f"{base}/v1/org/settings", json=settings, headers=admin, timeout=30)
    assert response.status_code == 200, response.text
    # bad input: a 4xx that changes nothing
    for bad in ({"retention": {"mail": 25}}, {"retention": {"backups": 1}}, {"retention": {"contacts": 1}}):
        response = requests.put(f"{base}/v1/org/settings", json=bad, headers=admin, timeout=30)
        assert response.status_code == 422, response.text
    current = requests.get(f"{base}/v1/org/settings", headers=admin, timeout=30).json()
    assert current["retention"] == settings["retention"]

    old_mail, new_mail = stores.message(org, "old", OLD), stores.message(org, "new", RECENT)
    stores.text(org, "old-text", OLD)
    stores.text(org, "new-text", RECENT)
    stores.device(org, "lost-phone", OLD)  # not seen for years: goes
    stores.device(org, "drawer-phone", NOW - timedelta(days=60))  # location past 30 days: removed
    stores.device(org, "pocket-phone", RECENT)
    stores.request(org, "old-request", OLD)
    stores.request(org, "new-request", RECENT)
    stores.contact(org, "a" * 32, OLD, "+14155550180")
    stores.contact(org, "b" * 32, RECENT, "+14155550181")
    export = f"exports/{org}/new-request/new-request.zip"
    stores.s3.put_object(Bucket=stores.exports_bucket, Key=export, Body=b"zip")  # dated now: stays
    device = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}
    assert requests.put(f"{base}/v1/devices/api-phone", json=device, headers=admin, timeout=30).ok
    calls = [
        {
            "client_id": str(uuid.uuid4()),
            "phone_number": "+1 415 555 0100",
            "direction": "outbound",
            "started_at": started.isoformat(),
            "duration_seconds": 10,
            "device_id": "api-phone",
        }
        for started in (OLD, RECENT)
    ]
    uploaded = requests.post(f"{base}/v1/call-logs", json={"entries": calls}, headers=admin, timeout=30)
    assert uploaded.status_code == 200, uploaded.text

    result = run_retention(local_stack)
    assert result["deleted"] >= 7

    # expired: gone (mail bodies with every version)
    assert stores.mail.get(org, old_mail.email_id) is None
    assert stores.versions(stores.data_bucket, old_mail.object_key) == 0
    assert stores.device_item(org, "lost-phone") is None
    drawer = stores.device_item(org, "drawer-phone")
    assert drawer is not None
    assert "location" not in drawer
    assert stores.requests.get(org, "old-request") is None
    assert stores.contacts.get(org, "a" * 32) is None
    # fresh: intact
    assert stores.mail.get(org, new_mail.email_id) is not None
    assert stores.versions(stores.data_bucket, new_mail.object_key) == 2
    assert stores.thread(org) == ["new-text"]
    pocket = stores.device_item(org, "pocket-phone")
    assert pocket is not None
    assert "location" in pocket
    assert stores.requests.get(org, "new-request") is not None
    assert stores.contacts.get(org, "b" * 32) is not None
    assert stores.versions(stores.exports_bucket, export) == 1
    mine = requests.get(f"{base}/v1/call-logs", headers=admin, timeout=30).json()
    assert [c["started_at"][:10] for c in mine["items"]] == [RECENT.date().isoformat()]

    # the counts per store, in the org's (intact) audit chain
    entries = [e for e in stores.audit.entries(org) if e.action == "retention.purged"]
    assert len(entries) == 1
    assert {k: v for k, v in entries[0].detail.items() if v} == {
        "mail": 1,
        "sms": 1,
        "call_logs": 1,
        "device_locations": 1,
        "devices": 1,
        "dsar_requests": 1,
        "contacts": 1,
    }
    assert verify(list(stores.audit.entries(org)), stores.audit.head(org)) is None

    again = run_retention(local_stack)  # nothing is left to expire: nothing more goes
    assert stores.mail.get(org, new_mail.email_id) is not None
    assert again["stores"].get("mail", 0) >= 0
    assert len([e for e in stores.audit.entries(org) if e.action == "retention.purged"]) == 1
