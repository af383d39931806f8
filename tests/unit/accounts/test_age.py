"""Age and guardian consent: the record, the emailed signed link, the inactive account (fakes)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from callproof.accounts.age import AgeService, age_on
from callproof.accounts.consent import PolicyGate
from callproof.accounts.model import AgeIn, AgeStatus
from callproof.errors import Conflict, InvalidInput
from callproof.tenancy import Caller, Role
from tests.fakes import FakeMailer, InMemoryConsentStore, InMemoryPolicyStore

REP = Caller("org-a", "kid-1", frozenset({Role.REP}))
TODAY = datetime(2026, 11, 28, 9, tzinfo=UTC)


class Clock:
    now = TODAY

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> InMemoryConsentStore:
    return InMemoryConsentStore()


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: InMemoryConsentStore, mailer: FakeMailer, clock: Clock) -> AgeService:
    return AgeService(store, mailer, lambda: b"g" * 32, "https://api.example.com/prod", clock)


def link_token(mailer: FakeMailer) -> str:
    match = re.search(r"/guardian/consent\?token=(\S+)", mailer.sent[-1][2])
    assert match is not None
    return match.group(1)


def test_age_on_counts_birthdays() -> None:
    assert age_on(date(2010, 11, 28), date(2026, 11, 28)) == 16
    assert age_on(date(2010, 11, 29), date(2026, 11, 28)) == 15
    assert age_on(date(2012, 2, 29), date(2028, 2, 28)) == 15


def test_adults_are_active_by_birth_date_or_attestation(service: AgeService, mailer: FakeMailer) -> None:
    assert service.record(REP, AgeIn(attests_16_or_over=True)).status is AgeStatus.ACTIVE
    assert service.record(REP, AgeIn(birth_date=date(2010, 11, 28))).status is AgeStatus.ACTIVE
    assert mailer.sent == []


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (AgeIn(), "birth_date"),
        (AgeIn(birth_date=date(2000, 1, 1), attests_16_or_over=True), "birth_date"),
        (AgeIn(attests_16_or_over=False), "attests_16_or_over"),
        (AgeIn(birth_date=date(2026, 11, 29)), "birth_date"),
        (AgeIn(birth_date=date(1899, 12, 31)), "birth_date"),
        (AgeIn(birth_date=date(2015, 1, 1)), "guardian_name"),
        (AgeIn(birth_date=date(2015, 1, 1), guardian_name="Mum"), "guardian_email"),
    ],
)
def test_bad_age_input_names_the_field_and_stores_nothing(
    service: AgeService, store: InMemoryConsentStore, request_: AgeIn, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.record(REP, request_)
    assert refused.value.field == field
    assert store.ages == {}


def test_under_16_stays_inactive_until_the_guardian_confirms(
    service: AgeService, store: InMemoryConsentStore, mailer: FakeMailer, clock: Clock
) -> None:
    gate = PolicyGate(InMemoryPolicyStore(), store)
    request = AgeIn(
        birth_date=date(2013, 5, 1), guardian_name="Ada Parent", guardian_email="Parent@Example.com"
    )
    record = service.record(REP, request)
    assert record.status is AgeStatus.PENDING_GUARDIAN
    assert mailer.sent[0][0] == "parent@example.com"
    refused = gate.refusal("org-a", "kid-1")
    assert refused is not None
    assert (refused.status, refused.code) == (403, "guardian_consent_required")

    token = link_token(mailer)
    assert service.pending(token).guardian_name == "Ada Parent"
    clock.now += timedelta(hours=1)
    confirmed = service.confirm(token)
    assert (confirmed.status, confirmed.guardian_method) == (AgeStatus.GUARDIAN_CONFIRMED, "email_link")
    assert (confirmed.guardian_name, confirmed.guardian_email) == ("Ada Parent", "parent@example.com")
    assert confirmed.guardian_consented_at == TODAY + timedelta(hours=1)
    assert service.confirm(token) == confirmed  # repeating changes nothing
    assert gate.refusal("org-a", "kid-1") is None


def test_guardian_link_is_signed_and_expires(service: AgeService, mailer: FakeMailer, clock: Clock) -> None:
    service.record(REP, AgeIn(birth_date=date(2013, 5, 1), guardian_name="P", guardian_email="p@example.com"))
    token = link_token(mailer)
    payload, _, mac = token.partition(".")
    with pytest.raises(InvalidInput):
        service.confirm(f"{payload}.{mac[:-2]}AA")
    # a new request naming another guardian makes the old link useless
    service.record(REP, AgeIn(birth_date=date(2013, 5, 1), guardian_name="Q", guardian_email="q@example.com"))
    with pytest.raises(InvalidInput):
        service.confirm(token)
    token = link_token(mailer)
    clock.now += timedelta(days=8)
    with pytest.raises(InvalidInput, match="expired"):
        service.confirm(token)


def test_no_public_base_url_refuses_before_storing(store: InMemoryConsentStore, mailer: FakeMailer) -> None:
    service = AgeService(store, mailer, lambda: b"g" * 32, None)
    with pytest.raises(Conflict):
        service.record(
            REP, AgeIn(birth_date=date(2013, 5, 1), guardian_name="P", guardian_email="p@example.com")
        )
    assert store.ages == {}


# --------------------------------------------------------------- who may change what (issue 13)
def test_a_child_cannot_attest_or_re_date_their_way_out_of_guardian_consent(
    service: AgeService, store: InMemoryConsentStore, mailer: FakeMailer
) -> None:
    """PUT /v1/me/age stays reachable while the account waits for the guardian: a recorded birth date
    is final there (409, record unchanged); the guardian named may still change, with a new link."""
    under_16 = AgeIn(birth_date=date(2013, 5, 1), guardian_name="P", guardian_email="p@example.com")
    pending = service.record(REP, under_16)
    for attempt, field in (
        (AgeIn(attests_16_or_over=True), "attests_16_or_over"),
        (AgeIn(birth_date=date(2000, 5, 1)), "birth_date"),
        (AgeIn(birth_date=date(2013, 5, 2), guardian_name="P", guardian_email="p@example.com"), "birth_date"),
    ):
        with pytest.raises(Conflict) as refused:
            service.record(REP, attempt)
        assert refused.value.field == field
        assert store.ages[("org-a", "kid-1")] == pending
    again = service.record(
        REP, AgeIn(birth_date=date(2013, 5, 1), guardian_name="Q", guardian_email="q@example.com")
    )
    assert (again.status, again.guardian_email) == (AgeStatus.PENDING_GUARDIAN, "q@example.com")
    assert len(mailer.sent) == 2


def test_an_attestation_may_be_followed_by_a_birth_date(service: AgeService) -> None:
    service.record(REP, AgeIn(attests_16_or_over=True))
    later = service.record(
        REP, AgeIn(birth_date=date(2013, 5, 1), guardian_name="P", guardian_email="p@example.com")
    )
    assert later.status is AgeStatus.PENDING_GUARDIAN  # new facts may only make the record stricter
    with pytest.raises(Conflict):
        service.record(REP, AgeIn(attests_16_or_over=True))
