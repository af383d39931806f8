"""How a request moves from recorded to running, whoever moves it: compliance staff
(``callproof.dsar.service``) or the person themselves (``callproof.dsar.public``).

A request that must be confirmed waits in pending_confirmation for the link emailed to the person
(an erasure always does). A verified request first gets its subject, or stops in needs_review for
staff to choose among the candidates; then access, portability and erasure start their workflow
(Step Functions), restriction applies at once and correction waits for staff to apply the corrected
fields. Every change is audited under pseudonymous ids.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from callproof.dsar import links, notices
from callproof.dsar.model import EXPORT_TYPES, WORKFLOW_TYPES, DsarRequest, RequestType, Status, Subject
from callproof.dsar.once import audit_once, digest, send_once
from callproof.errors import Conflict, Gone, InvalidInput, NotFound
from callproof.ids import utc_now
from callproof.phones import InvalidPhoneNumber, normalize

if TYPE_CHECKING:
    from callproof.dsar.audit import AuditLog
    from callproof.dsar.deadlines import Deadline
    from callproof.dsar.ports import DownloadLinks, Machines, Mailer, RequestStore, Restrictions, Workflows
    from callproof.dsar.subjects import SubjectResolver

DOWNLOAD_URL_SECONDS = 300
COMPLAINT_DAYS = 30  # a complaint's answer is due this many days after receipt (DSAR_COMPLAINT_DAYS)


class RequestLifecycle:
    """The steps staff and the public share. Its ``requests`` and ``clock`` are the services' too:
    one store of requests and one time for every step of a call."""

    def __init__(
        self,
        requests: RequestStore,
        audit: AuditLog,
        workflows: Workflows,
        machines: Machines,
        resolver: SubjectResolver,
        restrictions: Restrictions,
        downloads: DownloadLinks,
        mailer: Mailer,
        link_key: Callable[[], bytes],
        phone_region: Callable[[str], str],
        public_base_url: str | None,
        clock: Callable[[], datetime] = utc_now,
        complaint_days: int = COMPLAINT_DAYS,
    ) -> None:
        self.requests = requests
        self.complaint_days = complaint_days
        self.clock = clock
        self._resolver = resolver
        self._audit = audit
        self._workflows = workflows
        self._machines = machines
        self._restrictions = restrictions
        self._downloads = downloads
        self._mailer = mailer
        self._link_key = link_key
        self._phone_region = phone_region
        self._base_url = public_base_url.rstrip("/") if public_base_url else None

    def record_pending(self, request: DsarRequest, actor: str) -> DsarRequest:
        """Store the request in pending_confirmation and email the person its confirmation link."""
        email = request.identifiers.email
        if self._base_url is None or email is None:
            raise Conflict("confirmation links are not configured for this deployment")
        request = replace(request, deadline=self.deadline(request.type, request.deadline))
        now = self.clock()
        nonce = secrets.token_urlsafe(24)
        link = links.confirmation_token(self._link_key(), request.org_id, request.id, nonce, now)
        pending = request.with_status(Status.PENDING_CONFIRMATION, now, "confirmation link sent")
        self.requests.create(pending, digest(nonce), int(link.expires_at.timestamp()))
        self.log(pending, actor, "request.created", {"type": pending.type.value})
        what = (
            "delete all data we hold about you"
            if request.type is RequestType.ERASURE
            else f"handle your {request.type.value} request"
        )
        self.send_once(
            pending,
            "confirmation",
            email,
            "Confirm your privacy request",
            f"We received a request to {what}.\nConfirm it within 7 days by opening this link:\n"
            f"{self._base_url}/privacy/confirm?token={link.token}\n"
            "If you did not ask for this, ignore this email and nothing will happen.",
        )
        return pending

    def proceed(self, request: DsarRequest, actor: str) -> DsarRequest:
        """Run a verified request once its subject is clear: start its workflow, or apply it now
        (restriction), or wait for the corrected fields (correction). A subject that is not clear
        stops the request in needs_review for staff to choose. A complaint touches no data: it is
        received, for staff to investigate and answer in writing."""
        if request.type is RequestType.COMPLAINT:
            received = self.move(request, Status.RECEIVED)
            self.log(received, actor, "complaint.received", {"due": received.deadline.due.isoformat()})
            return received
        request = self._resolve(request, actor)
        subject = request.subject
        if subject is None:
            return request
        now = self.clock()
        if request.type in WORKFLOW_TYPES:
            started = self.start_workflow(request, now)
            self.log(started, actor, "workflow.started", {"attempt": started.attempt})
            return started
        if request.type is RequestType.CORRECTION:
            waiting = replace(
                request.with_status(Status.AWAITING_CORRECTION, now), version=request.version + 1
            )
            self.requests.save(request, waiting)
            return waiting
        changed = self._restrictions.set_restricted(request.org_id, subject.contact_ids, not request.lift)
        if request.identifiers.email:  # "we will let you know how the restriction affects your use"
            self.send_once(
                request,
                notices.RESTRICTION_KEY,
                request.identifiers.email,
                *notices.restriction(request, changed),
            )
        action = "restriction.lifted" if request.lift else "restriction.applied"
        done = replace(
            request.with_status(Status.COMPLETED, now, f"{action}: {changed} contact(s)"),
            subject=_ids_only(subject),
            version=request.version + 1,
        )
        self.requests.save(request, done)
        self.log(done, actor, action, {"contacts": changed})
        return done

    def deadline(self, kind: RequestType, deadline: Deadline) -> Deadline:
        """A request's deadline: a complaint's is its own number of days from receipt."""
        if kind is RequestType.COMPLAINT and deadline.days is None:
            return replace(deadline, days=self.complaint_days)
        return deadline

    def move(
        self, request: DsarRequest, status: Status, detail: str | None = None, **changes: Any
    ) -> DsarRequest:
        """Store ``request`` in ``status`` (on the timeline with ``detail``) with ``changes``, as its
        next version (``Conflict`` if it changed meanwhile)."""
        moved = replace(
            request.with_status(status, self.clock(), detail),
            **changes,
            version=request.version + 1,
        )
        self.requests.save(request, moved)
        return moved

    def start_workflow(self, request: DsarRequest, now: datetime) -> DsarRequest:
        """Mark the request in progress and start its next execution (named after the attempt, so a
        replayed start never runs twice)."""
        attempt = request.attempt + 1
        started = replace(
            request.with_status(Status.IN_PROGRESS, now), attempt=attempt, version=request.version + 1
        )
        self.requests.save(request, started)
        self._workflows.start(
            self._machines.machine_for(request.type),
            f"{request.id}-{attempt}",
            {"org_id": request.org_id, "request_id": request.id, "attempt": attempt},
        )
        return started

    def download(self, request: DsarRequest) -> tuple[str, datetime]:
        """A short-lived URL of the request's export, and when it stops working."""
        if request.export_key is None or request.type not in EXPORT_TYPES:
            raise NotFound("this request has no export to download")
        url = self._downloads.presign(request.export_key, DOWNLOAD_URL_SECONDS)
        if url is None:
            raise Gone("the export has expired; start a new access request")
        return url, self.clock() + timedelta(seconds=DOWNLOAD_URL_SECONDS)

    def e164(self, org_id: str, raw: str) -> str:
        """A phone as given, read with the org's default region unless it starts with +."""
        try:
            return normalize(raw, self._phone_region(org_id)).e164
        except InvalidPhoneNumber as exc:
            raise InvalidInput(f"phone: {exc}", field="phone") from None

    def send_once(self, request: DsarRequest, key: str, to: str, subject: str, text: str) -> None:
        send_once(self.requests, self._mailer, request, key, to, subject, text)

    def log(
        self,
        request: DsarRequest,
        actor: str,
        action: str,
        detail: Mapping[str, str | int],
        per: object = None,
    ) -> None:
        audit_once(self._audit, request, actor, action, detail, per)

    def _resolve(self, request: DsarRequest, actor: str) -> DsarRequest:
        """The request with its subject stored, or in needs_review with the candidates. What was
        given but not proven is named on the timeline (the identifiers go when an erasure ends)."""
        if request.subject is not None:
            return request
        resolution = self._resolver.resolve(request.org_id, request.identifiers)
        unverified = ", ".join(sorted(request.identifiers.unverified))
        note = f"left out, not proven: {unverified}" if unverified else None
        now = self.clock()
        if resolution.subject is None:
            found = len(resolution.candidates)
            review = replace(
                request.with_status(Status.NEEDS_REVIEW, now, f"{found} candidate(s) to choose from"),
                candidates=resolution.candidates,
                version=request.version + 1,
            )
            review = review.with_event("subject.unverified", now, note) if note else review
            self.requests.save(request, review)
            self.log(review, actor, "subject.needs_review", {"candidates": found, "unverified": unverified})
            return review
        subject = resolution.subject
        resolved = replace(request, subject=subject, version=request.version + 1)
        resolved = resolved.with_event("subject.unverified", now, note) if note else resolved
        self.requests.save(request, resolved)
        counts = {
            "contacts": len(subject.contact_ids),
            "emails": len(subject.emails),
            "phones": len(subject.phones),
        }
        self.log(resolved, actor, "subject.resolved", {**counts, "unverified": unverified})
        return resolved


def _ids_only(subject: Subject) -> Subject:
    """What a finished restriction keeps of the subject: the contact ids it flagged."""
    return Subject(org_id=subject.org_id, contact_ids=subject.contact_ids)
