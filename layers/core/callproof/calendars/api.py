"""Request and response bodies of the calendars API (unknown fields are refused)."""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from callproof.calendars.model import Provider
from callproof.models import Model
from callproof.values import FREE_TEXT, SINGLE_LINE


def _rfc3339(value: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError("must carry a UTC offset")
    return parsed.isoformat()


DateTime = Annotated[str, Field(max_length=40), AfterValidator(_rfc3339), SINGLE_LINE]
ContactId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CalendarId = Annotated[str, Field(min_length=1, max_length=512), SINGLE_LINE]
Summary = Annotated[str, Field(min_length=1, max_length=500), SINGLE_LINE]
Description = Annotated[str, Field(max_length=8000), FREE_TEXT]
Location = Annotated[str, Field(max_length=500), SINGLE_LINE]


class _In(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthorizeOut(Model):
    authorization_url: str


class CalendarConnectedOut(Model):
    provider: Provider
    status: str
    user_id: str


class ConnectionOut(Model):
    provider: Provider
    status: str
    connected_at: str


class SelectionOut(Model):
    provider: Provider
    calendar_id: str
    name: str


class CalendarStatusOut(Model):
    connections: list[ConnectionOut]
    selected: SelectionOut | None


class CalendarOut(Model):
    provider: Provider
    id: str
    name: str
    can_edit: bool
    primary: bool
    selected: bool


class CalendarList(Model):
    items: list[CalendarOut]


class CalendarIn(_In):
    provider: Provider
    name: Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE]
    time_zone: Annotated[str | None, Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")] = None


class SelectionIn(_In):
    provider: Provider
    calendar_id: CalendarId


class EventIn(_In):
    calendar_id: CalendarId | None = None  # when given, it must be the selected calendar
    summary: Summary
    start: DateTime
    end: DateTime
    description: Description | None = None
    location: Location | None = None
    attendee_contact_ids: Annotated[list[ContactId], Field(max_length=50, default=[])]


class EventPatch(_In):
    calendar_id: CalendarId | None = None
    summary: Summary | None = None
    start: DateTime | None = None
    end: DateTime | None = None
    description: Description | None = None
    location: Location | None = None
    attendee_contact_ids: Annotated[list[ContactId] | None, Field(max_length=50)] = None


class EventOut(Model):
    id: str
    calendar_id: str
    provider: Provider
    summary: str
    start: str
    end: str
    attendees: list[str]
    link: str | None


class DisconnectOut(Model):
    provider: Provider
    revoked: bool
    tokens_deleted: bool
