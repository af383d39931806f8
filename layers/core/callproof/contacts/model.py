"""Contact entities and the API's input models (pydantic: they also yield the OpenAPI document)."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints

from callproof.models import Model
from callproof.tenancy import USER_ID_PATTERN
from callproof.values import SINGLE_LINE, Email, RawPhone

if TYPE_CHECKING:
    from callproof.phones import Phone

MAX_EMAILS = 10
MAX_PHONES = 10


class ContactType(StrEnum):
    CUSTOMER = "customer"
    PROSPECT = "prospect"


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    org_id: str
    name: str
    type: ContactType
    owner_user_id: str
    created_at: datetime
    updated_at: datetime
    company: str | None = None
    emails: tuple[str, ...] = ()
    phones: "tuple[Phone, ...]" = ()
    version: int = 1
    restricted: bool = False  # processing restricted by a data-subject request: kept, not processed
    # When the Google person this contact was imported from was deleted in Google (a later Google
    # Contacts sync said so): the contact is kept, marked, never deleted silently.
    removed_in_google: datetime | None = None

    @property
    def e164s(self) -> frozenset[str]:
        return frozenset(phone.e164 for phone in self.phones)


@dataclass(frozen=True, slots=True)
class ContactDraft:
    """A validated, normalized contact before it has an id (import rows and API input alike)."""

    name: str
    type: ContactType
    owner_user_id: str
    company: str | None = None
    emails: tuple[str, ...] = ()
    phones: "tuple[Phone, ...]" = field(default=())


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]
Company = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SINGLE_LINE]
# An identifier is matched as sent: the model strips its text, and the document's pattern allows no space.
UserId = Annotated[str, StringConstraints(strip_whitespace=False, pattern=USER_ID_PATTERN)]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_Strict):
    """Create a contact. Phones are parsed with the org's default region unless they start with +."""

    # Every CSV import row is validated with this model, and a person's values rarely repeat: pydantic's
    # string cache (16,384 entries) would only hold a million-row import's last names and emails.
    model_config = ConfigDict(cache_strings="keys")

    name: Name
    type: ContactType
    company: Company | None = None
    emails: list[Email] = Field(default_factory=list, max_length=MAX_EMAILS)
    phones: list[RawPhone] = Field(default_factory=list, max_length=MAX_PHONES)
    owner_user_id: UserId | None = None


class ContactPatch(_Strict):
    """Partial update: only the fields present change; lists replace the whole list."""

    name: Name | None = None
    type: ContactType | None = None
    company: Company | None = None
    emails: list[Email] | None = Field(default=None, max_length=MAX_EMAILS)
    phones: list[RawPhone] | None = Field(default=None, max_length=MAX_PHONES)
    owner_user_id: UserId | None = None


class LookupIn(_Strict):
    """Batch lookup; sent in a body so phone numbers and emails never appear in URLs or access logs."""

    phones: list[RawPhone] = Field(default_factory=list, max_length=100)
    emails: list[Email] = Field(default_factory=list, max_length=100)


class _FromDomain(Model):
    """Response models are read straight from the domain dataclasses' attributes."""

    model_config = ConfigDict(from_attributes=True)


class PhoneOut(_FromDomain):
    e164: str
    raw: str
    extension: str | None = None


class ContactOut(_FromDomain):
    id: str
    name: str
    type: ContactType
    company: str | None
    emails: list[str]
    phones: list[PhoneOut]
    owner_user_id: str
    created_at: datetime
    updated_at: datetime
    version: int
    restricted: bool
    removed_in_google: datetime | None = Field(
        default=None,
        description="When the Google contact this contact was imported from was deleted in Google "
        "(the CRM contact is kept); null otherwise",
    )


class ContactPage(Model):
    items: list[ContactOut]
    next_cursor: str | None


class LookupOut(Model):
    """Every normalized key asked for, with the ids of all contacts that have it (several may share one)."""

    phones: dict[str, list[ContactOut]]
    emails: dict[str, list[ContactOut]]


class ImportRowOut(Model):
    line: int
    status: str
    contact_id: str | None = None
    field: str | None = None
    reason: str | None = None


class ImportOut(Model):
    """Per data row (by line number in the file): created, updated, duplicate or rejected with a reason."""

    counts: dict[str, int]
    ignored_columns: list[str]
    rows: list[ImportRowOut]


class RowStatus(StrEnum):
    """What an import did with a row (a CSV line, a Google person)."""

    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    SUPPRESSED = "suppressed"  # an email or phone of the row belongs to an erased person


class ImportStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportSource(StrEnum):
    """What an import job reads: an uploaded CSV file, or the user's Google Contacts (People API)."""

    CSV = "csv"
    GOOGLE = "google"


@dataclass(frozen=True, slots=True)
class ImportJob:
    """An import (an uploaded CSV file, or the user's Google Contacts) with its progress and the
    checkpoint a worker resumes from: for a file the byte ``offset`` and ``line``; for Google the
    People API ``page_token`` of the next page, within the changes since ``sync_from`` (None: a full
    sync), and once the last page is applied ``pages_done`` with Google's ``next_sync_token``.

    ``lease_token`` names the worker run allowed to write progress (and the queue message allowed to
    take over); ``lease_until`` is when a silent holder is presumed dead."""

    org_id: str
    id: str
    user_id: str
    status: ImportStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    size: int | None = None
    header: tuple[str, ...] | None = None
    offset: int = 0
    line: int = 0
    rows_done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0  # rejected rows, listed in the errors CSV
    message: str | None = None  # why the job failed
    lease_token: str | None = None
    lease_until: datetime | None = None
    source: ImportSource = ImportSource.CSV
    sync_from: str | None = None
    page_token: str | None = None
    pages_done: bool = False
    next_sync_token: str | None = None
    full_sync: bool = False  # Google: every contact is read (first import, or the sync token expired)
    removed_in_google: int = 0  # Google: CRM contacts newly marked, their Google person deleted


class ImportUploadOut(Model):
    """A presigned S3 POST: send the form fields and then the file (field ``file``) to ``url``."""

    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int
    content_type: str


class ImportJobOut(Model):
    """An import job: ``running`` from its start until ``done`` or ``failed``; ``errors_url`` downloads
    the rejected rows (line, status, field, reason) as CSV for a few minutes. ``source`` tells a CSV
    file's import from a Google Contacts import (whose ``line`` is the person's rank in the import)."""

    import_id: str
    source: str = Field(description="csv: an uploaded file; google: the caller's Google Contacts")
    status: str
    rows_done: int
    counts: dict[str, int]
    errors: int
    errors_url: str | None = None
    message: str | None = None
    created_at: datetime
    updated_at: datetime
    full_sync: bool | None = Field(
        default=None,
        description="google: every contact is read (first import, or Google expired the sync token)",
    )
    removed_in_google: int | None = Field(
        default=None,
        description="google: CRM contacts newly marked `removed_in_google` (their Google contact was "
        "deleted since the last import; they are kept, never deleted)",
    )

    @classmethod
    def of(cls, job: ImportJob, errors_url: str | None) -> Self:
        google = job.source is ImportSource.GOOGLE
        return cls(
            import_id=job.id,
            source=job.source.value,
            status=job.status.value,
            rows_done=job.rows_done,
            counts={status.value: job.counts.get(status.value, 0) for status in RowStatus},
            errors=job.errors,
            errors_url=errors_url,
            message=job.message,
            created_at=job.created_at,
            updated_at=job.updated_at,
            full_sync=job.full_sync if google else None,
            removed_in_google=job.removed_in_google if google else None,
        )


class ImportCreatedOut(ImportJobOut):
    upload: ImportUploadOut
