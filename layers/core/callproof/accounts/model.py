"""Account, membership, org-settings and consent models (domain objects and their API shapes)."""

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, EmailStr, Field, StringConstraints, field_validator, model_validator

from callproof.models import Model
from callproof.retention.model import BY_STORE, check_periods
from callproof.tenancy import Role
from callproof.values import ISO_DATE, JSON_SCALAR, SINGLE_LINE

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), SINGLE_LINE]
Company = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), SINGLE_LINE]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
# pydantic matches the pattern after stripping; the document's pattern is for the value as sent, so it
# allows the whitespace that is stripped.
Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^\s*[A-Za-z0-9](?:[A-Za-z0-9-]{1,38}[A-Za-z0-9])\s*$"
    ),
]
PublishedName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120), SINGLE_LINE
]
PolicyVersionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]


class Purpose(StrEnum):
    """What a consent record is for. SMS consent of contacts is the SMS ledger, not this."""

    TERMS = "terms"  # terms of service and privacy policy (the versioned documents)
    MARKETING_EMAIL = "marketing_email"
    GEOLOCATION = "geolocation"


class ConsentSource(StrEnum):
    API = "api"
    UNSUBSCRIBE_LINK = "unsubscribe_link"


# A removed member's account (Cognito user, profile, consents) is purged after this many days,
# unless the org sets its own period (``member_grace_days``, within these bounds).
DEFAULT_MEMBER_GRACE_DAYS = 30
MIN_MEMBER_GRACE_DAYS = 1
MAX_MEMBER_GRACE_DAYS = 90


# ------------------------------------------------------------------------------ domain objects
class MemberStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"  # in the grace period: restorable until ``purge_after``


@dataclass(frozen=True, slots=True)
class Member:
    """A user of an org. The DynamoDB item is the source of truth; roles are mirrored to Cognito."""

    org_id: str
    user_id: str
    email: str
    full_name: str
    company: str = ""
    roles: frozenset[Role] = field(default_factory=frozenset)
    username: str | None = None  # the Cognito username (groups are changed by it)
    created_at: datetime | None = None
    version: int = 1
    # Offboarding (ADR 0023): a removed member keeps this item, and their disabled Cognito user, until
    # ``purge_after`` (the org's grace period); until then an admin may restore them.
    removed_at: datetime | None = None
    removed_by: str | None = None  # the removing admin: the member's contacts and calls went to them
    purge_after: datetime | None = None

    @property
    def status(self) -> MemberStatus:
        return MemberStatus.REMOVED if self.removed_at is not None else MemberStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A user of the sign-in directory (Cognito), as the accounts service sees one."""

    user_id: str  # the ID token's ``sub``
    username: str  # the directory's name for the user (groups are changed by it)
    org_id: str | None  # the immutable ``custom:org_id``
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class OrgSettings:
    default_phone_region: str | None = None  # None: the deployment's DEFAULT_PHONE_REGION
    call_retention_months: int | None = None  # None: the call-log rule's maximum (retention.model)
    sms_confirmations: bool = False
    daily_sms_cap: int | None = None  # None: the deployment's SMS_DAILY_CAP
    slug: str | None = None  # unique across orgs: the privacy page and privacy+<slug>@ mail find the org
    published_name: str | None = None  # the company name the org publishes (unique across orgs too)
    member_grace_days: int = DEFAULT_MEMBER_GRACE_DAYS  # a removed member is restorable this long
    retention: dict[str, int] = field(default_factory=dict)  # the periods the org shortened, by store


def name_key(name: str) -> str:
    """A published name as looked up: NFKC, case-folded, inner whitespace collapsed ("ACME  Ltd" is
    "acme ltd"), so two orgs cannot publish names that only differ in case or spacing."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True, slots=True)
class OrgIdentity:
    """How people outside find the org without its internal id (both unique across orgs)."""

    slug: str | None = None
    published_name: str | None = None
    version: int = 0  # 0: never set


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    document: str
    version: str
    seq: int  # publication order: the gate compares these, never version strings
    significant: bool
    published_at: datetime
    url: str | None = None


@dataclass(frozen=True, slots=True)
class CurrentPolicy:
    """The latest version, and the latest *significant* one (what users must have accepted)."""

    latest: PolicyVersion
    significant: PolicyVersion | None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One append-only entry of a user's consent ledger."""

    org_id: str
    user_id: str
    purpose: Purpose
    granted: bool
    at: datetime
    source: ConsentSource
    record_id: str
    version: str | None = None  # the policy version accepted (purpose ``terms``)
    seq: int | None = None


# ------------------------------------------------------------------------------ API shapes
class _Strict(Model):
    model_config = ConfigDict(extra="forbid")


class MePatch(_Strict):
    """Email is the sign-in identity (Cognito) and is read-only here: sending it is a 422."""

    full_name: Name | None = None
    company: Company | None = None


class MeOut(Model):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    org_id: str
    email: str | None
    full_name: str | None
    company: str | None
    roles: list[Role]


class MemberIn(_Strict):
    email: EmailStr
    full_name: Name
    company: Company = ""
    roles: list[Role] = Field(min_length=1, max_length=3)


class MemberPatch(_Strict):
    roles: list[Role] = Field(min_length=1, max_length=3)


class MemberOut(Model):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    email: str
    full_name: str
    company: str
    roles: list[Role]
    status: MemberStatus = MemberStatus.ACTIVE  # removed: restorable until purge_after
    purge_after: datetime | None = None


class MemberList(Model):
    items: list[MemberOut]


class OrgSettingsIn(_Strict):
    """Every field is replaced (PUT); a field left out returns to the deployment's default."""

    default_phone_region: Region | None = None
    call_retention_months: (
        Annotated[int, Field(ge=1, le=BY_STORE["call_logs"].maximum), JSON_SCALAR] | None
    ) = None  # the same as retention.call_logs (kept for older clients)
    sms_confirmations: Annotated[bool, JSON_SCALAR] = False
    daily_sms_cap: Annotated[int, Field(ge=0, le=100_000), JSON_SCALAR] | None = None
    slug: Slug | None = None  # lower-case letters, digits and inner hyphens, 3-40; 409 when taken
    published_name: PublishedName | None = None  # 409 when another org publishes the same name
    # How long a removed member stays restorable before their account is purged (days, 1-90).
    member_grace_days: (
        Annotated[int, Field(ge=MIN_MEMBER_GRACE_DAYS, le=MAX_MEMBER_GRACE_DAYS), JSON_SCALAR] | None
    ) = None
    retention: Annotated[
        dict[str, Annotated[int, JSON_SCALAR]],
        Field(
            max_length=len(BY_STORE),
            description="Shorter retention periods, by store (docs/retention.md: each store's unit, "
            "minimum and maximum); a store left out keeps its maximum; `contacts` is opt-in.",
        ),
    ] = Field(default_factory=dict)

    @field_validator("retention")
    @classmethod
    def _within_the_rules(cls, periods: dict[str, int]) -> dict[str, int]:
        return check_periods(periods)  # ValueError: a 422 naming the store and its limits

    @model_validator(mode="after")
    def _one_call_log_period(self) -> Self:
        """``call_retention_months`` is ``retention.call_logs``: either, or both equal."""
        chosen = self.retention.get("call_logs")
        months = self.call_retention_months
        if months is not None and chosen is not None and months != chosen:
            raise ValueError("call_retention_months and retention.call_logs differ; send one")
        period = months if months is not None else chosen
        if period is not None:
            self.retention["call_logs"] = period
            self.call_retention_months = period
        return self


class OrgSettingsOut(Model):
    model_config = ConfigDict(from_attributes=True)

    default_phone_region: str | None
    call_retention_months: int | None
    sms_confirmations: bool
    daily_sms_cap: int | None
    slug: str | None
    published_name: str | None
    member_grace_days: int
    retention: dict[str, int] = Field(
        description="The periods the org shortened, by store; every other store keeps its maximum"
    )


class ConsentIn(_Strict):
    purpose: Purpose
    granted: Annotated[bool, JSON_SCALAR] = True
    version: PolicyVersionId | None = None  # terms: the version accepted (default: the current one)


class ConsentOut(Model):
    model_config = ConfigDict(from_attributes=True)

    purpose: Purpose
    granted: bool
    at: datetime
    source: ConsentSource
    version: str | None


class ConsentState(Model):
    current: dict[str, ConsentOut]
    history: list[ConsentOut]


class PolicyOut(Model):
    model_config = ConfigDict(from_attributes=True)

    document: str
    version: str
    significant: bool
    published_at: datetime
    url: str | None


class PhotoUploadIn(_Strict):
    content_type: Literal["image/jpeg", "image/png", "image/webp"]


class PhotoUploadOut(Model):
    """POST ``fields`` plus the file (last, named ``file``) as multipart/form-data to ``url``."""

    model_config = ConfigDict(from_attributes=True)

    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int
    content_type: str


class PhotoDownloadOut(Model):
    model_config = ConfigDict(from_attributes=True)

    url: str
    expires_at: datetime


# ------------------------------------------------------------------------------ age, guardian
ADULT_AGE = 16


class AgeStatus(StrEnum):
    ACTIVE = "active"  # 16 or over (birth date or attestation)
    PENDING_GUARDIAN = "pending_guardian"  # under 16: inactive until a guardian confirms
    GUARDIAN_CONFIRMED = "guardian_confirmed"  # under 16, a guardian consented: active


@dataclass(frozen=True, slots=True)
class AgeRecord:
    status: AgeStatus
    recorded_at: datetime
    birth_date: date | None = None  # None: the user attested being 16 or over
    guardian_name: str | None = None
    guardian_email: str | None = None
    guardian_consented_at: datetime | None = None
    guardian_method: str | None = None  # "email_link"


@dataclass(frozen=True, slots=True)
class GateView:
    """What the per-request check needs of a user, in one read."""

    accepted_terms_seq: int = 0
    inactive: bool = False  # under 16, awaiting the guardian's consent
    age_answered: bool = False  # a birth date or "16 or over" is recorded (any age status)
    removed: bool = False  # removed from the org by an admin (offboarding's grace period)


class AgeIn(_Strict):
    """A birth date, or the attestation of being 16 or over; under 16, the guardian to ask."""

    birth_date: Annotated[date, ISO_DATE] | None = None
    attests_16_or_over: Annotated[bool, JSON_SCALAR] | None = None
    guardian_name: Name | None = None
    guardian_email: EmailStr | None = None


class GuardianOut(Model):
    name: str
    email: str
    consented_at: datetime | None
    method: str | None


class AgeOut(Model):
    status: AgeStatus
    recorded_at: datetime
    basis: Literal["birth_date", "attestation"]
    guardian: GuardianOut | None

    @classmethod
    def of(cls, record: AgeRecord) -> Self:
        guardian = None
        if record.guardian_email:
            guardian = GuardianOut(
                name=record.guardian_name or "",
                email=record.guardian_email,
                consented_at=record.guardian_consented_at,
                method=record.guardian_method,
            )
        basis: Literal["birth_date", "attestation"] = "birth_date" if record.birth_date else "attestation"
        return cls(status=record.status, recorded_at=record.recorded_at, basis=basis, guardian=guardian)


def photo_key(org_id: str, user_id: str) -> str:
    """Where a user's account photo lives in the data bucket (every version of it)."""
    return f"orgs/{org_id}/users/{user_id}/photo"


@dataclass(frozen=True, slots=True)
class MarketingRecipient:
    """A member who may get marketing mail now, with their signed unsubscribe link. Made only by
    ``ConsentService.marketing_recipient`` after reading the current ``marketing_email`` consent, and
    the only thing a ``MarketingMailer`` sends to (a test holds both rules on the code)."""

    org_id: str
    user_id: str
    email: str
    unsubscribe_url: str
