"""Request / response models of the data-subject request HTTP API (they also make the OpenAPI
document): what staff and the people themselves send, and the request as the API shows it."""

from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from callproof.dsar.deadlines import DeadlineState, Jurisdiction
from callproof.dsar.model import (
    EXPORT_TYPES,
    OPEN_STATUSES,
    REQUEST_ID_PATTERN,
    CandidateKind,
    DsarRequest,
    Proof,
    RequestType,
    Status,
    StepStatus,
)
from callproof.models import Model
from callproof.values import FREE_TEXT, ISO_DATE, JSON_SCALAR, Email, RawPhone

RequestId = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
# Identifiers are matched as sent: the models strip their text, and the patterns allow no space.
ContactIdText = Annotated[str, StringConstraints(strip_whitespace=False, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
OrgIdText = Annotated[
    str, StringConstraints(strip_whitespace=False, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000), FREE_TEXT]
Evidence = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), FREE_TEXT]
Details = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), FREE_TEXT]
AnswerText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=5000), FREE_TEXT
]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubjectIn(_Strict):
    """At least one identifier; a phone is read with the org's default region unless it starts with +."""

    email: Email | None = None
    phone: RawPhone | None = None
    contact_id: ContactIdText | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Self:
        if not (self.email or self.phone or self.contact_id):
            raise ValueError("give at least one of email, phone, contact_id")
        return self


class RequestIn(_Strict):
    """A request recorded by compliance staff, with the verification they performed."""

    type: RequestType
    subject: SubjectIn
    jurisdiction: Jurisdiction
    received: Annotated[date, ISO_DATE]
    verification: Evidence
    details: Details | None = None
    recipient_email: Email | None = None
    lift: Annotated[bool, JSON_SCALAR] = False
    # start the workflow now (erasure still waits for the subject's confirmation)
    start: Annotated[bool, JSON_SCALAR] = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_type_fields(self.type, self.recipient_email, self.lift, self.details)
        if self.type is RequestType.ERASURE and not self.subject.email:
            raise ValueError("an erasure needs the subject's email: it is confirmed by email")
        if self.type is RequestType.COMPLAINT and not self.subject.email:
            raise ValueError("a complaint needs the person's email: it is answered in writing")
        return self


class PublicRequestIn(_Strict):
    """A request from the person themselves (no login): confirmed through a link sent to ``email``."""

    org_id: OrgIdText
    type: RequestType
    email: Email
    phone: RawPhone | None = None
    jurisdiction: Jurisdiction
    recipient_email: Email | None = None
    lift: Annotated[bool, JSON_SCALAR] = False
    details: Details | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_type_fields(self.type, self.recipient_email, self.lift, self.details)
        return self


def _check_type_fields(
    kind: RequestType, recipient_email: str | None, lift: bool, details: str | None
) -> None:
    if (kind is RequestType.PORTABILITY) != (recipient_email is not None):
        raise ValueError("recipient_email is required for portability, and only for portability")
    if lift and kind is not RequestType.RESTRICTION:
        raise ValueError("lift applies to restriction requests only")
    if kind is RequestType.COMPLAINT and not details:
        raise ValueError("a complaint needs details: what happened, in the person's own words")


class AnswerIn(_Strict):
    """Staff answer a complaint in writing: the outcome and the steps taken (emailed to the person,
    who is also told of their right to contact a supervisory authority)."""

    outcome: AnswerText
    steps: AnswerText


class SubjectChoiceIn(_Strict):
    """Staff choose whom a request in needs_review is about, among its candidates."""

    contact_ids: Annotated[list[ContactIdText], Field(max_length=100, default=[])]
    user_ids: Annotated[list[ContactIdText], Field(max_length=100, default=[])]
    reason: Reason

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not (self.contact_ids or self.user_ids):
            raise ValueError("choose at least one candidate (when none is the person, cancel the request)")
        return self


class ExtendIn(_Strict):
    reason: Reason
    to: Annotated[date, ISO_DATE] | None = None  # default: the legal maximum


class CancelIn(_Strict):
    reason: Reason


class _FromDomain(Model):
    model_config = ConfigDict(from_attributes=True)


class OwnRequestOut(Model):
    """A member's own request from the app: where it stands and what happens next."""

    request_id: str
    type: RequestType
    status: Status  # in_progress (export) or pending_confirmation (erasure)
    due: date
    message: str

    @classmethod
    def of(cls, request: DsarRequest) -> Self:
        if request.status is Status.PENDING_CONFIRMATION:
            message = (
                "We emailed you a link to confirm the deletion of your account; nothing is deleted "
                "before you open it. The contacts you own and calls you logged stay with your "
                "organisation, reassigned to an admin."
            )
        else:
            message = (
                "We are preparing a copy of your account data; the download link will be emailed to you."
            )
        return cls(
            request_id=request.id,
            type=request.type,
            status=request.status,
            due=request.deadline.due,
            message=message,
        )


class PublicRequestAccepted(Model):
    status: Status  # pending_confirmation
    message: str


class StoreProgressOut(_FromDomain):
    status: StepStatus
    rows: int
    deleted: int
    kept: int
    kept_because: str | None
    residue: int | None
    attempts: int
    error: str | None


class TimelineEventOut(_FromDomain):
    at: datetime
    event: str
    detail: str | None


class RequestSummaryOut(Model):
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


class SubjectOut(Model):
    email: str | None
    phone: str | None
    contact_id: str | None
    proven: list[Proof]
    unverified: list[Proof]  # given but not proven: left out of the subject
    contacts_found: list[str] | None
    users_found: list[str] | None
    candidates: list[CandidateOut]  # needs_review: choose among these
    removed_at: datetime | None = Field(
        description="When the request closed and its identifiers (email, phone, the subject's emails "
        "and phones, recipient, details, verification) were removed; null while it is open"
    )


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
    answer: str | None  # complaint: the written answer sent

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
                "removed_at": request.identifiers_removed_at,
            },
            "recipient_email": request.recipient_email,
            "lift": request.lift,
            "verification": request.verification,
            "details": request.details,
            "stores": request.stores,
            "steps": request.steps,
            "timeline": request.timeline,
            "download_ready": request.export_key is not None and request.type in EXPORT_TYPES,
            "answer": request.answer,
        }


class RequestPage(Model):
    items: list[RequestSummaryOut]
    next_cursor: str | None


class DownloadOut(Model):
    url: str
    expires_at: datetime
