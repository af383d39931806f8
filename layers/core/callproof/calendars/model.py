"""Calendar connections, calendars and events, and the ports the calendar service uses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Provider(StrEnum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # the provider refused the refresh token: connect again


@dataclass(frozen=True, slots=True)
class Connection:
    org_id: str
    user_id: str
    provider: Provider
    status: ConnectionStatus
    connected_at: str


@dataclass(frozen=True, slots=True)
class Selection:
    provider: Provider
    calendar_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Calendar:
    id: str
    name: str
    can_edit: bool
    primary: bool = False


@dataclass(frozen=True, slots=True)
class Attendee:
    contact_id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class EventDraft:
    """Every field set on create; on update, ``None`` means unchanged."""

    summary: str | None
    start: str | None  # RFC 3339 with an offset
    end: str | None
    time_zone: str | None = None
    description: str | None = None
    location: str | None = None
    attendees: tuple[Attendee, ...] | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    calendar_id: str
    provider: Provider
    summary: str
    start: str
    end: str
    attendees: tuple[str, ...]  # e-mail addresses
    link: str | None = None
