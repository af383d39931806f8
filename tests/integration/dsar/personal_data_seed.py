"""Two subjects of org-a and a look-alike in org-b, seeded with the real adapters on moto (shared by the
DSAR store tests of contacts, call logs, devices and SMS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from callproof import aws
from callproof.calls.model import CallLog, Device, Direction, Match, MatchStatus
from callproof.calls.numbers import NumberKind
from callproof.contacts.model import Contact, ContactType
from callproof.dsar.model import Subject
from callproof.phones import Phone
from callproof.sms.model import ConsentEntry, ConsentStatus, SmsConsentSource, ThreadMessage
from callproof.sms.model import MessageDirection as SmsDirection
from callproof.store.calls_dynamo import DynamoCallLogStore, DynamoDeviceStore
from callproof.store.contacts_dynamo import DynamoContactStore
from callproof.store.sms_dynamo import DynamoSmsStore
from callproof_local.template import Physical

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ADA_ID, BOB_ID, ADA_B_ID = "a" * 32, "b" * 32, "c" * 32
ADA_PHONE, SHARED_PHONE, BOB_PHONE = "+14155550100", "+14155550199", "+14155550200"

ADA = Subject(
    org_id="org-a",
    emails=frozenset({"ada@x.io"}),
    phones=frozenset({ADA_PHONE, SHARED_PHONE}),
    contact_ids=frozenset({ADA_ID}),
    user_ids=frozenset({"u-ada"}),
)
BOB = Subject(
    org_id="org-a",
    emails=frozenset({"bob@x.io"}),
    phones=frozenset({BOB_PHONE, SHARED_PHONE}),
    contact_ids=frozenset({BOB_ID}),
    user_ids=frozenset({"u-bob"}),
)
ADA_IN_ORG_B = Subject(
    org_id="org-b",
    emails=frozenset({"ada@x.io"}),
    phones=frozenset({ADA_PHONE}),
    contact_ids=frozenset({ADA_B_ID}),
    user_ids=frozenset({"u-ada"}),
)


@dataclass(frozen=True)
class Tables:
    contacts: str
    call_logs: str
    sms: str


def tables(stack: dict[str, Physical]) -> Tables:
    return Tables(stack["ContactsTable"].ref, stack["CallLogsTable"].ref, stack["SmsTable"].ref)


def person(contact_id: str, org: str, name: str, email: str, *phones: str) -> Contact:
    return Contact(
        id=contact_id,
        org_id=org,
        name=name,
        type=ContactType.CUSTOMER,
        owner_user_id="rep-1",
        created_at=NOW,
        updated_at=NOW,
        emails=(email,),
        phones=tuple(Phone(e164, e164) for e164 in phones),
    )


def call(n: int, org: str, user: str, e164: str, *matched: str) -> CallLog:
    status = {0: MatchStatus.NONE, 1: MatchStatus.UNIQUE}.get(len(matched), MatchStatus.AMBIGUOUS)
    return CallLog(
        org_id=org,
        id=f"00000000-0000-4000-8000-{n:012d}",
        user_id=user,
        device_id=f"dev-{user}",
        direction=Direction.OUTBOUND,
        started_at=NOW - timedelta(minutes=n),
        duration_seconds=60 + n,
        raw_number=e164,
        number_kind=NumberKind.PHONE,
        match=Match(status, tuple(sorted(matched))),
        content_hash=f"h{n}",
        received_at=NOW,
        e164=e164,
    )


def device(org: str, user: str) -> Device:
    return Device(
        org_id=org,
        id=f"dev-{user}",
        user_id=user,
        device_type="phone",
        os_name="Android",
        os_version="15",
        app_version="4.2.0",
        updated_at=NOW,
        location={"lat": 1.5, "lon": 2.5},
    )


def consent(org: str, e164: str, status: ConsentStatus, n: int) -> ConsentEntry:
    return ConsentEntry(
        org, e164, status, SmsConsentSource.KEYWORD, NOW + timedelta(seconds=n), f"{n:015x}00000000"
    )


def text(org: str, contact_id: str, e164: str, n: int) -> ThreadMessage:
    return ThreadMessage(
        org,
        contact_id,
        f"{n:015x}00000000",
        SmsDirection.INBOUND,
        f"hello {n}",
        e164,
        NOW + timedelta(seconds=n),
    )


def seed(stack: dict[str, Physical]) -> Tables:
    t = tables(stack)
    client = aws.dynamodb()
    contacts = DynamoContactStore(client, t.contacts)
    assert contacts.create(
        [
            person(ADA_ID, "org-a", "Ada", "ada@x.io", ADA_PHONE, SHARED_PHONE),
            person(BOB_ID, "org-a", "Bob", "bob@x.io", BOB_PHONE, SHARED_PHONE),
            person(ADA_B_ID, "org-b", "Ada", "ada@x.io", ADA_PHONE),
        ]
    ) == [True, True, True]
    calls = DynamoCallLogStore(client, t.call_logs)
    assert not calls.put_many(
        [
            call(1, "org-a", "rep-1", ADA_PHONE, ADA_ID),  # about Ada
            call(2, "org-a", "rep-1", SHARED_PHONE, ADA_ID, BOB_ID),  # the shared number
            call(3, "org-a", "rep-1", BOB_PHONE, BOB_ID),  # about Bob
            call(4, "org-a", "u-ada", BOB_PHONE, BOB_ID),  # Ada as a rep, about Bob: kept
            call(5, "org-a", "u-ada", ADA_PHONE, ADA_ID),  # Ada as a rep, about herself: deleted
            call(6, "org-b", "rep-1", ADA_PHONE, ADA_B_ID),  # another org
        ]
    )
    devices = DynamoDeviceStore(client, t.call_logs)
    for org, user in (("org-a", "u-ada"), ("org-a", "u-bob"), ("org-b", "u-ada")):
        devices.put(device(org, user))
    sms = DynamoSmsStore(client, t.sms)
    for entry in (
        consent("org-a", ADA_PHONE, ConsentStatus.OPTED_IN, 1),
        consent("org-a", ADA_PHONE, ConsentStatus.OPTED_OUT, 2),
        consent("org-a", SHARED_PHONE, ConsentStatus.OPTED_IN, 3),
        consent("org-a", BOB_PHONE, ConsentStatus.OPTED_OUT, 4),
        consent("org-b", ADA_PHONE, ConsentStatus.OPTED_OUT, 5),
    ):
        sms.append_consent(entry)
    for message in (
        text("org-a", ADA_ID, ADA_PHONE, 10),
        text("org-a", ADA_ID, SHARED_PHONE, 11),
        text("org-a", BOB_ID, BOB_PHONE, 12),
        text("org-b", ADA_B_ID, ADA_PHONE, 13),
    ):
        sms.add_message(message)
    return t


def table_items(table: str) -> list[dict[str, Any]]:
    """Test-only full read, to compare everything outside the erased subject before and after."""
    return sorted(
        boto3.client("dynamodb").scan(TableName=table)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"])
    )
