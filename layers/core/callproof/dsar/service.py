"""Data-subject requests as compliance staff and the people themselves drive them.

Lifecycle: a request is recorded (by staff, who record their own verification, or by the person,
who must confirm through an emailed link); an erasure always waits for that email confirmation. A
verified request runs: access and portability through the export workflow, erasure through the
erasure workflow (Step Functions), restriction at once, correction by staff applying the corrected
fields through the request. Every change is audited under pseudonymous ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Protocol

from callproof.contacts.model import Contact, ContactPatch
from callproof.dsar import links
from callproof.dsar.api import ExtendIn, PublicRequestIn, RequestIn, SubjectChoiceIn, SubjectIn
from callproof.dsar.audit import AuditLog
from callproof.dsar.deadlines import Deadline, DeadlineState
from callproof.dsar.links import CONFIRMATION_TTL
from callproof.dsar.model import (
    EXPORT_TYPES,
    OPEN_STATUSES,
    WORKFLOW_TYPES,
    CandidateKind,
    DsarRequest,
    Identifiers,
    Proof,
    RequestType,
    Status,
    Subject,
)
from callproof.dsar.ports import Mailer, PhoneProof, RequestStore, Workflows
from callproof.dsar.subjects import SubjectResolver
from callproof.errors import (
    Conflict,
    DomainError,
    Gone,
    InvalidInput,
    NotFound,
    TemporarilyUnavailable,
)
from callproof.ids import time_ordered_id, utc_now
from callproof.phones import InvalidPhoneNumber, normalize
from callproof.ratelimit import RateLimits
from callproof.tenancy import Caller, Role

PUBLIC = "public"
SYSTEM = "system"
DOWNLOAD_URL_SECONDS = 300
CODE_PURPOSE = "confirm your privacy request"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Restrictions(Protocol):
    def set_restricted(self, org_id: str, contact_ids: frozenset[str], restricted: bool) -> int: ...


class Corrections(Protocol):
    def correct(self, org_id: str, contact_id: str, patch: ContactPatch) -> Contact:
        """Apply the patch to the org's contact (``NotFound`` for another org's)."""
        ...


class DownloadLinks(Protocol):
    def presign(self, key: str, seconds: int) -> str | None:
        """A short-lived GET URL of the export, None once the archive expired."""
        ...


class Machines(Protocol):
    """Which state machine runs which request type."""

    def machine_for(self, kind: RequestType) -> str: ...


def start_workflow(
    requests: RequestStore, workflows: Workflows, machine: str, request: DsarRequest, now: datetime
) -> DsarRequest:
    """Mark the request in progress and start its next execution (named after the attempt, so a
    replayed start never runs twice)."""
    attempt = request.attempt + 1
    started = replace(
        request.with_status(Status.IN_PROGRESS, now), attempt=attempt, version=request.version + 1
    )
    requests.save(request, started)
    workflows.start(
        machine,
        f"{request.id}-{attempt}",
        {"org_id": request.org_id, "request_id": request.id, "attempt": attempt},
    )
    return started


class DsarService:
    def __init__(
        self,
        requests: RequestStore,
        audit: AuditLog,
        workflows: Workflows,
        machines: Machines,
        resolver: SubjectResolver,
        restrictions: Restrictions,
        corrections: Corrections,
        downloads: DownloadLinks,
        mailer: Mailer,
        link_key: Callable[[], bytes],
        phone_region: Callable[[str], str],
        public_base_url: str | None,
        limits: RateLimits,
        phones: PhoneProof | None,
        public_rate_per_hour: int = 5,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._requests = requests
        self._audit = audit
        self._workflows = workflows
        self._machines = machines
        self._resolver = resolver
        self._restrictions = restrictions
        self._corrections = corrections
        self._downloads = downloads
        self._mailer = mailer
        self._link_key = link_key
        self._phone_region = phone_region
        self._base_url = public_base_url.rstrip("/") if public_base_url else None
        self._limits = limits
        self._phones = phones
        self._rate_limit = public_rate_per_hour
        self._clock = clock

    # ------------------------------------------------------------------------------- staff actions
    def create(self, caller: Caller, data: RequestIn) -> DsarRequest:
        caller.require(Role.COMPLIANCE)
        now = self._clock()
        if data.received > now.date():
            raise InvalidInput("the received date is in the future", field="received")
        request = DsarRequest(
            org_id=caller.org_id,
            id=time_ordered_id(now),
            type=data.type,
            status=Status.VERIFIED,
            deadline=Deadline(data.jurisdiction, data.received),
            identifiers=self._staff_verified(caller.org_id, data.subject),
            created_at=now,
            created_by=caller.user_id,
            verification=data.verification,
            details=data.details,
            recipient_email=data.recipient_email,
            lift=data.lift,
        ).with_status(Status.VERIFIED, now, "verified by staff")
        request = replace(request, deadline_state=request.deadline.state(now.date()))
        if data.type is RequestType.ERASURE:  # the policy promises an email confirmation first
            return self._record_pending(request, caller.user_id)
        self._requests.create(request, None, None)
        self._log(request, caller.user_id, "request.created", {"type": request.type.value})
        return self._proceed(request, caller.user_id) if data.start else request

    def get(self, caller: Caller, request_id: str) -> DsarRequest:
        caller.require(Role.COMPLIANCE)
        return self._load(caller.org_id, request_id)

    def page(
        self, caller: Caller, status: Status | None, due_before: date | None, limit: int, cursor: str | None
    ) -> tuple[list[DsarRequest], str | None]:
        caller.require(Role.COMPLIANCE)
        return self._requests.page(caller.org_id, status, due_before, limit, cursor)

    def start(self, caller: Caller, request_id: str) -> DsarRequest:
        caller.require(Role.COMPLIANCE)
        request = self._load(caller.org_id, request_id)
        if request.status is not Status.VERIFIED:
            raise Conflict(f"only a verified request can be started (this one is {request.status.value})")
        return self._proceed(request, caller.user_id)

    def extend(self, caller: Caller, request_id: str, data: ExtendIn) -> DsarRequest:
        caller.require(Role.COMPLIANCE)
        request = self._load(caller.org_id, request_id)
        self._require_open(request)
        now = self._clock()
        deadline = request.deadline.extend(now.date(), data.to)
        extended = replace(
            request.with_event("extended", now, f"to {deadline.due.isoformat()}: {data.reason}"),
            deadline=deadline,
            deadline_state=deadline.state(now.date()),
            version=request.version + 1,
        )
        self._requests.save(request, extended)
        due = deadline.due.isoformat()
        self._log(extended, caller.user_id, "request.extended", {"due": due}, per=due)
        if request.identifiers.email:  # Art. 12(3): the person is told of the extension and why
            self._send_once(
                extended,
                f"extension-{deadline.due.isoformat()}",
                request.identifiers.email,
                "Your privacy request: more time needed",
                f"We need more time to complete your request ({request.type.value}).\n"
                f"Reason: {data.reason}\nWe will complete it by {deadline.due.isoformat()}.",
            )
        return extended

    def cancel(self, caller: Caller, request_id: str, reason: str) -> DsarRequest:
        caller.require(Role.COMPLIANCE)
        request = self._load(caller.org_id, request_id)
        self._require_open(request)
        cancelled = replace(
            request.with_status(Status.CANCELLED, self._clock(), reason), version=request.version + 1
        )
        self._requests.save(request, cancelled)  # a running workflow stops at its next step
        self._log(cancelled, caller.user_id, "request.cancelled", {})
        return cancelled

    def retry(self, caller: Caller, request_id: str) -> DsarRequest:
        caller.require(Role.COMPLIANCE)
        request = self._load(caller.org_id, request_id)
        if request.status is not Status.NEEDS_ATTENTION:
            raise Conflict(
                f"only a request that needs attention can be retried (this one is {request.status.value})"
            )
        started = start_workflow(
            self._requests, self._workflows, self._machines.machine_for(request.type), request, self._clock()
        )
        self._log(
            started, caller.user_id, "request.retried", {"attempt": started.attempt}, per=started.attempt
        )
        return started

    def choose_subject(self, caller: Caller, request_id: str, choice: SubjectChoiceIn) -> DsarRequest:
        """Staff decide whom a request in needs_review is about, among its candidates; then it runs."""
        caller.require(Role.COMPLIANCE)
        request = self._load(caller.org_id, request_id)
        if request.status is not Status.NEEDS_REVIEW:
            raise Conflict(
                f"only a request that needs review has a subject to choose ({request.status.value})"
            )
        for kind, ids, field in (
            (CandidateKind.CONTACT, choice.contact_ids, "contact_ids"),
            (CandidateKind.USER, choice.user_ids, "user_ids"),
        ):
            allowed = {candidate.id for candidate in request.candidates if candidate.kind is kind}
            if not set(ids) <= allowed:
                raise InvalidInput(f"choose {field} among the request's candidates", field=field)
        subject = self._resolver.chosen(
            caller.org_id, request.identifiers, choice.contact_ids, choice.user_ids
        )
        now = self._clock()
        chosen = replace(
            request.with_status(Status.VERIFIED, now, f"subject chosen by staff: {choice.reason}"),
            subject=subject,
            version=request.version + 1,
        )
        self._requests.save(request, chosen)
        self._log(
            chosen,
            caller.user_id,
            "subject.chosen",
            {
                "contacts": ",".join(sorted(subject.contact_ids)),
                "users": ",".join(sorted(subject.user_ids)),
                "reason_sha256": digest(choice.reason),
            },
        )
        return self._proceed(chosen, caller.user_id)

    def correct(self, caller: Caller, request_id: str, contact_id: str, patch: ContactPatch) -> Contact:
        caller.require(Role.COMPLIANCE)
        request = self._load(caller.org_id, request_id)
        if request.type is not RequestType.CORRECTION:
            raise Conflict("contact fields are corrected through a correction request")
        if request.status not in (Status.AWAITING_CORRECTION, Status.COMPLETED):
            raise Conflict(f"the request is {request.status.value}: it cannot correct data now")
        if request.subject is None or contact_id not in request.subject.contact_ids:
            raise NotFound("no contact of this request's subject has this id")
        contact = self._corrections.correct(caller.org_id, contact_id, patch)
        fields = sorted(patch.model_dump(exclude_unset=True))
        now = self._clock()
        done = replace(
            request.with_status(Status.COMPLETED, now, f"corrected {', '.join(fields)}"),
            version=request.version + 1,
        )
        self._requests.save(request, done)
        self._log(
            done, caller.user_id, "correction.applied", {"fields": ",".join(fields)}, per=contact.version
        )
        return contact

    def download_url(self, caller: Caller, request_id: str) -> tuple[str, datetime]:
        caller.require(Role.COMPLIANCE)
        return self._download(self._load(caller.org_id, request_id))

    # ------------------------------------------------------------------------------- the public
    def public_request(self, data: PublicRequestIn, client: str) -> DsarRequest:
        """Record a person's own request, email them the confirmation link and, when they gave a
        phone, text it a code: nothing is proven yet. ``client`` is the caller's address: it is only
        hashed, to count requests per hour across every org."""
        now = self._clock()
        self._limits.charge("privacy-request", self._rate_limit, f"ip:{client}")
        self._limits.charge("privacy-request", self._rate_limit, f"email:{data.email}")
        phone = data.phone if data.phone is None else self._e164(data.org_id, data.phone)
        request = DsarRequest(
            org_id=data.org_id,
            id=time_ordered_id(now),
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
        pending = self._record_pending(request, PUBLIC)
        if phone is not None:
            # The page asks for the code whether or not it went out (the answer reveals nothing);
            # a code that could not go now can be asked for again from the confirmation page.
            with contextlib.suppress(DomainError):
                self._send_code(pending, client)
        return pending

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
        self._log(verified, PUBLIC, "request.confirmed", {})
        return self._proceed(verified, PUBLIC)

    def public_download(self, token: str) -> str:
        now = self._clock()
        claims = links.read_download(self._link_key(), token, now)
        request = self._requests.get(claims.org_id, claims.request_id)
        if request is None or request.export_key != claims.key:
            raise Gone("this export is no longer available")
        return self._download(request)[0]

    # ------------------------------------------------------------------------------- internals
    def _record_pending(self, request: DsarRequest, actor: str) -> DsarRequest:
        email = request.identifiers.email
        if self._base_url is None or email is None:
            raise Conflict("confirmation links are not configured for this deployment")
        now = self._clock()
        nonce = secrets.token_urlsafe(24)
        link = links.confirmation_token(self._link_key(), request.org_id, request.id, nonce, now)
        pending = request.with_status(Status.PENDING_CONFIRMATION, now, "confirmation link sent")
        self._requests.create(pending, digest(nonce), int(link.expires_at.timestamp()))
        self._log(pending, actor, "request.created", {"type": pending.type.value})
        what = (
            "delete all data we hold about you"
            if request.type is RequestType.ERASURE
            else f"handle your {request.type.value} request"
        )
        self._send_once(
            pending,
            "confirmation",
            email,
            "Confirm your privacy request",
            f"We received a request to {what}.\nConfirm it within 7 days by opening this link:\n"
            f"{self._base_url}/privacy/confirm?token={link.token}\n"
            "If you did not ask for this, ignore this email and nothing will happen.",
        )
        return pending

    def _proceed(self, request: DsarRequest, actor: str) -> DsarRequest:
        """Run a verified request once its subject is clear: start its workflow, or apply it now
        (restriction), or wait for the corrected fields (correction). A subject that is not clear
        stops the request in needs_review for staff to choose."""
        request = self._resolve(request, actor)
        subject = request.subject
        if subject is None:
            return request
        now = self._clock()
        if request.type in WORKFLOW_TYPES:
            started = start_workflow(
                self._requests, self._workflows, self._machines.machine_for(request.type), request, now
            )
            self._log(started, actor, "workflow.started", {"attempt": started.attempt})
            return started
        if request.type is RequestType.CORRECTION:
            waiting = replace(
                request.with_status(Status.AWAITING_CORRECTION, now), version=request.version + 1
            )
            self._requests.save(request, waiting)
            return waiting
        changed = self._restrictions.set_restricted(request.org_id, subject.contact_ids, not request.lift)
        action = "restriction.lifted" if request.lift else "restriction.applied"
        done = replace(
            request.with_status(Status.COMPLETED, now, f"{action}: {changed} contact(s)"),
            subject=_ids_only(subject),
            version=request.version + 1,
        )
        self._requests.save(request, done)
        self._log(done, actor, action, {"contacts": changed})
        return done

    def _resolve(self, request: DsarRequest, actor: str) -> DsarRequest:
        """The request with its subject stored, or in needs_review with the candidates. What was
        given but not proven is named on the timeline (the identifiers go when an erasure ends)."""
        if request.subject is not None:
            return request
        resolution = self._resolver.resolve(request.org_id, request.identifiers)
        unverified = ", ".join(sorted(request.identifiers.unverified))
        note = f"left out, not proven: {unverified}" if unverified else None
        now = self._clock()
        if resolution.subject is None:
            found = len(resolution.candidates)
            review = replace(
                request.with_status(Status.NEEDS_REVIEW, now, f"{found} candidate(s) to choose from"),
                candidates=resolution.candidates,
                version=request.version + 1,
            )
            review = review.with_event("subject.unverified", now, note) if note else review
            self._requests.save(request, review)
            self._log(review, actor, "subject.needs_review", {"candidates": found, "unverified": unverified})
            return review
        subject = resolution.subject
        resolved = replace(request, subject=subject, version=request.version + 1)
        resolved = resolved.with_event("subject.unverified", now, note) if note else resolved
        self._requests.save(request, resolved)
        counts = {
            "contacts": len(subject.contact_ids),
            "emails": len(subject.emails),
            "phones": len(subject.phones),
        }
        self._log(resolved, actor, "subject.resolved", {**counts, "unverified": unverified})
        return resolved

    def _download(self, request: DsarRequest) -> tuple[str, datetime]:
        if request.export_key is None or request.type not in EXPORT_TYPES:
            raise NotFound("this request has no export to download")
        url = self._downloads.presign(request.export_key, DOWNLOAD_URL_SECONDS)
        if url is None:
            raise Gone("the export has expired; start a new access request")
        return url, self._clock() + timedelta(seconds=DOWNLOAD_URL_SECONDS)

    def _send_once(self, request: DsarRequest, key: str, to: str, subject: str, text: str) -> None:
        send_once(self._requests, self._mailer, request, key, to, subject, text)

    def _staff_verified(self, org_id: str, subject: SubjectIn) -> Identifiers:
        """Staff record what they verified: every identifier they give counts as proven (the
        subject rules still apply: an identifier that reaches several people goes to review)."""
        phone = None if subject.phone is None else self._e164(org_id, subject.phone)
        identifiers = Identifiers(email=subject.email, phone=phone, contact_id=subject.contact_id)
        return replace(identifiers, proven=identifiers.given)

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
        self._log(proven, PUBLIC, "phone.proven", {})

    def _e164(self, org_id: str, raw: str) -> str:
        try:
            return normalize(raw, self._phone_region(org_id)).e164
        except InvalidPhoneNumber as exc:
            raise InvalidInput(f"phone: {exc}", field="phone") from None

    def _load(self, org_id: str, request_id: str) -> DsarRequest:
        request = self._requests.get(org_id, request_id)
        if request is None:
            raise NotFound("no such request")
        return request

    @staticmethod
    def _require_open(request: DsarRequest) -> None:
        if request.status not in OPEN_STATUSES:
            raise Conflict(f"the request is {request.status.value}")

    def _log(
        self,
        request: DsarRequest,
        actor: str,
        action: str,
        detail: Mapping[str, str | int],
        per: object = None,
    ) -> None:
        audit_once(self._audit, request, actor, action, detail, per)


def audit_once(
    audit: AuditLog,
    request: DsarRequest,
    actor: str,
    action: str,
    detail: Mapping[str, str | int],
    per: object,
) -> None:
    """Append an audit entry once per request, action and ``per`` (a store, an attempt...): a
    replayed step finds its entry and appends nothing."""
    key = f"{request.id}:{action}" if per is None else f"{request.id}:{action}:{per}"
    audit.append(request.org_id, key, actor, action, request.id, dict(detail))


def send_once(
    requests: RequestStore, mailer: Mailer, request: DsarRequest, key: str, to: str, subject: str, text: str
) -> None:
    """Send an email at most once per request and ``key``: a replayed step finds the claim and
    sends nothing; a failed send releases it so that the retry sends."""
    if not requests.claim(request.org_id, request.id, key):
        return
    try:
        mailer.send(to, subject, text)
    except Exception:
        requests.release(request.org_id, request.id, key)
        raise TemporarilyUnavailable("the email could not be sent; retry") from None


def _code_scope(request: DsarRequest) -> str:
    return f"dsar:{request.org_id}:{request.id}"


def _ids_only(subject: Subject) -> Subject:
    """What a finished restriction keeps of the subject: the contact ids it flagged."""
    return Subject(org_id=subject.org_id, contact_ids=subject.contact_ids)


def deadline_states(requests: RequestStore, now: datetime) -> dict[str, int]:
    """The daily check: a request whose confirmation link ran out unused expires; every other open
    request's deadline state is recomputed (due within 7 days, overdue) and stored when it changed.
    Returns how many open requests are in each state, and how many expired."""
    counts = {state.value: 0 for state in DeadlineState} | {Status.EXPIRED.value: 0}
    today = now.date()
    for org_id, request_id in requests.open_requests():
        request = requests.get(org_id, request_id)
        if request is None or request.status not in OPEN_STATUSES:
            continue
        if request.status is Status.PENDING_CONFIRMATION and now > request.created_at + CONFIRMATION_TTL:
            expired = request.with_status(Status.EXPIRED, now, "the confirmation link was not used")
            _save_quietly(requests, request, replace(expired, version=request.version + 1))
            counts[Status.EXPIRED.value] += 1
            continue
        state = request.deadline.state(today)
        counts[state.value] += 1
        if state is not request.deadline_state:
            _save_quietly(
                requests, request, replace(request, deadline_state=state, version=request.version + 1)
            )
    return counts


def _save_quietly(requests: RequestStore, old: DsarRequest, new: DsarRequest) -> None:
    with contextlib.suppress(Conflict):  # changed meanwhile (staff acted): tomorrow's run sees it again
        requests.save(old, new)
