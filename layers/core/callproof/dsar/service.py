"""Data-subject requests as compliance staff drive them (``functions/dsar``).

Staff record a request with the verification they performed (an erasure still waits for the person's
email confirmation), list and read requests, start, extend, cancel and retry them, choose the subject
of a request in needs_review, apply a correction's fields and download an export. What a request goes
through once recorded is ``callproof.dsar.lifecycle``, shared with the person's own requests
(``callproof.dsar.public``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from callproof.dsar import notices
from callproof.dsar.deadlines import Deadline
from callproof.dsar.model import (
    OPEN_STATUSES,
    CandidateKind,
    DsarRequest,
    Identifiers,
    RequestType,
    Status,
)
from callproof.dsar.once import digest
from callproof.dsar.self_service import SelfService
from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.ids import time_ordered_id
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.contacts.model import Contact, ContactPatch
    from callproof.dsar.api import AnswerIn, ExtendIn, RequestIn, SubjectChoiceIn, SubjectIn
    from callproof.dsar.lifecycle import RequestLifecycle
    from callproof.dsar.ports import Corrections, MemberAccounts
    from callproof.dsar.subjects import SubjectResolver


class DsarService:
    def __init__(
        self,
        lifecycle: RequestLifecycle,
        resolver: SubjectResolver,
        corrections: Corrections,
        members: MemberAccounts | None = None,
    ) -> None:
        # A member's own requests from the app (``callproof.dsar.self_service``).
        self.own = SelfService(lifecycle, members) if members is not None else None
        self._lifecycle = lifecycle
        self._requests = lifecycle.requests
        self._clock = lifecycle.clock
        self._resolver = resolver
        self._corrections = corrections

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
            deadline=self._lifecycle.deadline(data.type, Deadline(data.jurisdiction, data.received)),
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
            return self._lifecycle.record_pending(request, caller.user_id)
        self._requests.create(request, None, None)
        self._lifecycle.log(request, caller.user_id, "request.created", {"type": request.type.value})
        return self._lifecycle.proceed(request, caller.user_id) if data.start else request

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
        return self._lifecycle.proceed(request, caller.user_id)

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
        self._lifecycle.log(extended, caller.user_id, "request.extended", {"due": due}, per=due)
        if request.identifiers.email:  # Art. 12(3): the person is told of the extension and why
            self._lifecycle.send_once(
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
        cancelled = self._lifecycle.move(request, Status.CANCELLED, reason)  # the workflow stops
        self._lifecycle.log(cancelled, caller.user_id, "request.cancelled", {})
        return cancelled

    def retry(self, caller: Caller, request_id: str) -> DsarRequest:
        caller.require(Role.COMPLIANCE)
        request = self._load(caller.org_id, request_id)
        if request.status is not Status.NEEDS_ATTENTION:
            raise Conflict(
                f"only a request that needs attention can be retried (this one is {request.status.value})"
            )
        started = self._lifecycle.start_workflow(request, self._clock())
        self._lifecycle.log(
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
        chosen = self._lifecycle.move(
            request, Status.VERIFIED, f"subject chosen by staff: {choice.reason}", subject=subject
        )
        self._lifecycle.log(
            chosen,
            caller.user_id,
            "subject.chosen",
            {
                "contacts": ",".join(sorted(subject.contact_ids)),
                "users": ",".join(sorted(subject.user_ids)),
                "reason_sha256": digest(choice.reason),
            },
        )
        return self._lifecycle.proceed(chosen, caller.user_id)

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
        if request.identifiers.email:
            key = notices.correction_key(contact.id, contact.version)
            self._lifecycle.send_once(request, key, request.identifiers.email, *notices.correction(fields))
        now = self._clock()
        done = replace(
            request.with_status(Status.COMPLETED, now, f"corrected {', '.join(fields)}"),
            version=request.version + 1,
        )
        self._requests.save(request, done)
        self._lifecycle.log(
            done, caller.user_id, "correction.applied", {"fields": ",".join(fields)}, per=contact.version
        )
        return contact

    def investigate(self, caller: Caller, request_id: str) -> DsarRequest:
        """Staff start looking into a received complaint."""
        caller.require(Role.COMPLIANCE)
        request = self._complaint(caller.org_id, request_id, (Status.RECEIVED,))
        investigating = self._lifecycle.move(request, Status.INVESTIGATING)
        self._lifecycle.log(investigating, caller.user_id, "complaint.investigating", {})
        return investigating

    def answer(self, caller: Caller, request_id: str, data: AnswerIn) -> DsarRequest:
        """Answer a complaint in writing: emailed to the person (once, whatever is retried), kept on
        the request and audited under digests with the day it went and whether it was on time."""
        caller.require(Role.COMPLIANCE)
        request = self._complaint(caller.org_id, request_id, (Status.RECEIVED, Status.INVESTIGATING))
        email = request.identifiers.email
        if email is None:
            raise Conflict("this complaint has no email address to answer")
        subject_line, text = notices.answer(request, data.outcome, data.steps)
        self._lifecycle.send_once(request, notices.COMPLAINT_KEY, email, subject_line, text)
        now = self._clock()
        answered = self._lifecycle.move(
            request,
            Status.ANSWERED,
            "answered in writing",
            answer=text,
            deadline_state=request.deadline.state(now.date()),
        )
        self._lifecycle.log(
            answered,
            caller.user_id,
            "complaint.answered",
            {
                "answered_on": now.date().isoformat(),
                "due": request.deadline.due.isoformat(),
                "on_time": int(now.date() <= request.deadline.due),
                "answer_sha256": digest(text),
            },
        )
        return answered

    def _complaint(self, org_id: str, request_id: str, statuses: tuple[Status, ...]) -> DsarRequest:
        request = self._load(org_id, request_id)
        if request.type is not RequestType.COMPLAINT:
            raise Conflict("only a complaint is investigated and answered in writing")
        if request.status not in statuses:
            raise Conflict(f"the complaint is {request.status.value}")
        return request

    def download_url(self, caller: Caller, request_id: str) -> tuple[str, datetime]:
        caller.require(Role.COMPLIANCE)
        return self._lifecycle.download(self._load(caller.org_id, request_id))

    def _staff_verified(self, org_id: str, subject: SubjectIn) -> Identifiers:
        """Staff record what they verified: every identifier they give counts as proven (the
        subject rules still apply: an identifier that reaches several people goes to review)."""
        phone = None if subject.phone is None else self._lifecycle.e164(org_id, subject.phone)
        identifiers = Identifiers(email=subject.email, phone=phone, contact_id=subject.contact_id)
        return replace(identifiers, proven=identifiers.given)

    def _load(self, org_id: str, request_id: str) -> DsarRequest:
        request = self._requests.get(org_id, request_id)
        if request is None:
            raise NotFound("no such request")
        return request

    @staticmethod
    def _require_open(request: DsarRequest) -> None:
        if request.status not in OPEN_STATUSES:
            raise Conflict(f"the request is {request.status.value}")
