"""The erasure property across every deployed store, on moto with the template's functions: seed
several subjects of one org (contacts, calls, SMS ledger, synced mail), erase one through the public
confirmation and the erasure workflow's steps in the state machine's order; then the erased subject
has zero residue, every other subject's data is intact, and the erased number's SMS opt-out still
blocks a send to a contact a rep re-creates with it."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.ses.models import ses_backends

from callproof import aws
from callproof.mail.model import EmailQuery, EmailRecord, email_id, object_key
from callproof.sms.model import ConsentEntry, ConsentStatus, SmsConsentSource
from callproof.store.calls_dynamo import DynamoCallLogStore
from callproof.store.mail_bodies_s3 import S3MailBlobs
from callproof.store.mail_index_dynamo import DynamoMailIndex
from callproof.store.sms_dynamo import DynamoSmsStore
from callproof_local.template import Physical
from tests.dsar_fakes import run_workflow
from tests.integration.conftest import Invoke
from tests.support import api_event, form_event


@dataclass(frozen=True)
class Person:
    email: str
    phone: str
    calls: int
    mails: int
    opted_out: bool


@pytest.fixture
def stack(call: Invoke, aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("DSAR_PUBLIC_BASE_URL", "https://api.example/dev")
    aws.ses().verify_email_identity(EmailAddress="privacy@callproof.example")
    return call


class Org:
    def __init__(self, call: Invoke, physical: dict[str, Physical]) -> None:
        self.call = call
        self.physical = physical
        self.id = f"org-{uuid.uuid4().hex[:8]}"
        self.contacts: dict[str, str] = {}
        self.index: dict[str, int] = {}

    def api(
        self, function: str, method: str, path: str, body: Any = None, resource: str | None = None
    ) -> Any:
        event = api_event(
            method, path, resource=resource, body=body, org=self.id, user="u1", roles="rep,admin,compliance"
        )
        status, answer = self.call(function, event)
        assert status < 300, (status, answer)
        return answer

    def seed(self, person: Person, index: int) -> None:
        contact = {
            "name": f"P{index}",
            "type": "customer",
            "emails": [person.email],
            "phones": [person.phone],
        }
        self.contacts[person.email] = self.api("ContactsFunction", "POST", "/v1/contacts", contact)["id"]
        self.index[person.email] = index
        entries = [
            {
                "client_id": str(uuid.uuid4()),
                "phone_number": person.phone,
                "direction": "inbound",
                "started_at": "2026-11-27T10:00:00+00:00",
                "duration_seconds": 30,
                "device_id": "phone-1",
            }
            for _ in range(person.calls)
        ]
        if entries:
            result = self.api("CallLogsFunction", "POST", "/v1/call-logs", {"entries": entries})
            assert {r["status"] for r in result["results"]} == {"stored"}
        sms = DynamoSmsStore(aws.dynamodb(), self.physical["SmsTable"].ref)
        status = ConsentStatus.OPTED_OUT if person.opted_out else ConsentStatus.OPTED_IN
        sms.append_consent(
            ConsentEntry(
                org_id=self.id,
                e164=person.phone,
                entry_id=uuid.uuid4().hex,
                status=status,
                source=SmsConsentSource.KEYWORD,
                at=_now(),
            )
        )
        mail_index = DynamoMailIndex(aws.dynamodb(), self.physical["MailTable"].ref)
        blobs = S3MailBlobs(aws.s3(), self.physical["DataBucket"].ref)
        for n in range(person.mails):
            gmail_id = f"g{index}x{n}"
            key = object_key(self.id, "u1", gmail_id)
            blobs.put(
                key,
                json.dumps(
                    {"gmail_id": gmail_id, "headers": [["From", person.email]], "text": "hi"}
                ).encode(),
            )
            record = EmailRecord(
                self.id,
                email_id("u1", gmail_id),
                "u1",
                gmail_id,
                "t",
                1_764_000_000_000 + n,
                "s",
                person.email,
                (self.contacts[person.email],),
                key,
            )
            assert mail_index.put(record)

    def footprint(self, person: Person) -> tuple[int, int, int, int, int]:
        """(contacts, calls, SMS ledger entries, mail messages, mail body versions) of the person,
        read through every path: lookups, the calls' number and contact indexes, the mail links."""
        found = self.api(
            "ContactsFunction",
            "POST",
            "/v1/contacts/lookup",
            {"emails": [person.email], "phones": [person.phone]},
        )
        contact_ids = {
            c["id"] for c in [*found["emails"].get(person.email, []), *found["phones"].get(person.phone, [])]
        }
        seeded = self.contacts[person.email]
        calls = DynamoCallLogStore(aws.dynamodb(), self.physical["CallLogsTable"].ref)
        call_ids = {c.id for c in calls.with_number(self.id, person.phone)}
        call_ids |= {c.id for c in calls.list_by_contact(self.id, seeded, 100, None).calls}
        ledger = DynamoSmsStore(aws.dynamodb(), self.physical["SmsTable"].ref).consent_history(
            self.id, person.phone, 100
        )
        mail = DynamoMailIndex(aws.dynamodb(), self.physical["MailTable"].ref).search(
            self.id, EmailQuery(contact_id=seeded), 100, None
        )
        prefix = f"orgs/{self.id}/mail/u1/g{self.index[person.email]}x"
        versions = aws.s3().list_object_versions(Bucket=self.physical["DataBucket"].ref, Prefix=prefix)
        bodies = len(versions.get("Versions", [])) + len(versions.get("DeleteMarkers", []))
        return len(contact_ids), len(call_ids), len(ledger), len(mail.emails), bodies

    def erase(self, person: Person) -> dict[str, Any]:
        request = {
            "type": "erasure",
            "subject": {"email": person.email},
            "jurisdiction": "gdpr",
            "received": "2026-11-20",
            "verification": "checked",
        }
        created = self.api("DsarFunction", "POST", "/v1/dsar/requests", request)
        mail = [
            m
            for m in ses_backends["123456789012"]["us-east-1"].sent_messages
            if person.email in str(m.destinations)
        ][-1]
        token = re.findall(r"token=(\S+)", mail.body)[0]
        raw = self.call.raw  # type: ignore[attr-defined]
        confirmed = raw("DsarPagesFunction", form_event("/privacy/confirm", {}, query={"token": token}))
        assert confirmed["statusCode"] == 200, confirmed["body"]
        end = run_workflow(
            lambda payload: raw("DsarTasksFunction", payload), "erasure", self.id, created["id"], 1
        )
        assert end == "Finish"
        path = f"/v1/dsar/requests/{created['id']}"
        return dict(self.api("DsarFunction", "GET", path, resource="/v1/dsar/requests/{request_id}"))


def _now() -> datetime:
    return datetime.now(UTC)


people = st.lists(
    st.builds(
        Person,
        email=st.just(""),
        phone=st.just(""),
        calls=st.integers(1, 3),
        mails=st.integers(1, 3),
        opted_out=st.booleans(),
    ),
    min_size=2,
    max_size=4,
)


@settings(
    max_examples=12,  # about 3 s each on moto
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people, st.data())
def test_erasing_one_subject_leaves_no_residue_and_everyone_else_intact(
    stack: Invoke, aws_stack: dict[str, Physical], drafts: list[Person], data: st.DataObject
) -> None:
    org = Org(stack, aws_stack)
    org.api(
        "CallLogsFunction",
        "PUT",
        "/v1/devices/phone-1",
        {"device_type": "phone", "os_name": "iOS", "os_version": "18", "app_version": "1", "country": "US"},
        resource="/v1/devices/{device_id}",
    )
    persons = [
        Person(
            f"p{i}-{uuid.uuid4().hex[:4]}@example.com",
            f"+1415555{i + 110:04d}",
            p.calls,
            p.mails,
            p.opted_out,
        )
        for i, p in enumerate(drafts)
    ]
    for i, person in enumerate(persons):
        org.seed(person, i)
    before = {p.email: org.footprint(p) for p in persons}
    target = data.draw(st.sampled_from(persons))
    assert before[target.email][0] == 1
    assert before[target.email][2] == 1

    request = org.erase(target)

    assert request["status"] == "completed", request
    assert all(store["residue"] == 0 for store in request["stores"].values()), request["stores"]
    assert org.footprint(target) == (0, 0, 0, 0, 0)
    for person in persons:
        if person is not target:
            assert org.footprint(person) == before[person.email]
    again = org.api(
        "ContactsFunction",
        "POST",
        "/v1/contacts",
        {"name": "Again", "type": "customer", "phones": [target.phone]},
    )["id"]
    sent = stack(
        "SmsFunction",
        api_event(
            "POST",
            "/v1/sms/messages",
            body={"contact_id": again, "body": "Hi"},
            org=org.id,
            user="u1",
            roles="rep,admin",
        ),
    )
    # The erased number is never texted again, opted out or not, until the person opts in anew; an
    # opt-out answers as an opt-out.
    assert sent[0] == 409, sent
