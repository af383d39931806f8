"""DSAR consumers on fakes: restricted contacts are absent to call matching (ingest and re-match),
suppressed rows are skipped by imports, and suppressed numbers are refused by the SMS gate."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callproof.calls.model import DeviceIn, MatchStatus
from callproof.calls.service import CallLogService, numbers_to_rematch
from callproof.contacts.importer import ContactImporter
from callproof.contacts.model import Contact, ContactIn, ContactType
from callproof.contacts.service import ContactService
from callproof.errors import SendRefused
from callproof.phones import Phone
from callproof.sms.model import ConsentStatus, InboundSms, Recipient, SendersIn, SendIn
from callproof.sms.service import SmsService
from callproof.tenancy import Caller, Role
from tests.fakes import (
    FakeContactLookup,
    FakeRecipients,
    FakeSmsGateway,
    FixedOrgSettings,
    InMemoryCallLogStore,
    InMemoryConsentStore,
    InMemoryContactStore,
    InMemoryDeviceStore,
    InMemorySmsStore,
    InMemorySuppression,
)

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
ADMIN = Caller("org-a", "admin-1", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ADA, TWILIO = "+14155550100", "+15005550006"


# ------------------------------------------------------------------------------------ call matching
@pytest.fixture
def call_logs(store: InMemoryContactStore) -> tuple[CallLogService, InMemoryCallLogStore]:
    calls = InMemoryCallLogStore()
    service = CallLogService(
        calls,
        InMemoryDeviceStore(),
        store,
        FixedOrgSettings(),
        geolocation=InMemoryConsentStore(),
        clock=lambda: NOW,
    )
    service.register_device(
        REP, "pixel-1", DeviceIn(device_type="phone", os_name="iOS", os_version="18", app_version="1")
    )
    return service, calls


def add(service: ContactService, name: str) -> Contact:
    return service.create(REP, ContactIn(name=name, type="customer", phones=[ADA]))


def upload(service: CallLogService) -> MatchStatus:
    entry = {
        "client_id": str(uuid.uuid4()),
        "phone_number": ADA,
        "direction": "inbound",
        "started_at": "2026-11-27T09:30:00Z",
        "duration_seconds": 60,
        "device_id": "pixel-1",
    }
    (result,) = service.ingest(REP, [entry])
    assert result.match is not None
    return result.match.status


def test_a_restricted_contact_is_absent_to_call_matching(
    call_logs: tuple[CallLogService, InMemoryCallLogStore],
    service: ContactService,
    store: InMemoryContactStore,
) -> None:
    calls, _ = call_logs
    ada = add(service, "Ada")
    twin = add(service, "Twin")
    assert upload(calls) is MatchStatus.AMBIGUOUS
    store.set_restricted("org-a", [ada.id], True)
    assert upload(calls) is MatchStatus.UNIQUE
    store.set_restricted("org-a", [twin.id], True)
    assert upload(calls) is MatchStatus.NONE


def test_rematch_unlinks_earlier_calls_of_a_restricted_contact(
    call_logs: tuple[CallLogService, InMemoryCallLogStore],
    service: ContactService,
    store: InMemoryContactStore,
) -> None:
    calls, stored = call_logs
    ada = add(service, "Ada")
    assert upload(calls) is MatchStatus.UNIQUE
    old = store.get("org-a", ada.id)
    store.set_restricted("org-a", [ada.id], True)
    new = store.get("org-a", ada.id)
    assert numbers_to_rematch(old, new) == {ADA}
    assert calls.rematch("org-a", numbers_to_rematch(old, new)) == 1
    assert [call.match.status for call in stored.calls.values()] == [MatchStatus.NONE]
    store.set_restricted("org-a", [ada.id], False)
    assert calls.rematch("org-a", numbers_to_rematch(new, store.get("org-a", ada.id))) == 1  # matched again
    assert [call.match.contact_ids for call in stored.calls.values()] == [(ada.id,)]


@given(before=st.booleans(), after=st.booleans())
def test_numbers_to_rematch_change_exactly_when_the_flag_changes(before: bool, after: bool) -> None:
    contact = Contact("c", "org-a", "Ada", ContactType.CUSTOMER, "rep-1", NOW, NOW, phones=(Phone(ADA, ADA),))
    old = replace(contact, restricted=before)
    new = replace(old, restricted=after)
    assert numbers_to_rematch(old, new) == ({ADA} if before != after else set())


# ------------------------------------------------------------------------------------------ imports
def test_import_skips_rows_naming_a_suppressed_value(
    store: InMemoryContactStore, orgs: FixedOrgSettings, service: ContactService
) -> None:
    suppression = InMemorySuppression()
    suppression.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA}), frozenset())
    importer = ContactImporter(store, orgs, service, suppression)
    text = "name,email,phone\nAda,ADA@x.io,\nAda again,other@x.io,415 555 0100\nBob,bob@x.io,\n"

    report = importer.run(REP, text)

    assert [(row.line, row.status.value, row.field, row.reason) for row in report.rows] == [
        (2, "suppressed", None, None),
        (3, "suppressed", None, None),
        (4, "created", None, None),
    ]
    assert [c.name for c in store.contacts.values()] == ["Bob"]
    assert (
        ContactImporter(store, orgs, service, suppression)
        .run(Caller("org-b", "rep-1", frozenset({Role.REP})), "name,email\nAda,ada@x.io\n")
        .counts()["created"]
        == 1
    )


# -------------------------------------------------------------------------------------- SMS gate
class Gate:
    def __init__(self, suppression: InMemorySuppression | None) -> None:
        self.store = InMemorySmsStore()
        self.gateway = FakeSmsGateway()
        recipients = FakeRecipients()
        ids = count(1)
        recipients.add("org-a", Recipient("c-ada", "customer", (ADA,)))
        self.service = SmsService(
            self.store, FakeContactLookup(), recipients, FixedOrgSettings(), lambda: self.gateway,
            lambda: b"k" * 32, public_base_url=None, default_daily_cap=10, suppression=suppression,
            clock=lambda: NOW, new_id=lambda _: f"{next(ids):020d}",
        )  # fmt: skip
        self.service.set_senders(ADMIN, SendersIn(phone_numbers=[TWILIO]))

    def send(self) -> str:
        try:
            self.service.send(REP, SendIn(contact_id="c-ada", body="hi"))
        except SendRefused as exc:
            return exc.code
        return "sent"

    def keyword(self, word: str, n: int) -> None:
        self.service.receive(InboundSms(f"SM{n:032x}", ADA, TWILIO, word))


def test_a_suppressed_number_is_refused_as_an_opt_out_until_it_opts_in_again() -> None:
    suppression = InMemorySuppression()
    gate = Gate(suppression)
    assert gate.send() == "sent"
    suppression.suppress("org-a", frozenset(), frozenset({ADA}), frozenset({ADA}))
    assert gate.send() == "opted_out"  # the ledger is empty after the erasure: the list decides
    gate.keyword("START", 1)
    assert gate.service.status_of("org-a", ADA) is ConsentStatus.OPTED_IN
    assert gate.send() == "sent"
    gate.keyword("STOP", 2)
    assert gate.send() == "opted_out"
    assert len(gate.gateway.sent) == 2


def test_without_a_suppression_list_the_gate_is_unchanged() -> None:
    assert Gate(None).send() == "sent"
