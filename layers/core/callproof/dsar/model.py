"""Data-subject requests: the entity, its statuses, per-store progress and the API models."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from callproof.contacts.model import Email, RawPhone
from callproof.dsar.deadlines import Deadline, DeadlineState, Jurisdiction

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


class RequestType(StrEnum):
    ACCESS = "access"
    ERASURE = "erasure"
    CORRECTION = "correction"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"


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


OPEN_STATUSES = frozenset(
    {
        Status.PENDING_CONFIRMATION,
        Status.VERIFIED,
        Status.IN_PROGRESS,
        Status.AWAITING_CORRECTION,
        Status.NEEDS_REVIEW,
        Status.NEEDS_ATTENTION,
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
    residue: int | None = None
    attempts: int = 0
    error: str | None = None  # an error class name, never a message (it could hold personal data)


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
    """What the requester gave: personal data, kept on the request until an erasure finishes.

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
    attempt: int = 0  # workflow executions started so far
    version: int = 1

    def with_event(self, event: str, at: datetime, detail: str | None = None) -> DsarRequest:
        return replace(self, timeline=(*self.timeline, TimelineEvent(at, event, detail)))

    def with_status(self, status: Status, at: datetime, detail: str | None = None) -> DsarRequest:
        return replace(
            self, status=status, timeline=(*self.timeline, TimelineEvent(at, status.value, detail))
        )


# ------------------------------------------------------------------------------------ API models
RequestId = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
ContactIdText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]
Evidence = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubjectIn(_Strict):
    """At least one identifier; a phone is read with the org's default region unless it starts with +."""

    email: Email | None = None
    phone: RawPhone | None = None
    contact_id: ContactIdText | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> SubjectIn:
        if not (self.email or self.phone or self.contact_id):
            raise ValueError("give at least one of email, phone, contact_id")
        return self


class RequestIn(_Strict):
    """A request recorded by compliance staff, with the verification they performed."""

    type: RequestType
    subject: SubjectIn
    jurisdiction: Jurisdiction
    received: date
    verification: Evidence
    details: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    recipient_email: Email | None = None
    lift: bool = False
    start: bool = True  # start the workflow now (erasure still waits for the subject's confirmation)

    @model_validator(mode="after")
    def _consistent(self) -> RequestIn:
        _check_type_fields(self.type, self.recipient_email, self.lift)
        if self.type is RequestType.ERASURE and not self.subject.email:
            raise ValueError("an erasure needs the subject's email: it is confirmed by email")
        return self


class PublicRequestIn(_Strict):
    """A request from the person themselves (no login): confirmed through a link sent to ``email``."""

    org_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    type: RequestType
    email: Email
    phone: RawPhone | None = None
    jurisdiction: Jurisdiction
    recipient_email: Email | None = None
    lift: bool = False
    details: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PublicRequestIn:
        _check_type_fields(self.type, self.recipient_email, self.lift)
        return self


def _check_type_fields(kind: RequestType, recipient_email: str | None, lift: bool) -> None:
    if (kind is RequestType.PORTABILITY) != (recipient_email is not None):
        raise ValueError("recipient_email is required for portability, and only for portability")
    if lift and kind is not RequestType.RESTRICTION:
        raise ValueError("lift applies to restriction requests only")


class SubjectChoiceIn(_Strict):
    """Staff choose whom a request in needs_review is about, among its candidates."""

    contact_ids: Annotated[list[ContactIdText], Field(max_length=100)] = []
    user_ids: Annotated[list[ContactIdText], Field(max_length=100)] = []
    reason: Reason

    @model_validator(mode="after")
    def _someone(self) -> SubjectChoiceIn:
        if not (self.contact_ids or self.user_ids):
            raise ValueError("choose at least one candidate (when none is the person, cancel the request)")
        return self


class ExtendIn(_Strict):
    reason: Reason
    to: date | None = None  # default: the legal maximum


class CancelIn(_Strict):
    reason: Reason


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StoreProgressOut(_FromDomain):
    status: StepStatus
    rows: int
    deleted: int
    kept: int
    residue: int | None
    attempts: int
    error: str | None


class TimelineEventOut(_FromDomain):
    at: datetime
    event: str
    detail: str | None


class RequestSummaryOut(BaseModel):
    id: str
    type: RequestType
    status: Status
    jurisdiction: Jurisdiction
    received: date
    due: date
    days_left: int
    deadline_state: DeadlineState
    extended: bool
    created_at: datetime

    @classmethod
    def of(cls, request: DsarRequest, today: date) -> Self:
        deadline = request.deadline
        open_now = request.status in OPEN_STATUSES  # a closed request keeps its last deadline state
        return cls.model_validate(
            {
                "id": request.id,
                "type": request.type,
                "status": request.status,
                "jurisdiction": deadline.jurisdiction,
                "received": deadline.received,
                "due": deadline.due,
                "days_left": deadline.days_left(today),
                "deadline_state": deadline.state(today) if open_now else request.deadline_state,
                "extended": deadline.extended_to is not None,
                "created_at": request.created_at,
                **cls._details(request),
            }
        )

    @staticmethod
    def _details(request: DsarRequest) -> dict[str, Any]:
        return {}


class CandidateOut(_FromDomain):
    kind: CandidateKind
    id: str
    via: list[str]


class SubjectOut(BaseModel):
    email: str | None
    phone: str | None
    contact_id: str | None
    proven: list[Proof]
    unverified: list[Proof]  # given but not proven: left out of the subject
    contacts_found: list[str] | None
    users_found: list[str] | None
    candidates: list[CandidateOut]  # needs_review: choose among these


class RequestOut(RequestSummaryOut):
    subject: SubjectOut
    recipient_email: str | None
    lift: bool
    verification: str | None
    details: str | None
    stores: dict[str, StoreProgressOut]
    steps: dict[str, StepStatus]
    timeline: list[TimelineEventOut]
    download_ready: bool

    @staticmethod
    def _details(request: DsarRequest) -> dict[str, Any]:
        identifiers = request.identifiers
        return {
            "subject": {
                "email": identifiers.email,
                "phone": identifiers.phone,
                "contact_id": identifiers.contact_id,
                "proven": sorted(identifiers.proven),
                "unverified": sorted(identifiers.unverified),
                "contacts_found": sorted(request.subject.contact_ids) if request.subject else None,
                "users_found": sorted(request.subject.user_ids) if request.subject else None,
                "candidates": request.candidates,
            },
            "recipient_email": request.recipient_email,
            "lift": request.lift,
            "verification": request.verification,
            "details": request.details,
            "stores": request.stores,
            "steps": request.steps,
            "timeline": request.timeline,
            "download_ready": request.export_key is not None and request.type in EXPORT_TYPES,
        }


class RequestPage(BaseModel):
    items: list[RequestSummaryOut]
    next_cursor: str | None


class DownloadOut(BaseModel):
    url: str
    expires_at: datetime
