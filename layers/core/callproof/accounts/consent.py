"""Consent per purpose (append-only records), policy versions, the policy-consent gate and the
marketing-email unsubscribe link. Pure: every dependency is a port."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from callproof import signing
from callproof.accounts.model import (
    ConsentIn,
    ConsentRecord,
    ConsentSource,
    CurrentPolicy,
    MarketingRecipient,
    PolicyVersion,
    Purpose,
)
from callproof.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from callproof.accounts.ports import ConsentStore, PolicyStore
    from callproof.tenancy import Caller

TERMS_DOCUMENT = "terms"  # terms of service and privacy policy, versioned together
UNSUBSCRIBE_TTL = timedelta(days=365)
_PURPOSE_UNSUBSCRIBE = b"marketing-unsubscribe\x00"


class InvalidUnsubscribeLink(InvalidInput):
    code = "invalid_token"


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return secrets.token_hex(8)


class ConsentService:
    def __init__(
        self,
        consents: ConsentStore,
        policies: PolicyStore,
        link_key: Callable[[], bytes],
        public_base_url: str | None,
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._consents = consents
        self._policies = policies
        self._link_key = link_key
        self._base_url = public_base_url
        self._clock = clock
        self._new_id = new_id

    # ---------------------------------------------------------------------------- policies
    def current_policy(self, document: str = TERMS_DOCUMENT) -> CurrentPolicy:
        current = self._policies.current(document)
        if current is None:
            raise NotFound("no version of this policy is published", field="document")
        return current

    def publish(
        self, document: str, version: str, *, significant: bool, url: str | None = None
    ) -> PolicyVersion:
        """An operator action (CLI): versions are append-only and ordered by ``seq``."""
        current = self._policies.current(document)
        if current is not None and current.latest.version == version:
            raise Conflict("this version is already published", field="version")
        published = PolicyVersion(
            document=document,
            version=version,
            seq=(current.latest.seq + 1) if current else 1,
            significant=significant,
            published_at=self._clock(),
            url=url,
        )
        self._policies.publish(current, published)
        return published

    # ----------------------------------------------------------------------------- consent
    def record(
        self, caller: Caller, request: ConsentIn, source: ConsentSource = ConsentSource.API
    ) -> ConsentRecord:
        version = seq = None
        if request.purpose is Purpose.TERMS:
            latest = self.current_policy().latest
            if request.version is not None and request.version != latest.version:
                raise Conflict(f"the current version is {latest.version}", field="version")
            version, seq = latest.version, latest.seq
        elif request.version is not None:
            raise InvalidInput("only the terms purpose takes a version", field="version")
        return self._append(
            caller.org_id, caller.user_id, request.purpose, request.granted, source, version, seq
        )

    def withdraw(self, caller: Caller, purpose: Purpose) -> ConsentRecord:
        """One call; the record is kept (append-only) and becomes the purpose's current state."""
        return self._append(caller.org_id, caller.user_id, purpose, False, ConsentSource.API, None, None)

    def state(self, caller: Caller) -> tuple[dict[Purpose, ConsentRecord], list[ConsentRecord]]:
        return (
            self._consents.current(caller.org_id, caller.user_id),
            self._consents.history(caller.org_id, caller.user_id),
        )

    def _append(
        self,
        org_id: str,
        user_id: str,
        purpose: Purpose,
        granted: bool,
        source: ConsentSource,
        version: str | None,
        seq: int | None,
    ) -> ConsentRecord:
        record = ConsentRecord(
            org_id=org_id,
            user_id=user_id,
            purpose=purpose,
            granted=granted,
            at=self._clock(),
            source=source,
            record_id=self._new_id(),
            version=version,
            seq=seq,
        )
        self._consents.append(record)
        return record

    # ------------------------------------------------------------------------- unsubscribe
    def unsubscribe_link(self, org_id: str, user_id: str) -> str:
        """The link every marketing email carries (no login: the signature is the authority)."""
        if self._base_url is None:
            raise InvalidInput("the deployment has no public base URL", field="public_base_url")
        expires = int((self._clock() + UNSUBSCRIBE_TTL).timestamp())
        token = signing.sign(
            self._link_key(), _PURPOSE_UNSUBSCRIBE, {"o": org_id, "u": user_id, "exp": expires}
        )
        return f"{self._base_url}/email/unsubscribe?token={token}"

    def marketing_recipient(self, org_id: str, user_id: str, email: str) -> MarketingRecipient | None:
        """The one gate of marketing mail: a recipient (with their unsubscribe link) only while the
        user's current ``marketing_email`` record is a grant; ``None`` otherwise (never asked,
        withdrawn, unsubscribed)."""
        current = self._consents.current(org_id, user_id).get(Purpose.MARKETING_EMAIL)
        if current is None or not current.granted or not email:
            return None
        return MarketingRecipient(org_id, user_id, email, self.unsubscribe_link(org_id, user_id))

    def check_unsubscribe(self, token: str) -> tuple[str, str]:
        try:
            claims = signing.verify(self._link_key(), _PURPOSE_UNSUBSCRIBE, token)
        except signing.BadSignature:
            raise InvalidUnsubscribeLink("the link is not valid", field="token") from None
        org_id, user_id, expires = claims.get("o"), claims.get("u"), claims.get("exp")
        if not (isinstance(org_id, str) and isinstance(user_id, str) and isinstance(expires, int)):
            raise InvalidUnsubscribeLink("the link is not valid", field="token")
        if self._clock().timestamp() >= expires:
            raise InvalidUnsubscribeLink("the link has expired", field="token")
        return org_id, user_id

    def unsubscribe(self, token: str) -> ConsentRecord:
        org_id, user_id = self.check_unsubscribe(token)
        return self._append(
            org_id, user_id, Purpose.MARKETING_EMAIL, False, ConsentSource.UNSUBSCRIBE_LINK, None, None
        )


@dataclass
class _Cached:
    value: CurrentPolicy | None
    at: float


@dataclass(frozen=True, slots=True)
class GateRefusal:
    """Why an authenticated request may not proceed (``callproof.http`` answers it as JSON)."""

    status: int
    code: str
    message: str
    field: str
    details: list[dict[str, object]]


# A removed member's ID token stays valid until it expires (an hour): refused here meanwhile (ADR 0023).
MEMBER_REMOVED = GateRefusal(
    403,
    "member_removed",
    "this account was removed from the organization; an admin can restore it during the grace period",
    "user_id",
    [],
)
AGE_CONFIRMATION_REQUIRED = GateRefusal(
    428,
    "age_confirmation_required",
    'answer the age question first (PUT /v1/me/age: your birth_date, or "attests_16_or_over": true)',
    "age",
    [],
)


class PolicyGate:
    """May the caller use the API? The account gate of every authenticated route (ADR 0008), its
    refusals in this order: 403 ``guardian_consent_required`` while an under-16 account awaits its
    guardian; 428 ``age_confirmation_required`` until the member has answered the age question (a
    birth date or "16 or over": accounts older than the question are asked at their next request);
    428 ``policy_consent_required`` while a significant policy version awaits their consent.

    Cheap on the hot path: the current policy is cached per Lambda environment for ``policy_ttl``
    seconds, and a user's passing state for ``user_ttl`` (keyed by the accepted terms sequence, so a
    newer significant version is caught when the policy cache refreshes; a pass implies the age was
    answered). Refusals are never cached, so answering or consenting takes effect on the next
    request. One user read per ``user_ttl`` otherwise: the age and the terms come in that one read."""

    def __init__(
        self,
        policies: PolicyStore,
        consents: ConsentStore,
        policy_ttl: float = 60.0,
        user_ttl: float = 300.0,
        max_users: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policies = policies
        self._consents = consents
        self._policy_ttl = policy_ttl
        self._user_ttl = user_ttl
        self._max_users = max_users
        self._monotonic = monotonic
        self._policy: _Cached | None = None
        self._passed: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def refusal(self, org_id: str, user_id: str) -> GateRefusal | None:
        now = self._monotonic()
        current = self._current(now)
        significant = current.significant if current else None
        needed = significant.seq if significant else 0
        key = (org_id, user_id)
        cached = self._passed.get(key)
        if cached is not None and cached[0] >= needed and now - cached[1] < self._user_ttl:
            return None
        view = self._consents.gate_view(org_id, user_id)
        if view.removed:
            return MEMBER_REMOVED
        if view.inactive:
            return GateRefusal(
                403,
                "guardian_consent_required",
                "this account stays inactive until a parent or guardian confirms the emailed link",
                "age",
                [],
            )
        if not view.age_answered:
            return AGE_CONFIRMATION_REQUIRED
        if significant is not None and view.accepted_terms_seq < significant.seq:
            return GateRefusal(
                428,
                "policy_consent_required",
                f"accept version {significant.version} of the {significant.document} policy to continue",
                "version",
                [{"document": significant.document, "version": significant.version, "url": significant.url}],
            )
        with self._lock:
            if len(self._passed) >= self._max_users:
                self._passed.clear()
            self._passed[key] = (view.accepted_terms_seq, now)
        return None

    def _current(self, now: float) -> CurrentPolicy | None:
        cached = self._policy
        if cached is None or now - cached.at >= self._policy_ttl:
            cached = _Cached(self._policies.current(TERMS_DOCUMENT), now)
            self._policy = cached
        return cached.value
