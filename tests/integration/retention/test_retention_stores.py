"""Each store's purge on moto (tables and bucket from the template): expired items go, S3 bodies with
every version, fresh ones stay, another org keeps its own period; the counts reach the audit chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from callproof import aws
from callproof.calls.model import Device
from callproof.contacts.model import Contact, ContactType
from callproof.dsar.audit import verify
from callproof.dsar.deadlines import Deadline, Jurisdiction
from callproof.dsar.model import DsarRequest, Identifiers, RequestType, Status
from callproof.mail.model import EmailRecord, Integration, IntegrationStatus, email_id, object_key
from callproof.oauth.model import SealedToken
from callproof.phones import Phone
from callproof.retention.service import RetentionService
from callproof.sms.model import MessageDirection, ThreadMessage
from callproof.store.audit_dynamo import DynamoAuditLog
from callproof.store.calls_dynamo import DynamoDeviceStore
from callproof.store.contacts_dynamo import DynamoContactStore
from callproof.store.dsar_dynamo import DynamoRequestStore
from callproof.store.gmail_integrations_dynamo import DynamoIntegrationStore
from callproof.store.mail_bodies_s3 import S3MailBlobs
from callproof.store.mail_index_dynamo import DynamoMailIndex
from callproof.store.org_settings_dynamo import DynamoOrgSettings, DynamoOrgSettingsStore
from callproof.store.retention_dynamo import (
    AuditedRetention,
    ClosedRequestExpiry,
    DeviceExpiry,
    DeviceLocationExpiry,
    MailExpiry,
    SmsExpiry,
    UntouchedContactExpiry,
)
from callproof.store.retention_registry_dynamo import OrgRegistry
from callproof.store.retention_s3 import ExportStagingExpiry
from callproof.store.sms_dynamo import DynamoSmsStore
from callproof_local.template import Physical

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


class Stack:
    def __init__(self, aws_stack: dict[str, Physical]) -> None:
        self.mail_table = aws_stack["MailTable"].ref
        self.bucket = aws_stack["DataBucket"].ref
        self.contacts_table = aws_stack["ContactsTable"].ref
        self.dsar_table = aws_stack["DsarTable"].ref
        self.call_logs_table = aws_stack["CallLogsTable"].ref
        self.devices = DynamoDeviceStore(aws.dynamodb(), self.call_logs_table)
        self.sms_table = aws_stack["SmsTable"].ref
        self.sms = DynamoSmsStore(aws.dynamodb(), self.sms_table)
        self.blobs = S3MailBlobs(aws.s3(), self.bucket)
        self.index = DynamoMailIndex(aws.dynamodb(), self.mail_table)
        self.audit = DynamoAuditLog(aws.dynamodb(), self.dsar_table)

    def mail(self, org: str, gmail_id: str, received: datetime) -> EmailRecord:
        key = object_key(org, "rep-1", gmail_id)
        self.blobs.put(key, json.dumps({"text": "draft"}).encode())
        self.blobs.put(key, json.dumps({"text": "final"}).encode())  # two versions
        record = EmailRecord(
            org_id=org,
            email_id=email_id("rep-1", gmail_id),
            user_id="rep-1",
            gmail_id=gmail_id,
            thread_id=f"t{gmail_id}",
            internal_date=int(received.timestamp() * 1000),
            subject=f"Message {gmail_id}",
            sender="Ada <ada@example.com>",
            contact_ids=("c-ada",),
            object_key=key,
        )
        assert self.index.put(record)
        OrgRegistry(aws.dynamodb(), self.mail_table, "mail").add(org)  # what connecting the mailbox puts
        return record

    def versions(self, key: str) -> int:
        page = boto3.client("s3").list_object_versions(Bucket=self.bucket, Prefix=key)
        return sum(1 for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])] if v["Key"] == key)

    def mail_items(self, org: str) -> list[dict[str, Any]]:
        response = boto3.client("dynamodb").query(
            TableName=self.mail_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ORG#{org}"}},
        )
        return response["Items"]

    def device(self, org: str, device_id: str, seen: datetime, located: bool) -> None:
        where = {"latitude": 48.85, "longitude": 2.35} if located else None
        self.devices.put(
            Device(org, device_id, "rep-1", "phone", "Android", "15", "4.2.0", seen, location=where)
        )

    def device_item(self, org: str, device_id: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"ORG#{org}#DEVICE#{device_id}"}, "sk": {"S": "DEVICE"}}
        return boto3.client("dynamodb").get_item(TableName=self.call_logs_table, Key=key).get("Item")

    def service(self, page: int = 500) -> RetentionService:
        client = aws.dynamodb()
        return RetentionService(
            [
                MailExpiry(client, self.mail_table, self.blobs),
                DeviceExpiry(client, self.call_logs_table),
                DeviceLocationExpiry(client, self.call_logs_table),
                SmsExpiry(client, self.sms_table),
            ],
            DynamoOrgSettings(client, self.contacts_table, "US"),
            AuditedRetention(self.audit),
            clock=lambda: NOW,
            page=page,
        )


@pytest.fixture
def stack(aws_stack: dict[str, Physical]) -> Stack:
    return Stack(aws_stack)


def test_expired_mail_goes_with_every_body_version_fresh_mail_stays(stack: Stack) -> None:
    old = stack.mail("org-a", "old", NOW - timedelta(days=800))  # past 24 months
    fresh = stack.mail("org-a", "fresh", NOW - timedelta(days=30))
    shortened = stack.mail("org-b", "mid", NOW - timedelta(days=200))  # org-b keeps 6 months
    kept = stack.mail("org-b", "recent", NOW - timedelta(days=100))
    DynamoOrgSettingsStore(aws.dynamodb(), stack.contacts_table).put("org-b", None, {"mail": 6})

    counts = stack.service(page=1).run()  # one message a page: the loop pages

    assert counts == {"org-a": {"mail": 1}, "org-b": {"mail": 1}}
    for gone in (old, shortened):
        assert stack.versions(gone.object_key) == 0
        assert stack.index.get(gone.org_id, gone.email_id) is None
    for stays in (fresh, kept):
        assert stack.versions(stays.object_key) == 2
        assert stack.index.get(stays.org_id, stays.email_id) is not None
    leftovers = {item["sk"]["S"] for item in stack.mail_items("org-a")}
    assert not any(old.email_id in sk for sk in leftovers)  # no link, copy or listing item left
    assert any(fresh.email_id in sk for sk in leftovers)

    for org in ("org-a", "org-b"):
        entries = list(stack.audit.entries(org))
        assert [(e.action, dict(e.detail)) for e in entries] == [("retention.purged", {"mail": 1})]
        assert verify(entries, stack.audit.head(org)) is None
    assert stack.service().run() == {"org-a": {"mail": 0}, "org-b": {"mail": 0}}  # nothing twice


def test_device_locations_expire_after_90_days_devices_after_12_months(stack: Stack) -> None:
    stack.device("org-a", "gone", NOW - timedelta(days=400), located=True)  # device and location go
    stack.device("org-a", "unlocated-old", NOW - timedelta(days=400), located=False)  # goes
    stack.device("org-a", "mid", NOW - timedelta(days=120), located=True)  # location goes, device stays
    stack.device("org-a", "fresh", NOW - timedelta(days=10), located=True)  # both stay
    stack.device("org-a", "sixty", NOW - timedelta(days=60), located=True)  # within 90 days: stays
    stack.device("org-b", "sixty", NOW - timedelta(days=60), located=True)  # org-b keeps 30 days
    DynamoOrgSettingsStore(aws.dynamodb(), stack.contacts_table).put("org-b", None, {"device_locations": 30})

    counts = stack.service(page=1).run()

    assert counts == {
        "org-a": {"devices": 2, "device_locations": 1},
        "org-b": {"devices": 0, "device_locations": 1},
    }
    assert stack.device_item("org-a", "gone") is None
    assert stack.device_item("org-a", "unlocated-old") is None
    mid = stack.device_item("org-a", "mid")
    assert mid is not None
    assert "location" not in mid or "NULL" in mid["location"]
    for org, device, located in (
        ("org-a", "fresh", True),
        ("org-a", "sixty", True),
        ("org-b", "sixty", False),
    ):
        item = stack.device_item(org, device)
        assert item is not None
        assert ("M" in item.get("location", {})) is located, (org, device)
    # a device seen again (registered anew) is kept: its last-seen moved
    stack.device("org-a", "back", NOW - timedelta(days=400), located=False)
    stack.device("org-a", "back", NOW, located=False)
    assert stack.service().run()["org-a"] == {"devices": 0, "device_locations": 0}
    assert stack.device_item("org-a", "back") is not None


def test_sms_thread_messages_expire_the_consent_ledger_stays(stack: Stack) -> None:
    def text(org: str, message_id: str, at: datetime) -> None:
        stack.sms.add_message(
            ThreadMessage(org, "c-ada", message_id, MessageDirection.INBOUND, "hello", "+14155550100", at)
        )

    for n in range(5):
        text("org-a", f"old-{n}", NOW - timedelta(days=800 + n))
    text("org-a", "fresh", NOW - timedelta(days=5))
    ledger = {
        "pk": {"S": "ORG#org-a#CONSENT#+14155550100"},
        "sk": {"S": "AT#1"},
        "status": {"S": "opted_out"},
    }
    boto3.client("dynamodb").put_item(TableName=stack.sms_table, Item=ledger)

    assert stack.service(page=2).run() == {"org-a": {"sms": 5}}
    thread = boto3.client("dynamodb").query(
        TableName=stack.sms_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ORG#org-a#THREAD#c-ada"}},
    )["Items"]
    assert [item["message_id"]["S"] for item in thread] == ["fresh"]
    key = {"pk": ledger["pk"], "sk": ledger["sk"]}
    assert "Item" in boto3.client("dynamodb").get_item(TableName=stack.sms_table, Key=key)


def test_export_files_go_with_every_version_after_the_orgs_period(
    stack: Stack, aws_stack: dict[str, Physical]
) -> None:
    """S3 dates its objects itself (now): the purge runs five days ahead, past org-b's 3 days and
    within the 8 days org-a keeps."""
    bucket = aws_stack["ExportsBucket"].ref
    s3 = boto3.client("s3")
    for org in ("org-a", "org-b"):
        for name in ("staging/contacts.csv", "r1.zip"):
            s3.put_object(Bucket=bucket, Key=f"exports/{org}/r1/{name}", Body=b"v1")
            s3.put_object(Bucket=bucket, Key=f"exports/{org}/r1/{name}", Body=b"v2")
    DynamoOrgSettingsStore(aws.dynamodb(), stack.contacts_table).put("org-b", None, {"export_staging": 3})
    later = datetime.now(UTC) + timedelta(days=5)
    service = RetentionService(
        [ExportStagingExpiry(aws.s3(), bucket)],
        DynamoOrgSettings(aws.dynamodb(), stack.contacts_table, "US"),
        AuditedRetention(stack.audit),
        clock=lambda: later,
        page=1,
    )
    assert service.run() == {"org-a": {"export_staging": 0}, "org-b": {"export_staging": 2}}

    def versions(org: str) -> int:
        page = s3.list_object_versions(Bucket=bucket, Prefix=f"exports/{org}/")
        return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))

    assert versions("org-a") == 4
    assert versions("org-b") == 0


def test_closed_requests_go_36_months_after_closing_open_ones_stay(stack: Stack) -> None:
    store = DynamoRequestStore(aws.dynamodb(), stack.dsar_table)

    def request(request_id: str, created: datetime, closed: datetime | None) -> None:
        new = DsarRequest(
            "org-a",
            request_id,
            RequestType.ACCESS,
            Status.VERIFIED,
            Deadline(Jurisdiction.GDPR, created.date()),
            Identifiers(email="ada@example.com"),
            created,
            "staff-1",
        )
        store.create(new, None, None)
        if closed is not None:
            store.save(new, new.with_status(Status.COMPLETED, closed))

    request("old", NOW - timedelta(days=1200), NOW - timedelta(days=1190))  # closed 39 months ago
    request("recent", NOW - timedelta(days=400), NOW - timedelta(days=390))
    request("open", NOW - timedelta(days=1200), None)  # never closed: never purged
    marker = {"pk": {"S": "ORG#org-a#REQ#old"}, "sk": {"S": "ONCE#confirmation"}}
    boto3.client("dynamodb").put_item(TableName=stack.dsar_table, Item=marker)

    service = RetentionService(
        [ClosedRequestExpiry(aws.dynamodb(), stack.dsar_table)],
        DynamoOrgSettings(aws.dynamodb(), stack.contacts_table, "US"),
        AuditedRetention(stack.audit),
        clock=lambda: NOW,
    )
    assert service.run() == {"org-a": {"dsar_requests": 1}}
    assert store.get("org-a", "old") is None
    assert store.get("org-a", "recent") is not None
    assert store.get("org-a", "open") is not None
    assert "Item" not in boto3.client("dynamodb").get_item(TableName=stack.dsar_table, Key=marker)
    entries = list(stack.audit.entries("org-a"))  # the audit chain stays and records the purge
    assert [dict(e.detail) for e in entries] == [{"dsar_requests": 1}]


def test_untouched_contacts_go_only_where_the_org_opted_in(stack: Stack) -> None:
    contacts = DynamoContactStore(aws.dynamodb(), stack.contacts_table)
    old, fresh = NOW - timedelta(days=800), NOW - timedelta(days=30)

    def contact(org: str, contact_id: str, touched: datetime, phone: str) -> Contact:
        return Contact(
            contact_id, org, "Ada", ContactType.CUSTOMER, "rep-1", touched, touched,
            emails=(f"{contact_id}@example.com",), phones=(Phone(phone, phone),),
        )  # fmt: skip

    assert all(
        contacts.create(
            [
                contact("org-a", "a" * 32, old, "+14155550100"),
                contact("org-a", "b" * 32, fresh, "+14155550101"),
                contact("org-b", "c" * 32, old, "+14155550102"),  # org-b never opted in
            ]
        )
    )
    settings = DynamoOrgSettingsStore(aws.dynamodb(), stack.contacts_table)
    settings.put("org-a", None, {"contacts": 12})
    service = RetentionService(
        [UntouchedContactExpiry(aws.dynamodb(), stack.contacts_table)],
        DynamoOrgSettings(aws.dynamodb(), stack.contacts_table, "US"),
        AuditedRetention(stack.audit),
        clock=lambda: NOW,
    )
    assert service.run() == {"org-a": {"contacts": 1}}
    assert contacts.get("org-a", "a" * 32) is None
    assert (
        contacts.lookup_by_phones("org-a", ["+14155550100"]).get("+14155550100", frozenset()) == frozenset()
    )
    assert contacts.get("org-a", "b" * 32) is not None
    assert contacts.get("org-b", "c" * 32) is not None

    settings.put("org-a", None, {})  # opted out again: the registry still names the org, nothing goes
    contacts.create([contact("org-a", "d" * 32, old, "+14155550103")])
    assert service.run() == {}
    assert contacts.get("org-a", "d" * 32) is not None


def test_connecting_a_mailbox_puts_the_org_in_the_mail_registry_for_good(stack: Stack) -> None:
    """Mail outlives its mailbox (removing the integration may keep it): the org stays registered."""
    integrations = DynamoIntegrationStore(aws.dynamodb(), stack.mail_table)
    mailbox = Integration(
        "org-m", "rep-1", "rep@example.com", IntegrationStatus.ACTIVE, 1, 0, NOW.isoformat()
    )
    integrations.connect(mailbox, SealedToken(b"c", b"n", b"k"))
    integrations.delete(mailbox)
    expiry = MailExpiry(aws.dynamodb(), stack.mail_table, stack.blobs)
    assert list(expiry.orgs()) == ["org-m"]
