"""Contact entities and the API's input models (pydantic: they also yield the OpenAPI document)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from callproof.emails import normalize_email
from callproof.models import Model
from callproof.phones import Phone
from callproof.values import SINGLE_LINE

MAX_EMAILS = 10
MAX_PHONES = 10
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


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
    phones: tuple[Phone, ...] = ()
    version: int = 1
    restricted: bool = False  # processing restricted by a data-subject request: kept, not processed

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
    phones: tuple[Phone, ...] = field(default=())


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]
Company = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SINGLE_LINE]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(normalize_email), SINGLE_LINE]
RawPhone = Annotated[str, StringConstraints(min_length=1, max_length=64), SINGLE_LINE]
UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_Strict):
    """Create a contact. Phones are parsed with the org's default region unless they start with +."""

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
