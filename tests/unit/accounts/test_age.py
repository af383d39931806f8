"""Age and guardian consent: the record, the emailed signed link, the inactive account (fakes)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from callproof import signing
from callproof.accounts.age import AgeService, age_on
from callproof.accounts.consent import PolicyGate
from callproof.accounts.model import AgeIn, AgeRecord, AgeStatus
from callproof.errors import Conflict, InvalidInput, NotFound
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


EITHER = "send either birth_date or attests_16_or_over"
BAD_DATE = "birth_date must be a past date after 1900"


@pytest.mark.parametrize(
    ("request_", "field", "message"),
    [
        (AgeIn(), "birth_date", EITHER),
        (AgeIn(birth_date=date(2000, 1, 1), attests_16_or_over=True), "birth_date", EITHER),
        (AgeIn(attests_16_or_over=False), "attests_16_or_over", "under 16: send birth_date and the guardian"),
        (AgeIn(birth_date=date(2026, 11, 29)), "birth_date", BAD_DATE),
        (AgeIn(birth_date=date(1899, 12, 31)), "birth_date", BAD_DATE),
        (
            AgeIn(birth_date=date(2015, 1, 1)),
            "guardian_name",
            "under 16: a parent's or guardian's name is needed",
        ),
        (
            AgeIn(birth_date=date(2015, 1, 1), guardian_name="Mum"),
            "guardian_email",
            "under 16: a parent's or guardian's email is needed",
        ),
    ],
)
def test_bad_age_input_names_the_field_and_stores_nothing(
    service: AgeService, store: InMemoryConsentStore, request_: AgeIn, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.record(REP, request_)
    assert (refused.value.field, refused.value.message) == (field, message)
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


# ------------------------------------------------ what is stored, mailed and refused (issue 19)
GUARDIAN = b"guardian-consent\x00"  # the purpose the guardian token's HMAC covers
KID = AgeIn(birth_date=date(2013, 5, 1), guardian_name="Ada Parent", guardian_email="Parent@Example.com")


def test_the_age_read_back_is_the_one_stored(service: AgeService) -> None:
    with pytest.raises(NotFound) as missing:
        service.get(REP)
    assert (missing.value.message, missing.value.field) == ("no age recorded", "age")
    recorded = service.record(REP, AgeIn(attests_16_or_over=True))
    assert service.get(REP) == recorded
    with pytest.raises(NotFound):
        service.get(Caller("org-b", "kid-1", frozenset({Role.REP})))  # the same user id, another org


@pytest.mark.parametrize(
    ("request_", "birth"),
    [
        (AgeIn(attests_16_or_over=True), None),
        (AgeIn(birth_date=date(2010, 11, 28)), date(2010, 11, 28)),  # 16 today
        (AgeIn(birth_date=date(1900, 1, 1)), date(1900, 1, 1)),  # the earliest date taken
    ],
)
def test_an_adult_record_is_stored_for_the_caller(
    service: AgeService, store: InMemoryConsentStore, request_: AgeIn, birth: date | None
) -> None:
    record = service.record(REP, request_)
    assert record == AgeRecord(AgeStatus.ACTIVE, TODAY, birth)
    assert store.ages == {("org-a", "kid-1"): record}


def test_a_child_born_today_needs_a_guardian_not_a_refusal(
    service: AgeService, store: InMemoryConsentStore
) -> None:
    today = AgeIn(birth_date=TODAY.date(), guardian_name="P", guardian_email="p@example.com")
    assert service.record(REP, today).status is AgeStatus.PENDING_GUARDIAN


def test_under_16_record_and_the_guardians_email(
    service: AgeService, store: InMemoryConsentStore, mailer: FakeMailer
) -> None:
    record = service.record(REP, KID)
    assert record == AgeRecord(
        AgeStatus.PENDING_GUARDIAN, TODAY, date(2013, 5, 1), "Ada Parent", "parent@example.com"
    )
    assert store.ages == {("org-a", "kid-1"): record}
    token = link_token(mailer)
    assert mailer.sent == [
        (
            "parent@example.com",
            "Your consent is needed for a CallProof account",
            "Hello Ada Parent,\n\nA person under 16 named you as their parent or guardian when signing up for "
            "CallProof. Their account stays inactive until you agree. To read what we hold and give your "
            "consent, open this link (valid 7 days):\n\n"
            f"https://api.example.com/prod/guardian/consent?token={token}\n\n"
            "If you do not know about this, ignore this email: the account stays inactive.",
        )
    ]


def test_no_public_base_url_names_the_guardian_email(store: InMemoryConsentStore, mailer: FakeMailer) -> None:
    service = AgeService(store, mailer, lambda: b"g" * 32, None)
    with pytest.raises(Conflict) as refused:
        service.record(REP, KID)
    assert (refused.value.message, refused.value.field) == (
        "the deployment has no public base URL for the guardian's link",
        "guardian_email",
    )
    assert mailer.sent == []


def test_default_clock_stamps_records_in_utc(store: InMemoryConsentStore, mailer: FakeMailer) -> None:
    """What the deployed service uses (wiring passes no clock): aware UTC times, never naive ones."""
    service = AgeService(store, mailer, lambda: b"g" * 32, "https://api.example.com/prod")
    before = datetime.now(UTC)
    record = service.record(REP, AgeIn(attests_16_or_over=True))
    assert record.recorded_at.tzinfo is UTC
    assert before <= record.recorded_at <= datetime.now(UTC)


def test_changing_a_recorded_birth_date_is_refused_with_a_reason(service: AgeService) -> None:
    service.record(REP, KID)
    with pytest.raises(Conflict) as attest:
        service.record(REP, AgeIn(attests_16_or_over=True))
    assert (attest.value.message, attest.value.field) == (
        "a birth date is recorded: an attestation cannot replace it",
        "attests_16_or_over",
    )
    with pytest.raises(Conflict) as redate:
        service.record(REP, AgeIn(birth_date=date(2000, 5, 1)))
    assert (redate.value.message, redate.value.field) == (
        "the recorded birth date cannot be changed here",
        "birth_date",
    )


def test_guardian_link_expires_after_exactly_7_days(
    service: AgeService, mailer: FakeMailer, clock: Clock
) -> None:
    service.record(REP, KID)
    token = link_token(mailer)
    clock.now = TODAY + timedelta(days=7) - timedelta(seconds=1)
    assert service.pending(token).status is AgeStatus.PENDING_GUARDIAN
    clock.now = TODAY + timedelta(days=7)
    for use in (service.pending, service.confirm):
        with pytest.raises(InvalidInput) as expired:
            use(token)
        assert (expired.value.code, expired.value.message, expired.value.field) == (
            "invalid_token",
            "the link has expired; ask for a new one",
            "token",
        )


@pytest.mark.parametrize(
    "claims",
    [
        {"u": "kid-1", "g": "parent@example.com", "exp": 2_000_000_000},  # no org
        {"o": "org-a", "g": "parent@example.com", "exp": 2_000_000_000},  # no user
        {"o": "org-a", "u": "kid-1", "exp": 2_000_000_000},  # no guardian
        {"o": "org-a", "u": "kid-1", "g": 5, "exp": 2_000_000_000},
    ],
)
def test_guardian_link_refuses_forged_and_incomplete_links(
    service: AgeService, store: InMemoryConsentStore, claims: dict[str, object]
) -> None:
    """Signed with our key but missing a claim: refused as not valid, like a forgery, changing nothing."""
    pending = service.record(REP, KID)
    for token in (signing.sign(b"g" * 32, GUARDIAN, claims), signing.sign(b"x" * 32, GUARDIAN, claims)):
        for use in (service.pending, service.confirm):
            with pytest.raises(InvalidInput) as refused:
                use(token)
            assert (refused.value.code, refused.value.message, refused.value.field) == (
                "invalid_token",
                "the link is not valid",
                "token",
            )
    assert store.ages == {("org-a", "kid-1"): pending}


def test_a_replaced_guardians_link_is_no_longer_valid(
    service: AgeService, store: InMemoryConsentStore, mailer: FakeMailer
) -> None:
    service.record(REP, KID)
    old = link_token(mailer)
    replaced = service.record(
        REP, AgeIn(birth_date=date(2013, 5, 1), guardian_name="Q", guardian_email="q@example.com")
    )
    for use in (service.pending, service.confirm):
        with pytest.raises(InvalidInput) as refused:
            use(old)
        assert (refused.value.code, refused.value.message, refused.value.field) == (
            "invalid_token",
            "the link is no longer valid",
            "token",
        )
    assert store.ages == {("org-a", "kid-1"): replaced}
