"""Data-subject requests: the entity, its statuses and per-store progress (the API's request and
response models are in ``callproof.dsar.api``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from callproof.dsar.deadlines import Deadline, DeadlineState

REQUEST_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CONFIRMATION_DAYS = 7
DOWNLOAD_DAYS = 7


Cell = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom a request is about, resolved once before anything runs and kept on the request.

    Built from proven identifiers only (``callproof.dsar.subjects``): the contacts they name bring
    their other emails and numbers when those reach nobody else, so a call to the subject's second
    number is found too. After an erasure the contacts are gone, which is why the residue scan
    reads this stored copy.
    """

    org_id: str
    emails: frozenset[str] = frozenset()  # lower-cased
    phones: frozenset[str] = frozenset()  # E.164
    contact_ids: frozenset[str] = frozenset()
    user_ids: frozenset[str] = frozenset()  # org members' accounts (only ever chosen by staff)

    @property
    def empty(self) -> bool:
        return not (self.emails or self.phones or self.contact_ids or self.user_ids)


@dataclass(frozen=True, slots=True)
class Erased:
    """What one store's erasure did: items and objects deleted, and items kept under a legal duty."""

    deleted: int = 0
    kept: int = 0
    kept_reasons: tuple[str, ...] = field(default=())  # e.g. "sms_opt_out: legal obligation"
    notes: tuple[str, ...] = field(default=())  # what else staff should know (a revoke that failed)
    more: bool = False  # a round stopped at its time budget: erase again to continue (ErasesInRounds)


class RequestType(StrEnum):
    ACCESS = "access"
    ERASURE = "erasure"
    CORRECTION = "correction"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    COMPLAINT = "complaint"  # answered in writing by staff: received -> investigating -> answered


EXPORT_TYPES = frozenset({RequestType.ACCESS, RequestType.PORTABILITY})
WORKFLOW_TYPES = EXPORT_TYPES | {RequestType.ERASURE}


class Status(StrEnum):
    PENDING_CONFIRMATION = "pending_confirmation"  # waiting for the subject's emailed link
    VERIFIED = "verified"  # confirmed or verified by staff, not started
    IN_PROGRESS = "in_progress"  # a workflow execution is running
    AWAITING_CORRECTION = "awaiting_correction"  # correction: staff apply the fields through PATCH
    NEEDS_REVIEW = "needs_review"  # the identifiers reach several people or an account: staff choose
    NEEDS_ATTENTION = "needs_attention"  # a step failed after its retries: staff may retry
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the confirmation link ran out unused
    RECEIVED = "received"  # complaint: recorded, not yet looked into
    INVESTIGATING = "investigating"  # complaint: staff are looking into it
    ANSWERED = "answered"  # complaint: staff answered the person in writing


OPEN_STATUSES = frozenset(
    {
        Status.PENDING_CONFIRMATION,
        Status.VERIFIED,
        Status.IN_PROGRESS,
        Status.AWAITING_CORRECTION,
        Status.NEEDS_REVIEW,
        Status.NEEDS_ATTENTION,
        Status.RECEIVED,
        Status.INVESTIGATING,
    }
)


class StepStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StoreProgress:
    """One store's part of a workflow: collected rows (export) or deleted / kept / residue (erasure)."""

    status: StepStatus = StepStatus.PENDING
    rows: int = 0
    deleted: int = 0
    kept: int = 0
    kept_because: str | None = None  # erasure: the exception the kept items fall under (no data)
    residue: int | None = None
    attempts: int = 0
    error: str | None = None  # an error class name, never a message (it could hold personal data)
    parts: int = 0  # export: staged CSV parts written so far (``staging/<store>/<n>.csv``)
    cursor: str | None = None  # export: where the store's next collect round starts (its own position)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    event: str  # a status, or a step such as "export.assembled"
    detail: str | None = None


class Proof(StrEnum):
    """An identifier of the request, named by kind (never by value)."""

    EMAIL = "email"
    PHONE = "phone"
    CONTACT_ID = "contact_id"


@dataclass(frozen=True, slots=True)
class Identifiers:
    """What the requester gave: personal data, kept on the request while it is open (removed when it
    closes, but for the staff-given contact id: ``DsarRequest.closing``).

    ``proven`` names the identifiers the person proved (the email by its confirmation link, the
    phone by a texted code) or staff verified; only those reach data."""

    email: str | None = None
    phone: str | None = None  # E.164
    contact_id: str | None = None
    proven: frozenset[Proof] = frozenset()

    @property
    def given(self) -> frozenset[Proof]:
        values = {Proof.EMAIL: self.email, Proof.PHONE: self.phone, Proof.CONTACT_ID: self.contact_id}
        return frozenset(kind for kind, value in values.items() if value)

    @property
    def unverified(self) -> frozenset[Proof]:
        """Given but not proven: left out of the subject, listed for staff."""
        return self.given - self.proven

    def proving(self, kind: Proof) -> Identifiers:
        return replace(self, proven=self.proven | {kind})


class CandidateKind(StrEnum):
    CONTACT = "contact"
    USER = "user"  # an org member's account


@dataclass(frozen=True, slots=True)
class Candidate:
    """Someone the proven identifiers reach while the subject is not clear: ids and how each was
    reached (``email``, ``phone``, ``contact_id``, or ``phone of contact <id>``), no other data."""

    kind: CandidateKind
    id: str
    via: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DsarRequest:
    org_id: str
    id: str
    type: RequestType
    status: Status
    deadline: Deadline
    identifiers: Identifiers
    created_at: datetime
    created_by: str  # a staff user id, or "public"
    verification: str | None = None
    details: str | None = None  # the person's own words (what to correct, for instance)
    recipient_email: str | None = None  # portability: the third party who receives the export
    lift: bool = False  # restriction: lift an earlier restriction instead of setting one
    deadline_state: DeadlineState = DeadlineState.ON_TRACK
    subject: Subject | None = None  # resolved before anything runs (or chosen by staff)
    candidates: tuple[Candidate, ...] = ()  # needs_review: whom staff choose among
    stores: dict[str, StoreProgress] = field(default_factory=dict)
    steps: dict[str, StepStatus] = field(default_factory=dict)  # workflow steps other than stores
    timeline: tuple[TimelineEvent, ...] = ()
    export_key: str | None = None
    answer: str | None = None  # complaint: the written answer sent to the person (outcome and steps)
    attempt: int = 0  # workflow executions started so far
    identifiers_removed_at: datetime | None = None  # when the request closed and lost them (closing)
    version: int = 1

    def with_event(self, event: str, at: datetime, detail: str | None = None) -> DsarRequest:
        return replace(self, timeline=(*self.timeline, TimelineEvent(at, event, detail)))

    def with_status(self, status: Status, at: datetime, detail: str | None = None) -> DsarRequest:
        """The request in ``status``; a status that closes it also removes the person's identifiers
        (``closing``), so every way a request ends (completed, cancelled, expired, answered) loses
        them in the same write as the status."""
        moved = replace(
            self, status=status, timeline=(*self.timeline, TimelineEvent(at, status.value, detail))
        )
        return moved if status in OPEN_STATUSES else moved.closing(at)

    def closing(self, at: datetime) -> DsarRequest:
        """The record a closed request keeps for accountability (ADR 0022): ids, type, status, dates,
        deadline, per-store counts, steps, timeline, the complaint's answer and the kinds of
        identifier proven; without what names the person: the email, phone, the subject's emails and
        phones, the recipient's address, the person's own words (``details``) and the verification
        staff described. The contact and account ids stay (pseudonymous, and what a correction of a
        completed request still needs). Idempotent: a closed request keeps its first removal time."""
        return replace(
            self,
            identifiers=Identifiers(contact_id=self.identifiers.contact_id, proven=self.identifiers.proven),
            subject=(
                None
                if self.subject is None
                else Subject(
                    org_id=self.subject.org_id,
                    contact_ids=self.subject.contact_ids,
                    user_ids=self.subject.user_ids,
                )
            ),
            details=None,
            recipient_email=None,
            verification=None,
            identifiers_removed_at=self.identifiers_removed_at or at,
        )
