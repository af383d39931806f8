"""Consent records, policy versions, the policy gate's caching and the unsubscribe link (fakes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from callproof.accounts.consent import ConsentService, PolicyGate
from callproof.accounts.model import ConsentIn, ConsentSource, Purpose
from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.tenancy import Caller, Role
from tests.fakes import InMemoryConsentStore, InMemoryPolicyStore

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
KEY = b"k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, tzinfo=UTC)
        self.ticks = 0.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.ticks


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def consents() -> InMemoryConsentStore:
    return InMemoryConsentStore()


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
