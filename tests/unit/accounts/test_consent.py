"""Consent records, policy versions, the policy gate's caching and the unsubscribe link (fakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from callproof import signing
from callproof.accounts.consent import ConsentService, GateRefusal, PolicyGate
from callproof.accounts.model import AgeRecord, AgeStatus, ConsentIn, ConsentRecord, ConsentSource, Purpose
from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.tenancy import Caller, Role
from tests.fakes import InMemoryConsentStore, InMemoryPolicyStore

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
KEY = b"k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, tzinfo=UTC)
        self.ticks = 86_400.0  # a monotonic clock's origin is arbitrary (boot time): never 0 in Lambda

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.ticks


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def consents() -> InMemoryConsentStore:
    """Every user answered the age question (the age gate's own tests: test_age_gate.py)."""
    return InMemoryConsentStore(ages_answered=True)


@pytest.fixture
def policies() -> InMemoryPolicyStore:
    return InMemoryPolicyStore()


@pytest.fixture
def service(consents: InMemoryConsentStore, policies: InMemoryPolicyStore, clock: Clock) -> ConsentService:
    ids = count(1)
    return ConsentService(
        consents, policies, lambda: KEY, "https://api.example.com/prod", clock, lambda: f"r{next(ids)}"
    )


@pytest.fixture
def gate(consents: InMemoryConsentStore, policies: InMemoryPolicyStore, clock: Clock) -> PolicyGate:
    return PolicyGate(policies, consents, policy_ttl=60, user_ttl=300, monotonic=clock.monotonic)


def test_terms_consent_records_the_current_version_and_history_is_append_only(
    service: ConsentService,
) -> None:
    with pytest.raises(NotFound):
        service.record(REP, ConsentIn(purpose=Purpose.TERMS))
    service.publish("terms", "2026-01", significant=True)
    first = service.record(REP, ConsentIn(purpose=Purpose.TERMS))
    assert (first.version, first.seq, first.granted) == ("2026-01", 1, True)
    with pytest.raises(Conflict):
        service.record(REP, ConsentIn(purpose=Purpose.TERMS, version="2025-12"))
    with pytest.raises(InvalidInput):
        service.record(REP, ConsentIn(purpose=Purpose.MARKETING_EMAIL, version="2026-01"))
    service.record(REP, ConsentIn(purpose=Purpose.MARKETING_EMAIL))
    withdrawn = service.withdraw(REP, Purpose.MARKETING_EMAIL)
    current, history = service.state(REP)
    assert current[Purpose.MARKETING_EMAIL] == withdrawn
    assert current[Purpose.TERMS] == first
    assert [(r.purpose, r.granted) for r in history] == [
        (Purpose.TERMS, True),
        (Purpose.MARKETING_EMAIL, True),
        (Purpose.MARKETING_EMAIL, False),
    ]
    with pytest.raises(Conflict):
        service.publish("terms", "2026-01", significant=False)


def test_gate_asks_again_only_after_a_significant_version(
    service: ConsentService, gate: PolicyGate, clock: Clock
) -> None:
    assert gate.refusal("org-a", "rep-1") is None  # nothing published: nothing to accept
    service.publish("terms", "v1", significant=True)
    clock.ticks += 61
    needed = gate.refusal("org-a", "rep-1")
    assert needed is not None
    assert (needed.status, needed.code, needed.details[0]["version"]) == (
        428,
        "policy_consent_required",
        "v1",
    )
    service.record(REP, ConsentIn(purpose=Purpose.TERMS))
    assert gate.refusal("org-a", "rep-1") is None  # refusals are not cached

    service.publish("terms", "v2", significant=False)  # a minor version asks nothing
    clock.ticks += 61
    assert gate.refusal("org-a", "rep-1") is None
    service.publish("terms", "v3", significant=True)
    clock.ticks += 61
    needed = gate.refusal("org-a", "rep-1")
    assert needed is not None
    assert needed.details[0]["version"] == "v3"
    service.record(REP, ConsentIn(purpose=Purpose.TERMS, version="v3"))
    assert gate.refusal("org-a", "rep-1") is None


def test_gate_reads_nothing_while_its_caches_are_fresh(
    service: ConsentService,
    gate: PolicyGate,
    clock: Clock,
    consents: InMemoryConsentStore,
    policies: InMemoryPolicyStore,
) -> None:
    service.publish("terms", "v1", significant=True)
    service.record(REP, ConsentIn(purpose=Purpose.TERMS))
    policies.reads = consents.reads = 0
    for _ in range(50):
        assert gate.refusal("org-a", "rep-1") is None
    assert (policies.reads, consents.reads) == (1, 1)
    clock.ticks += 61
    gate.refusal("org-a", "rep-1")
    assert (policies.reads, consents.reads) == (2, 1)
    clock.ticks += 300
    gate.refusal("org-a", "rep-1")
    assert (policies.reads, consents.reads) == (3, 2)


def test_unsubscribe_link_is_signed_expires_and_needs_no_login(service: ConsentService, clock: Clock) -> None:
    url = service.unsubscribe_link("org-a", "rep-1")
    assert url.startswith("https://api.example.com/prod/email/unsubscribe?token=")
    token = url.split("token=", 1)[1]
    record = service.unsubscribe(token)
    assert (record.org_id, record.user_id, record.purpose, record.granted, record.source) == (
        "org-a",
        "rep-1",
        Purpose.MARKETING_EMAIL,
        False,
        ConsentSource.UNSUBSCRIBE_LINK,
    )
    payload, _, mac = token.partition(".")
    for forged in (f"{payload}.{mac[:-2]}AA", f"{payload[:-2]}xx.{mac}", "", "abc"):
        with pytest.raises(InvalidInput):
            service.unsubscribe(forged)
    clock.now += timedelta(days=366)
    with pytest.raises(InvalidInput, match="expired"):
        service.unsubscribe(token)


# ------------------------------------------------ what is stored, refused and answered (issue 19)
UNSUBSCRIBE = b"marketing-unsubscribe\x00"  # the purpose the unsubscribe token's HMAC covers


def test_policy_versions_are_numbered_in_order_stamped_and_keep_their_url(
    service: ConsentService, policies: InMemoryPolicyStore, clock: Clock
) -> None:
    with pytest.raises(NotFound) as missing:
        service.current_policy()
    assert (missing.value.message, missing.value.field) == (
        "no version of this policy is published",
        "document",
    )
    first = service.publish("terms", "v1", significant=True, url="https://example.com/terms/v1")
    clock.now += timedelta(days=30)
    second = service.publish("terms", "v2", significant=False)
    assert (first.seq, first.published_at, first.url) == (
        1,
        datetime(2026, 11, 28, tzinfo=UTC),
        "https://example.com/terms/v1",
    )
    assert (second.seq, second.published_at, second.url) == (2, datetime(2026, 12, 28, tzinfo=UTC), None)
    assert service.current_policy().latest == second
    assert policies.versions == [first, second]
    with pytest.raises(Conflict) as again:
        service.publish("terms", "v2", significant=True)
    assert (again.value.message, again.value.field) == ("this version is already published", "version")
    assert policies.versions == [first, second]


def test_consent_records_are_stamped_sourced_and_stored_as_returned(
    service: ConsentService, consents: InMemoryConsentStore, clock: Clock
) -> None:
    service.publish("terms", "v1", significant=True)
    terms = service.record(REP, ConsentIn(purpose=Purpose.TERMS))
    clock.now += timedelta(minutes=5)
    marketing = service.record(REP, ConsentIn(purpose=Purpose.MARKETING_EMAIL))
    clock.now += timedelta(minutes=5)
    withdrawn = service.withdraw(REP, Purpose.GEOLOCATION)
    t0 = datetime(2026, 11, 28, tzinfo=UTC)
    assert terms == ConsentRecord("org-a", "rep-1", Purpose.TERMS, True, t0, ConsentSource.API, "r1", "v1", 1)
    # purposes other than terms carry no version: the API answers null, never an empty string
    assert marketing == ConsentRecord(
        "org-a", "rep-1", Purpose.MARKETING_EMAIL, True, t0 + timedelta(minutes=5), ConsentSource.API, "r2"
    )
    assert withdrawn == ConsentRecord(
        "org-a", "rep-1", Purpose.GEOLOCATION, False, t0 + timedelta(minutes=10), ConsentSource.API, "r3"
    )
    assert consents.records == [terms, marketing, withdrawn]


def test_consent_refusals_name_the_field_and_store_nothing(
    service: ConsentService, consents: InMemoryConsentStore
) -> None:
    service.publish("terms", "v1", significant=True)
    with pytest.raises(Conflict) as stale:
        service.record(REP, ConsentIn(purpose=Purpose.TERMS, version="v0"))
    assert (stale.value.message, stale.value.field) == ("the current version is v1", "version")
    with pytest.raises(InvalidInput) as versioned:
        service.record(REP, ConsentIn(purpose=Purpose.GEOLOCATION, version="v1"))
    assert (versioned.value.message, versioned.value.field) == (
        "only the terms purpose takes a version",
        "version",
    )
    assert consents.records == []


def test_default_clock_stamps_records_in_utc(
    consents: InMemoryConsentStore, policies: InMemoryPolicyStore
) -> None:
    """What the deployed service uses (wiring passes no clock): aware UTC times, never naive ones."""
    service = ConsentService(consents, policies, lambda: KEY, "https://api.example.com/prod")
    before = datetime.now(UTC)
    record = service.withdraw(REP, Purpose.MARKETING_EMAIL)
    assert record.at.tzinfo is UTC
    assert before <= record.at <= datetime.now(UTC)


def test_unsubscribe_link_expires_after_exactly_365_days(service: ConsentService, clock: Clock) -> None:
    issued = clock.now
    token = service.unsubscribe_link("org-a", "rep-1").split("token=", 1)[1]
    clock.now = issued + timedelta(days=365) - timedelta(seconds=1)
    assert service.check_unsubscribe(token) == ("org-a", "rep-1")
    clock.now = issued + timedelta(days=365)
    with pytest.raises(InvalidInput) as expired:
        service.unsubscribe(token)
    assert (expired.value.code, expired.value.message, expired.value.field) == (
        "invalid_token",
        "the link has expired",
        "token",
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"u": "rep-1", "exp": 2_000_000_000},  # no org
        {"o": 7, "u": "rep-1", "exp": 2_000_000_000},
        {"o": "org-a", "exp": 2_000_000_000},  # no user
        {"o": "org-a", "u": "rep-1"},  # no expiry
        {"o": "org-a", "u": "rep-1", "exp": "2000000000"},
    ],
)
def test_unsubscribe_refuses_forged_and_incomplete_links(
    service: ConsentService, consents: InMemoryConsentStore, claims: dict[str, object]
) -> None:
    """Signed with our key but missing a claim (another format or a bug): refused, like a forgery."""
    for token in (signing.sign(KEY, UNSUBSCRIBE, claims), signing.sign(b"x" * 32, UNSUBSCRIBE, claims)):
        with pytest.raises(InvalidInput) as refused:
            service.unsubscribe(token)
        assert (refused.value.code, refused.value.message, refused.value.field) == (
            "invalid_token",
            "the link is not valid",
            "token",
        )
    assert consents.records == []


def test_no_public_base_url_no_unsubscribe_link(
    consents: InMemoryConsentStore, policies: InMemoryPolicyStore
) -> None:
    service = ConsentService(consents, policies, lambda: KEY, None)
    with pytest.raises(InvalidInput) as refused:
        service.unsubscribe_link("org-a", "rep-1")
    assert (refused.value.message, refused.value.field) == (
        "the deployment has no public base URL",
        "public_base_url",
    )


# ---------------------------------------------------------------------------------- the gate
def inactive(consents: InMemoryConsentStore, org_id: str, user_id: str) -> None:
    consents.ages[(org_id, user_id)] = AgeRecord(
        AgeStatus.PENDING_GUARDIAN, datetime(2026, 11, 28, tzinfo=UTC), None, "P", "p@example.com"
    )


def test_gate_refusals_as_clients_see_them(
    service: ConsentService, gate: PolicyGate, consents: InMemoryConsentStore
) -> None:
    service.publish("terms", "2026-11", significant=True, url="https://example.com/terms")
    assert gate.refusal("org-a", "rep-1") == GateRefusal(
        428,
        "policy_consent_required",
        "accept version 2026-11 of the terms policy to continue",
        "version",
        [{"document": "terms", "version": "2026-11", "url": "https://example.com/terms"}],
    )
    inactive(consents, "org-a", "kid-1")
    assert gate.refusal("org-a", "kid-1") == GateRefusal(
        403,
        "guardian_consent_required",
        "this account stays inactive until a parent or guardian confirms the emailed link",
        "age",
        [],
    )


def test_one_users_pass_lets_no_other_user_through(
    service: ConsentService, gate: PolicyGate, consents: InMemoryConsentStore
) -> None:
    service.publish("terms", "v1", significant=True)
    service.record(REP, ConsentIn(purpose=Purpose.TERMS))
    assert gate.refusal("org-a", "rep-1") is None  # cached as passing
    inactive(consents, "org-a", "kid-1")
    inactive(consents, "org-b", "rep-1")  # the same user id in another org
    for org_id, user_id in (("org-a", "kid-1"), ("org-b", "rep-1"), ("org-a", "rep-2")):
        refused = gate.refusal(org_id, user_id)
        assert refused is not None
        assert refused.status == (428 if user_id == "rep-2" else 403)


def test_gate_caches_a_pass_even_when_nothing_is_published(
    gate: PolicyGate, consents: InMemoryConsentStore
) -> None:
    for _ in range(20):
        assert gate.refusal("org-a", "rep-1") is None
    assert consents.reads == 1


def test_a_new_significant_version_is_enforced_exactly_policy_ttl_later(
    service: ConsentService, gate: PolicyGate, clock: Clock
) -> None:
    assert gate.refusal("org-a", "rep-1") is None  # caches "nothing published" now
    service.publish("terms", "v1", significant=True)
    clock.ticks += 59.5
    assert gate.refusal("org-a", "rep-1") is None  # within the documented 60 s
    clock.ticks += 0.5
    refused = gate.refusal("org-a", "rep-1")
    assert refused is not None
    assert refused.status == 428


def test_a_passing_user_is_checked_again_after_exactly_five_minutes(
    policies: InMemoryPolicyStore, consents: InMemoryConsentStore, clock: Clock
) -> None:
    """The deployed gate (default user_ttl): an account made inactive meanwhile is refused at 300 s."""
    gate = PolicyGate(policies, consents, monotonic=clock.monotonic)
    assert gate.refusal("org-a", "kid-1") is None
    inactive(consents, "org-a", "kid-1")
    clock.ticks += 299.5
    assert gate.refusal("org-a", "kid-1") is None  # the pass is trusted for 5 minutes
    clock.ticks += 0.5
    refused = gate.refusal("org-a", "kid-1")
    assert refused is not None
    assert refused.code == "guardian_consent_required"


def test_gate_remembers_at_most_10_000_users(
    policies: InMemoryPolicyStore, consents: InMemoryConsentStore, clock: Clock
) -> None:
    """The memory bound of the deployed gate: 10 000 passing users, then it starts afresh."""
    gate = PolicyGate(policies, consents, monotonic=clock.monotonic)
    for n in range(10_000):
        assert gate.refusal("org-a", f"u{n}") is None
    assert gate.refusal("org-a", "u0") is None
    assert consents.reads == 10_000  # all 10 000 remembered
    assert gate.refusal("org-a", "u10000") is None  # the 10 001st: the cache is emptied first
    assert gate.refusal("org-a", "u0") is None
    assert consents.reads == 10_002
