import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callproof.accounts.model import ConsentRecord, ConsentSource, Purpose
from callproof.calls.model import DeviceIn, EntryStatus, MatchStatus
from callproof.calls.service import CallLogService
from callproof.contacts.model import ContactIn
from callproof.contacts.service import ContactService
from callproof.errors import Conflict, Forbidden, InvalidInput, NotFound
from callproof.tenancy import Caller, Role
from tests.fakes import (
    FixedOrgSettings,
    InMemoryCallLogStore,
    InMemoryConsentStore,
    InMemoryContactStore,
    InMemoryDeviceStore,
)

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
OTHER_REP = Caller("org-a", "rep-2", frozenset({Role.REP}))
ADMIN = Caller("org-a", "admin-1", frozenset({Role.ADMIN}))
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
PHONE = DeviceIn(device_type="phone", os_name="Android", os_version="15", app_version="4.2.0")


@pytest.fixture
def calls() -> InMemoryCallLogStore:
    return InMemoryCallLogStore()


@pytest.fixture
def devices() -> InMemoryDeviceStore:
    return InMemoryDeviceStore()


@pytest.fixture
def call_logs(
    calls: InMemoryCallLogStore,
    devices: InMemoryDeviceStore,
    store: InMemoryContactStore,
    orgs: FixedOrgSettings,
) -> CallLogService:
    service = CallLogService(
        calls, devices, store, orgs, geolocation=InMemoryConsentStore(), clock=lambda: NOW
    )
    service.register_device(REP, "pixel-1", PHONE)
    service.register_device(OTHER_REP, "iphone-2", PHONE)
    return service


def entry(number: str = "+1 415 555 0100", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "phone_number": number,
        "direction": "outbound",
        "started_at": "2026-11-27T09:30:00-05:00",
        "duration_seconds": 125,
        "device_id": "pixel-1",
        "metadata": {"sim_slot": 1, "app_version": "4.2.0"},
    }
    fields.update(overrides)
    return fields


def test_each_entry_gets_a_result_in_order_and_good_ones_are_stored(
    call_logs: CallLogService, calls: InMemoryCallLogStore
) -> None:
    batch = [entry(), entry(duration_seconds=-1), entry(direction="sideways"), entry("12"), entry("72345")]
    results = call_logs.ingest(REP, batch)
    assert [r.status for r in results] == [
        EntryStatus.STORED,
        EntryStatus.REJECTED,
        EntryStatus.REJECTED,
        EntryStatus.REJECTED,
        EntryStatus.STORED,
    ]
    assert [r.field for r in results[1:4]] == ["duration_seconds", "direction", "phone_number"]
    assert results[4].match is not None
    assert results[4].match.status is MatchStatus.UNMATCHABLE
    assert len(calls.calls) == 2
    assert calls.registered_orgs == {"org-a"}


def test_uploading_the_same_batch_three_times_stores_each_call_once(
    call_logs: CallLogService, calls: InMemoryCallLogStore
) -> None:
    batch = [entry(), entry("+1 202 555 0143")]
    first = call_logs.ingest(REP, batch)
    again = [call_logs.ingest(REP, batch) for _ in range(2)]
    assert [r.status for r in first] == [EntryStatus.STORED] * 2
    assert all(r.status is EntryStatus.DUPLICATE for results in again for r in results)
    assert len(calls.calls) == 2


def test_same_client_id_with_other_content_is_a_conflict_and_changes_nothing(
    call_logs: CallLogService, calls: InMemoryCallLogStore
) -> None:
    original = entry()
    call_logs.ingest(REP, [original])
    stored = dict(calls.calls)
    results = call_logs.ingest(REP, [{**original, "duration_seconds": 999}])
    assert results[0].status is EntryStatus.CONFLICT
    assert calls.calls == stored


def test_a_duplicate_answers_the_match_its_call_was_stored_with(
    call_logs: CallLogService, store: InMemoryContactStore, orgs: FixedOrgSettings
) -> None:
    """A phone that retries an upload must see the same match as the first time (the call shows
    beside the same contact), not a blank one."""
    ada = ContactService(store, orgs).create(
        REP, ContactIn(name="Ada", type="customer", phones=["+1 415 555 0100"])
    )
    one = entry()
    [first] = call_logs.ingest(REP, [one])
    [again] = call_logs.ingest(REP, [one])
    assert again.status is EntryStatus.DUPLICATE
    assert again.match == first.match
    assert again.match is not None
    assert again.match.status is MatchStatus.UNIQUE
    assert again.match.contact_ids == (ada.id,)


def test_repeats_inside_one_batch_are_duplicate_or_conflict(call_logs: CallLogService) -> None:
    one = entry()
    results = call_logs.ingest(REP, [one, one, {**one, "direction": "inbound"}])
    assert [r.status for r in results] == [EntryStatus.STORED, EntryStatus.DUPLICATE, EntryStatus.CONFLICT]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"started_at": "2026-11-27T09:30:00"}, "started_at"),
        ({"started_at": (NOW + timedelta(days=400)).isoformat()}, "started_at"),
        ({"duration_seconds": 86_401}, "duration_seconds"),
        ({"metadata": {"blob": "x" * 3000}}, "metadata"),
        ({"metadata": {f"k{i}": i for i in range(30)}}, "metadata"),
        ({"metadata": {"nested": {"a": 1}}}, "metadata.nested"),
        ({"device_id": "iphone-2"}, "device_id"),
        ({"device_id": "never-registered"}, "device_id"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_entries_are_rejected_naming_the_field(
    call_logs: CallLogService, calls: InMemoryCallLogStore, overrides: dict[str, Any], field: str
) -> None:
    (result,) = call_logs.ingest(REP, [entry(**overrides)])
    assert result.status is EntryStatus.REJECTED
    assert (result.field or "").startswith(field)
    assert calls.calls == {}


def test_oversized_batch_is_refused_whole(call_logs: CallLogService) -> None:
    with pytest.raises(InvalidInput):
        call_logs.ingest(REP, [entry() for _ in range(1001)])


def test_matching_none_unique_ambiguous_and_lookups_batched(
    call_logs: CallLogService, service: ContactService, store: InMemoryContactStore
) -> None:
    ada = service.create(REP, ContactIn(name="Ada", type="customer", phones=["+1 415 555 0100"]))
    desk = [
        service.create(REP, ContactIn(name=f"Desk {i}", type="customer", phones=["+1 202 555 0143"]))
        for i in range(2)
    ]
    numbers = ["(415) 555-0100", "+1 202 555 0143", "+1 303 555 0123"] + [
        f"+1 212 555 {i:04d}" for i in range(250)
    ]
    results = call_logs.ingest(REP, [entry(n) for n in numbers])
    matches = [r.match for r in results]
    assert matches[0] is not None
    assert (matches[0].status, matches[0].contact_ids) == (MatchStatus.UNIQUE, (ada.id,))
    assert matches[1] is not None
    assert matches[1].status is MatchStatus.AMBIGUOUS
    assert set(matches[1].contact_ids) == {c.id for c in desk}
    assert matches[2] is not None
    assert matches[2].status is MatchStatus.NONE
    assert store.lookup_calls == [100, 100, 53]  # 253 distinct numbers: one lookup per 100


def test_device_country_is_the_hint_for_national_numbers(
    call_logs: CallLogService, calls: InMemoryCallLogStore
) -> None:
    call_logs.register_device(REP, "paris-1", PHONE.model_copy(update={"country": "FR"}))
    (result,) = call_logs.ingest(REP, [entry("06 12 34 56 78", device_id="paris-1")])
    assert result.status is EntryStatus.STORED
    stored = calls.calls[("org-a", result.call_id or "")]
    assert (stored.e164, stored.raw_number) == ("+33612345678", "06 12 34 56 78")


def test_entries_the_database_would_not_take_are_reported_not_lost(
    call_logs: CallLogService, calls: InMemoryCallLogStore
) -> None:
    batch = [entry(), entry()]
    calls.unwritable_ids = {batch[1]["client_id"]}
    results = call_logs.ingest(REP, batch)
    assert [r.status for r in results] == [EntryStatus.STORED, EntryStatus.REJECTED]
    assert "upload this entry again" in (results[1].reason or "")
    calls.unwritable_ids = set()
    assert call_logs.ingest(REP, batch)[1].status is EntryStatus.STORED


def test_rematch_after_a_contact_gains_the_number(
    call_logs: CallLogService, service: ContactService, calls: InMemoryCallLogStore
) -> None:
    (result,) = call_logs.ingest(REP, [entry("+1 303 555 0123")])
    contact = service.create(REP, ContactIn(name="Late", type="customer", phones=["+1 303 555 0123"]))
    assert call_logs.rematch("org-a", {"+13035550123"}) == 1
    stored = calls.calls[("org-a", result.call_id or "")]
    assert stored.match.contact_id == contact.id
    assert call_logs.rematch("org-a", {"+13035550123"}) == 0  # nothing left to change


def test_reading_and_deleting_respect_owner_and_admin(call_logs: CallLogService) -> None:
    (mine,) = call_logs.ingest(REP, [entry()])
    assert [c.id for c in call_logs.list_for_user(REP, "me", 10, None).calls] == [mine.call_id]
    with pytest.raises(Forbidden):
        call_logs.list_for_user(OTHER_REP, "rep-1", 10, None)
    assert len(call_logs.list_for_user(ADMIN, "rep-1", 10, None).calls) == 1
    with pytest.raises(Forbidden):
        call_logs.delete(OTHER_REP, mine.call_id or "")
    with pytest.raises(NotFound):
        call_logs.delete(Caller("org-b", "rep-1", frozenset({Role.ADMIN})), mine.call_id or "")
    call_logs.delete(ADMIN, mine.call_id or "")
    assert call_logs.list_for_user(REP, "me", 10, None).calls == []


def geolocation(consents: InMemoryConsentStore, granted: bool, n: int) -> None:
    consents.append(
        ConsentRecord("org-a", REP.user_id, Purpose.GEOLOCATION, granted, NOW, ConsentSource.API, f"g{n}")
    )


def test_devices_keep_location_only_with_the_phones_and_the_users_consent(
    calls: InMemoryCallLogStore, devices: InMemoryDeviceStore, store: InMemoryContactStore
) -> None:
    consents = InMemoryConsentStore()
    call_logs = CallLogService(
        calls, devices, store, FixedOrgSettings(), geolocation=consents, clock=lambda: NOW
    )
    where = {"latitude": 48.85, "longitude": 2.35}
    located = PHONE.model_validate({**PHONE.model_dump(), "location_consent": True, "location": where})
    assert call_logs.register_device(REP, "d-0", located).location is None  # never consented
    geolocation(consents, True, 1)
    no = call_logs.register_device(REP, "d-1", PHONE.model_copy(update={"location": where}))
    assert no.location is None  # the phone's permission is off
    assert call_logs.register_device(REP, "d-2", located).location == where
    geolocation(consents, False, 2)  # withdrawn: a location sent afterwards is dropped
    assert call_logs.register_device(REP, "d-2", located).location is None
    assert devices.devices[("org-a", "d-2")].location is None
    geolocation(consents, True, 3)  # given again: stored anew
    assert call_logs.register_device(REP, "d-2", located).location == where
    with pytest.raises(Conflict):
        call_logs.register_device(OTHER_REP, "d-1", PHONE)
    with pytest.raises(InvalidInput):
        call_logs.register_device(REP, "../etc", PHONE)


ENTRY_VARIANTS = st.one_of(
    st.just({}),
    st.just({"duration_seconds": -5}),
    st.just({"phone_number": "12"}),
    st.just({"direction": "sideways"}),
    st.just({"phone_number": "VERIFY"}),
    st.just({"device_id": "iphone-2"}),
    st.just({"duration_seconds": 7}),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.integers(min_value=0, max_value=15), min_size=1, max_size=40),
    variants=st.lists(ENTRY_VARIANTS, min_size=40, max_size=40),
)
def test_every_entry_is_accounted_for(ids: list[int], variants: list[dict[str, Any]]) -> None:
    calls, devices, contacts = InMemoryCallLogStore(), InMemoryDeviceStore(), InMemoryContactStore()
    service = CallLogService(
        calls, devices, contacts, FixedOrgSettings(), geolocation=InMemoryConsentStore(), clock=lambda: NOW
    )
    service.register_device(REP, "pixel-1", PHONE)
    service.register_device(OTHER_REP, "iphone-2", PHONE)
    batch = [
        entry(client_id=str(uuid.UUID(int=n)), started_at="2026-11-27T09:30:00Z", **variant)
        for n, variant in zip(ids, variants, strict=False)
    ]
    results = service.ingest(REP, batch)
    assert len(results) == len(batch)
    assert [r.index for r in results] == list(range(len(batch)))
    stored = {r.call_id for r in results if r.status is EntryStatus.STORED}
    valid_ids = {
        r.call_id
        for r in results
        if r.status in {EntryStatus.STORED, EntryStatus.DUPLICATE, EntryStatus.CONFLICT}
    }
    assert {call_id for _, call_id in calls.calls} == stored == valid_ids


class WithdrawnMidway:
    """Consent read as given before the device is written, and withdrawn by the time it is read again."""

    def __init__(self) -> None:
        self.answers = [True, False]

    def geolocation_granted(self, org_id: str, user_id: str) -> bool:
        return self.answers.pop(0)


def test_a_withdrawal_racing_a_device_report_leaves_no_location(
    calls: InMemoryCallLogStore, devices: InMemoryDeviceStore, store: InMemoryContactStore
) -> None:
    consent = WithdrawnMidway()
    service = CallLogService(
        calls, devices, store, FixedOrgSettings(), geolocation=consent, clock=lambda: NOW
    )
    located = PHONE.model_validate(
        {**PHONE.model_dump(), "location_consent": True, "location": {"latitude": 1.0, "longitude": 2.0}}
    )
    assert service.register_device(REP, "d-1", located).location is None
    assert devices.devices[("org-a", "d-1")].location is None
    assert consent.answers == []
