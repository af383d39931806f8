"""The under-16 gate for everyone (issue 16, ADR 0008): until a member has answered the age question
(a birth date or "16 or over"), the account gate refuses them with 428 ``age_confirmation_required``;
an under-16 answer stays blocked (403) until the guardian confirms; passes are cached, refusals never.
Fakes for the stores; the real ``AgeService``, ``PolicyGate`` and ``http.handle``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from callproof import http
from callproof.accounts.age import AgeService
from callproof.accounts.consent import (
    AGE_CONFIRMATION_REQUIRED,
    MEMBER_REMOVED,
    ConsentService,
    GateRefusal,
    PolicyGate,
)
from callproof.accounts.model import AgeIn, AgeRecord, AgeStatus, ConsentIn, Purpose
from callproof.errors import Conflict, InvalidInput
from callproof.tenancy import Caller, Role
from tests.fakes import FakeMailer, InMemoryConsentStore, InMemoryPolicyStore
from tests.support import api_event

NOW = datetime(2026, 11, 28, tzinfo=UTC)
REP = Caller("org-a", "rep-1", frozenset({Role.REP}))
KEY = b"k" * 32


class Ticks:
    def __init__(self) -> None:
        self.now = 86_400.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def store() -> InMemoryConsentStore:
    return InMemoryConsentStore()  # like the adapter: no age record, no answer


@pytest.fixture
def policies() -> InMemoryPolicyStore:
    return InMemoryPolicyStore()


@pytest.fixture
def gate(store: InMemoryConsentStore, policies: InMemoryPolicyStore, ticks: Ticks) -> PolicyGate:
    return PolicyGate(policies, store, policy_ttl=60, user_ttl=300, monotonic=ticks)


@pytest.fixture
def ages(store: InMemoryConsentStore) -> AgeService:
    return AgeService(store, FakeMailer(), lambda: KEY, "https://api.example.com/prod", lambda: NOW)


def test_a_fresh_account_is_refused_until_it_answers(gate: PolicyGate, ages: AgeService) -> None:
    assert gate.refusal("org-a", "rep-1") == GateRefusal(
        428,
        "age_confirmation_required",
        'answer the age question first (PUT /v1/me/age: your birth_date, or "attests_16_or_over": true)',
        "age",
        [],
    )
    ages.record(REP, AgeIn(attests_16_or_over=True))
    assert gate.refusal("org-a", "rep-1") is None


@pytest.mark.parametrize(
    "record",
    [
        AgeRecord(AgeStatus.ACTIVE, NOW),  # attested 16 or over
        AgeRecord(AgeStatus.ACTIVE, NOW, date(1990, 1, 1)),
        AgeRecord(
            AgeStatus.GUARDIAN_CONFIRMED, NOW, date(2013, 5, 1), "P", "p@example.com", NOW, "email_link"
        ),
    ],
    ids=["attested", "adult-birth-date", "guardian-confirmed"],
)
def test_every_answered_active_account_passes(
    gate: PolicyGate, store: InMemoryConsentStore, record: AgeRecord
) -> None:
    store.put_age("org-a", "rep-1", record)
    assert gate.refusal("org-a", "rep-1") is None


def test_refusals_are_never_cached_so_the_answer_counts_at_the_next_request(
    gate: PolicyGate, store: InMemoryConsentStore, ages: AgeService
) -> None:
    for _ in range(3):
        assert gate.refusal("org-a", "rep-1") == AGE_CONFIRMATION_REQUIRED
    assert store.reads == 3  # each refused request read the user again
    ages.record(REP, AgeIn(birth_date=date(1990, 1, 1)))
    assert gate.refusal("org-a", "rep-1") is None
    assert store.reads == 4


def test_a_pass_is_cached_per_environment_for_five_minutes(
    gate: PolicyGate, store: InMemoryConsentStore, ticks: Ticks
) -> None:
    store.put_age("org-a", "rep-1", AgeRecord(AgeStatus.ACTIVE, NOW))
    for _ in range(20):
        assert gate.refusal("org-a", "rep-1") is None
    assert store.reads == 1
    store.ages.clear()  # the consent state erased meanwhile (DELETE /v1/me, an erasure)
    ticks.now += 299
    assert gate.refusal("org-a", "rep-1") is None  # the cached pass
    ticks.now += 1
    assert gate.refusal("org-a", "rep-1") == AGE_CONFIRMATION_REQUIRED  # asked again
    assert store.reads == 2


def test_one_users_answer_lets_no_other_user_through(gate: PolicyGate, ages: AgeService) -> None:
    ages.record(REP, AgeIn(attests_16_or_over=True))
    assert gate.refusal("org-a", "rep-1") is None
    assert gate.refusal("org-b", "rep-1") == AGE_CONFIRMATION_REQUIRED  # the same user id elsewhere
    assert gate.refusal("org-a", "rep-2") == AGE_CONFIRMATION_REQUIRED


def test_an_under_16_answer_without_the_guardian_stays_blocked(
    gate: PolicyGate, store: InMemoryConsentStore, ages: AgeService
) -> None:
    kid = Caller("org-a", "kid-1", frozenset({Role.REP}))
    ages.record(kid, AgeIn(birth_date=date(2013, 5, 1), guardian_name="P", guardian_email="p@example.com"))
    for _ in range(2):
        refused = gate.refusal("org-a", "kid-1")
        assert refused is not None
        assert (refused.status, refused.code, refused.field) == (403, "guardian_consent_required", "age")
    # attesting "16 or over" now does not open the account: the birth date is final
    with pytest.raises(Conflict):
        ages.record(kid, AgeIn(attests_16_or_over=True))
    assert store.ages[("org-a", "kid-1")].status is AgeStatus.PENDING_GUARDIAN
    assert gate.refusal("org-a", "kid-1") is not None


@pytest.mark.parametrize(
    "request_",
    [
        AgeIn(),
        AgeIn(attests_16_or_over=False),
        AgeIn(birth_date=date(1990, 1, 1), attests_16_or_over=True),
        AgeIn(birth_date=date(1899, 12, 31)),
        AgeIn(birth_date=date(2013, 5, 1)),  # under 16 and no guardian named
    ],
    ids=["nothing", "attests-false", "both", "before-1900", "under-16-no-guardian"],
)
def test_bad_answers_are_refused_and_leave_the_account_asked(
    gate: PolicyGate, store: InMemoryConsentStore, ages: AgeService, request_: AgeIn
) -> None:
    with pytest.raises(InvalidInput):
        ages.record(REP, request_)
    assert store.ages == {}
    assert gate.refusal("org-a", "rep-1") == AGE_CONFIRMATION_REQUIRED


def test_refusals_come_in_order_guardian_then_age_then_policy(
    gate: PolicyGate, store: InMemoryConsentStore, policies: InMemoryPolicyStore, ages: AgeService
) -> None:
    consents = ConsentService(store, policies, lambda: KEY, None, lambda: NOW)
    consents.publish("terms", "v1", significant=True)
    refused = gate.refusal("org-a", "rep-1")
    assert refused == AGE_CONFIRMATION_REQUIRED  # the age question before the policy
    ages.record(REP, AgeIn(attests_16_or_over=True))
    refused = gate.refusal("org-a", "rep-1")
    assert refused is not None
    assert refused.code == "policy_consent_required"
    store.put_age(
        "org-a", "rep-1", AgeRecord(AgeStatus.PENDING_GUARDIAN, NOW, date(2013, 5, 1), "P", "p@e.com")
    )
    refused = gate.refusal("org-a", "rep-1")
    assert refused is not None
    assert refused.code == "guardian_consent_required"  # the guardian before both
    store.put_age("org-a", "rep-1", AgeRecord(AgeStatus.ACTIVE, NOW))
    consents.record(REP, ConsentIn(purpose=Purpose.TERMS))
    assert gate.refusal("org-a", "rep-1") is None


# ------------------------------------------------------------------------------- at the HTTP edge
@pytest.fixture
def app(gate: PolicyGate) -> http.Resolver:
    """A resolver with the real gate, and a route for each of the exempt routes and a gated one."""
    app = http.resolver(lambda: gate)

    @app.route("/v1/me", method=["GET", "PATCH", "DELETE"])
    @app.route("/v1/me/age", method=["GET", "PUT"])
    @app.route("/v1/me/consents", method=["GET", "POST"])
    @app.route("/v1/me/export", method=["POST"])
    @app.route("/v1/contacts", method=["GET"])
    def route() -> dict[str, str]:
        return {"ok": "yes"}

    @app.route("/v1/me/consents/<purpose>", method=["DELETE"])
    def withdraw(purpose: str) -> dict[str, str]:
        return {"ok": "yes"}

    @app.route("/v1/policies/<document>", method=["GET"])
    def policy(document: str) -> dict[str, str]:
        return {"ok": "yes"}

    return app


def answer(app: http.Resolver, method: str, path: str, resource: str | None = None) -> tuple[int, Any]:
    event = api_event(
        method, path, resource=resource, body={} if method in {"PUT", "POST", "PATCH"} else None
    )
    response = http.handle(app, event, None)  # type: ignore[arg-type]
    return int(response["statusCode"]), json.loads(response["body"])


@pytest.mark.parametrize(
    ("method", "path", "resource"),
    [
        ("GET", "/v1/me", None),
        ("GET", "/v1/me/age", None),
        ("PUT", "/v1/me/age", None),
        ("GET", "/v1/me/consents", None),
        ("POST", "/v1/me/consents", None),
        ("DELETE", "/v1/me/consents/terms", "/v1/me/consents/{purpose}"),
        ("GET", "/v1/policies/terms", "/v1/policies/{document}"),
        ("POST", "/v1/me/export", None),  # a person's own data rights never wait
        ("DELETE", "/v1/me", None),
    ],
)
def test_the_exempt_routes_answer_before_the_age_question(
    app: http.Resolver, store: InMemoryConsentStore, method: str, path: str, resource: str | None
) -> None:
    assert answer(app, method, path, resource) == (200, {"ok": "yes"})
    assert store.reads == 0  # the gate was not asked


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/contacts"), ("PATCH", "/v1/me")])
def test_every_other_route_answers_428_age_confirmation_required(
    app: http.Resolver, store: InMemoryConsentStore, method: str, path: str
) -> None:
    status, body = answer(app, method, path)
    assert (status, body["error"]["code"], body["error"]["field"]) == (
        428,
        "age_confirmation_required",
        "age",
    )
    store.put_age("org-a", "rep-1", AgeRecord(AgeStatus.ACTIVE, NOW))
    assert answer(app, method, path) == (200, {"ok": "yes"})


def test_a_removed_member_is_refused_first_and_never_cached(
    gate: PolicyGate, store: InMemoryConsentStore, ages: AgeService
) -> None:
    ages.record(REP, AgeIn(attests_16_or_over=True))
    store.removed.add(("org-a", "rep-1"))
    for _ in range(2):
        assert gate.refusal("org-a", "rep-1") == MEMBER_REMOVED
    store.removed.clear()  # restored by an admin
    assert gate.refusal("org-a", "rep-1") is None
