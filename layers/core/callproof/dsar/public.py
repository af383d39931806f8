"""Data-subject requests as the people themselves drive them, without a login (``functions/dsar_pages``).

A person files a request and confirms it through the link emailed to them; a phone they named reaches
its data only once proven by the code texted to it. Nothing is proven before that: the request waits
in pending_confirmation. Once confirmed it runs as a staff-verified one does
(``callproof.dsar.lifecycle``), and the person downloads an export through the emailed link.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from callproof import csrf
from callproof.dsar import links
from callproof.dsar.deadlines import Deadline
from callproof.dsar.model import DsarRequest, Identifiers, Proof, Status
from callproof.dsar.once import digest
from callproof.errors import Conflict, DomainError, Gone, InvalidInput, NotFound
from callproof.ids import time_ordered_id
from callproof.tenancy import SLUG_PATTERN

if TYPE_CHECKING:
    from callproof.dsar.api import PublicRequestIn
    from callproof.dsar.lifecycle import RequestLifecycle
    from callproof.dsar.ports import OrgDirectory, PhoneProof
    from callproof.ratelimit import RateLimits

PUBLIC = "public"  # the actor and ``created_by`` of what the person does
CODE_PURPOSE = "confirm your privacy request"
CSRF_PURPOSE = b"privacy-form-csrf\x00"
SLUG = re.compile(SLUG_PATTERN)
MAX_ORG_NAME = 120


class PublicRequests:
    def __init__(
        self,
        lifecycle: RequestLifecycle,
        link_key: Callable[[], bytes],
        limits: RateLimits,
        phones: PhoneProof | None,
        public_rate_per_hour: int = 5,
        orgs: OrgDirectory | None = None,
    ) -> None:
        self._lifecycle = lifecycle
        self._requests = lifecycle.requests
        self._clock = lifecycle.clock
        self._link_key = link_key
        self._limits = limits
        self._phones = phones
        self._rate_limit = public_rate_per_hour
        self._orgs = orgs

    def public_request(
        self, data: PublicRequestIn, client: str, request_id: str | None = None
    ) -> DsarRequest:
        """Record a person's own request, email them the confirmation link and, when they gave a
        phone, text it a code: nothing is proven yet. ``client`` is the caller's address: it is only
        hashed, to count requests per hour across every org. ``request_id``: an id derived from what
        delivered the request (a mail's message id), so a redelivery finds it (``Conflict``)."""
        now = self._clock()
        self._limits.charge("privacy-request", self._rate_limit, f"ip:{client}")
        self._limits.charge("privacy-request", self._rate_limit, f"email:{data.email}")
        phone = data.phone if data.phone is None else self._lifecycle.e164(data.org_id, data.phone)
        request = self._new(data, request_id or time_ordered_id(now), now, phone)
        pending = self._lifecycle.record_pending(request, PUBLIC)
        if phone is not None:
            # The page asks for the code whether or not it went out (the answer reveals nothing);
            # a code that could not go now can be asked for again from the confirmation page.
            with contextlib.suppress(DomainError):
                self._send_code(pending, client)
        return pending

    def hold_for_review(self, data: PublicRequestIn, request_id: str, reason: str) -> DsarRequest:
        """Record a request that must not run, nor be confirmed by a link, before staff read it (mail
        that failed its authentication checks, or whose request type is not clear): needs_review
        with no candidates and nothing proven; no mail goes out. ``Conflict`` when ``request_id``
        exists (a redelivery)."""
        now = self._clock()
        request = self._new(data, request_id, now, None).with_status(Status.NEEDS_REVIEW, now, reason)
        self._requests.create(request, None, None)
        self._lifecycle.log(request, PUBLIC, "request.held", {"type": request.type.value, "reason": reason})
        return request

    def existing(self, org_id: str, request_id: str) -> DsarRequest | None:
        return self._requests.get(org_id, request_id)

    @staticmethod
    def _new(data: PublicRequestIn, request_id: str, now: datetime, phone: str | None) -> DsarRequest:
        return DsarRequest(
            org_id=data.org_id,
            id=request_id,
            type=data.type,
            status=Status.PENDING_CONFIRMATION,
            deadline=Deadline(data.jurisdiction, now.date()),
            identifiers=Identifiers(email=data.email, phone=phone),
            created_at=now,
            created_by=PUBLIC,
            verification="email confirmation",
            details=data.details,
            recipient_email=data.recipient_email,
            lift=data.lift,
        )

    def find_org(self, typed: str) -> str:
        """The org a person names by its slug or published company name (never its internal id);
        ``NotFound`` (field ``org``) when no org publishes it. Names are public: saying that none
        matches reveals nothing."""
        typed = " ".join(typed.split())
        found = None
        if self._orgs is not None and 0 < len(typed) <= MAX_ORG_NAME:
            slug = typed.lower()
            found = self._orgs.org_for_slug(slug) if SLUG.match(slug) else None
            found = found or self._orgs.org_for_name(typed)
        if found is None:
            raise NotFound(
                "We could not find that company. Enter its name or short name as its privacy policy "
                "gives it.",
                field="org",
            )
        return found

    def new_csrf(self) -> tuple[str, str]:
        """(cookie nonce, signed field) of the request form."""
        return csrf.new_token(self._link_key(), CSRF_PURPOSE, self._clock())

    def check_csrf(self, cookie: str | None, field: str | None) -> None:
        csrf.check(self._link_key(), CSRF_PURPOSE, cookie, field, self._clock())

    def send_code(self, token: str, client: str) -> DsarRequest:
        """Text a new code to the phone of the request a confirmation link is for."""
        request = self.pending(token)
        if Proof.PHONE not in request.identifiers.unverified:
            raise Conflict("this request has no phone number to prove")
        self._send_code(request, client)
        return request

    def pending(self, token: str) -> DsarRequest:
        """The request a confirmation link is for, while it still awaits confirmation (read only:
        mail scanners open links, so showing the page must not confirm anything)."""
        claims = links.read_confirmation(self._link_key(), token, self._clock())
        request = self._requests.get(claims.org_id, claims.request_id)
        if request is None or request.status is not Status.PENDING_CONFIRMATION:
            raise Gone("this link was already used or has expired")
        return request

    def confirm(self, token: str, code: str | None = None) -> DsarRequest:
        """Consume a confirmation link once (the email is proven) and run the request. With the
        texted ``code``, the phone is proven first; a wrong code confirms nothing. Without it, the
        phone stays unverified and reaches nothing. ``Gone`` for an expired or used link,
        ``InvalidInput`` for one we did not sign."""
        now = self._clock()
        claims = links.read_confirmation(self._link_key(), token, now)
        if code:
            self._prove_phone(self.pending(token), code)
        confirmed = self._requests.confirm(
            claims.org_id, claims.request_id, digest(claims.nonce), int(now.timestamp())
        )
        if confirmed is None:
            raise Gone("this link was already used or has expired")
        verified = replace(
            confirmed.with_status(Status.VERIFIED, now, "confirmed by email"),
            identifiers=confirmed.identifiers.proving(Proof.EMAIL),
            version=confirmed.version + 1,
        )
        self._requests.save(confirmed, verified)
        self._lifecycle.log(verified, PUBLIC, "request.confirmed", {})
        return self._lifecycle.proceed(verified, PUBLIC)

    def public_download(self, token: str) -> str:
        now = self._clock()
        claims = links.read_download(self._link_key(), token, now)
        request = self._requests.get(claims.org_id, claims.request_id)
        if request is None or request.export_key != claims.key:
            raise Gone("this export is no longer available")
        return self._lifecycle.download(request)[0]

    def _send_code(self, request: DsarRequest, client: str) -> None:
        phone = request.identifiers.phone
        if self._phones is None or phone is None:
            raise Conflict("phone codes are not configured for this deployment")
        self._phones.send_code(request.org_id, _code_scope(request), phone, client, CODE_PURPOSE)

    def _prove_phone(self, request: DsarRequest, code: str) -> None:
        if Proof.PHONE not in request.identifiers.unverified or self._phones is None:
            raise InvalidInput("this request has no phone number to prove", field="code")
        self._phones.check_code(request.org_id, _code_scope(request), code)
        proven = replace(
            request.with_event("phone.proven", self._clock(), "by a texted code"),
            identifiers=request.identifiers.proving(Proof.PHONE),
            version=request.version + 1,
        )
        self._requests.save(request, proven)
        self._lifecycle.log(proven, PUBLIC, "phone.proven", {})


def _code_scope(request: DsarRequest) -> str:
    return f"dsar:{request.org_id}:{request.id}"
