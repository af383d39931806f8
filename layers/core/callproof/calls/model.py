"""Call-log entities and the API's models."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from callproof.calls.numbers import NumberKind
from callproof.models import Model
from callproof.values import FREE_TEXT, ISO_DATETIME, JSON_SCALAR, SINGLE_LINE, SINGLE_LINE_KEY, STORABLE

MAX_BATCH = 1_000
MAX_DURATION_SECONDS = 86_400
MAX_METADATA_BYTES = 2_048
MAX_METADATA_KEYS = 20
FUTURE_TOLERANCE = timedelta(minutes=10)  # phone clocks drift; a call cannot start much later than now
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"

MetadataValue = str | int | float | bool | None


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    MISSED = "missed"


class MatchStatus(StrEnum):
    NONE = "none"
    UNIQUE = "unique"
    AMBIGUOUS = "ambiguous"
    UNMATCHABLE = "unmatchable"  # short codes and alphanumeric senders


class EntryStatus(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


def _bounded_metadata(value: dict[str, MetadataValue]) -> dict[str, MetadataValue]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise ValueError(f"larger than {MAX_METADATA_BYTES} bytes")
    return value


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise ValueError("is in the future")
    return value


DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64), SINGLE_LINE_KEY]
# A free-form value: its text may span lines, its number must be one DynamoDB stores.
SmallValue = Annotated[
    Annotated[str, StringConstraints(max_length=256)] | int | float | bool | None, FREE_TEXT, STORABLE
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=32), SINGLE_LINE]


class CallEntryIn(Model):
    """One call as the phone reports it. ``client_id`` is made on the phone and makes uploads idempotent."""

    model_config = ConfigDict(extra="forbid")

    client_id: UUID
    phone_number: Annotated[str, StringConstraints(min_length=1, max_length=64), SINGLE_LINE]
    direction: Direction
    started_at: Annotated[AwareDatetime, ISO_DATETIME, AfterValidator(_not_in_future)]
    duration_seconds: Annotated[int, Field(ge=0, le=MAX_DURATION_SECONDS), JSON_SCALAR]
    device_id: DeviceId
    metadata: Annotated[dict[MetadataKey, SmallValue], AfterValidator(_bounded_metadata)] = Field(
        default_factory=dict
    )


def _raw(entry: object) -> object:
    return entry


# An entry stays a raw object here so one bad entry is reported on its own instead of failing the batch;
# the document says what a phone should send (a CallEntryIn), and that any other object is accepted and
# answered as a rejected entry: a typed client gets CallEntryIn, and the document claims nothing that
# the route refuses.
RawEntry = Annotated[
    dict[str, Any], BeforeValidator(_raw, json_schema_input_type=CallEntryIn | dict[str, Any])
]


class CallBatchIn(Model):
    """Entries are validated one by one (each a CallEntryIn), so one bad entry is reported on its own."""

    model_config = ConfigDict(extra="forbid")

    entries: list[RawEntry] = Field(min_length=1, max_length=MAX_BATCH)


@dataclass(frozen=True, slots=True)
class Match:
    status: MatchStatus
    contact_ids: tuple[str, ...] = ()

    @property
    def contact_id(self) -> str | None:
        """The contact the call is shown beside: only an unambiguous match has one."""
        return self.contact_ids[0] if self.status is MatchStatus.UNIQUE else None


@dataclass(frozen=True, slots=True)
class CallLog:
    org_id: str
    id: str  # the phone's client_id, lower-cased
    user_id: str
    device_id: str
    direction: Direction
    started_at: datetime
    duration_seconds: int
    raw_number: str
    number_kind: NumberKind
    match: Match
    content_hash: str
    received_at: datetime
    e164: str | None = None
    extension: str | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntryResult:
    index: int
    status: EntryStatus
    call_id: str | None = None
    match: Match | None = None
    field: str | None = None
    reason: str | None = None


class _FromDomain(Model):
    """Response models are read straight from the domain dataclasses' attributes."""

    model_config = ConfigDict(from_attributes=True)


class MatchOut(_FromDomain):
    status: MatchStatus
    contact_ids: list[str]


class EntryResultOut(_FromDomain):
    index: int
    status: EntryStatus
    call_id: str | None = None
    match: MatchOut | None = None
    field: str | None = None
    reason: str | None = None


class BatchResultOut(_FromDomain):
    results: list[EntryResultOut]
    counts: dict[str, int]


class CallLogOut(_FromDomain):
    id: str
    user_id: str
    device_id: str
    direction: Direction
    started_at: datetime
    duration_seconds: int
    phone_number: str = Field(validation_alias="raw_number")
    number_kind: NumberKind
    e164: str | None
    extension: str | None
    match: MatchOut
    metadata: dict[str, MetadataValue]


class CallPage(_FromDomain):
    items: list[CallLogOut]
    next_cursor: str | None


# ------------------------------------------------------------------ devices
class Geolocation(Model):
    model_config = ConfigDict(extra="forbid")

    latitude: Annotated[float, Field(ge=-90, le=90), STORABLE, JSON_SCALAR]
    longitude: Annotated[float, Field(ge=-180, le=180), STORABLE, JSON_SCALAR]
    accuracy_m: Annotated[float, Field(ge=0, le=100_000), STORABLE, JSON_SCALAR] | None = None


class DeviceIn(Model):
    """What the app reports about the phone. A location is kept only with ``location_consent``."""

    model_config = ConfigDict(extra="forbid")

    device_type: Annotated[str, StringConstraints(min_length=1, max_length=64), SINGLE_LINE]
    os_name: Label
    os_version: Label
    app_version: Label
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    settings: Annotated[dict[MetadataKey, SmallValue], AfterValidator(_bounded_metadata)] = Field(
        default_factory=dict
    )
    location_consent: Annotated[bool, JSON_SCALAR] = False
    location: Geolocation | None = None


@dataclass(frozen=True, slots=True)
class Device:
    org_id: str
    id: str
    user_id: str
    device_type: str
    os_name: str
    os_version: str
    app_version: str
    updated_at: datetime
    country: str | None = None
    settings: dict[str, MetadataValue] = field(default_factory=dict)
    location: dict[str, float] | None = None


class DeviceOut(_FromDomain):
    id: str
    user_id: str
    device_type: str
    os_name: str
    os_version: str
    app_version: str
    country: str | None
    settings: dict[str, MetadataValue]
    location: dict[str, float] | None
    updated_at: datetime
