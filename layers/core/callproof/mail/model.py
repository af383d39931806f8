"""Gmail sync's domain objects: the connected mailbox, what a sync sees, what is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

PURPOSE = "gmail"  # the OAuth state purpose and the token vault's encryption-context purpose
WATCH_LABELS = ("INBOX", "SENT")  # what users.watch covers
_EMAIL_ID = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.([0-9a-fA-F]{1,32})$")


@dataclass(frozen=True, slots=True)
class GmailConfig:
    """The deployment's Gmail settings: the Pub/Sub topic watches push to, the OAuth redirect (None:
    connecting is off) and how many days a full sync reads back."""

    topic: str
    redirect_uri: str | None
    full_sync_days: int = 30


def iso_time(epoch_seconds: float) -> str:
    """A moment as an integration records it (connected, last push, last sync): UTC, to the second."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")


class IntegrationStatus(StrEnum):
    ACTIVE = "active"
    DISCONNECTED = "disconnected"  # Google refused the grant (invalid_grant): the user must reconnect
    LAPSED = "lapsed"  # the watch expired without renewal: pushes stopped


@dataclass(frozen=True, slots=True)
class Integration:
    """One user's connected Gmail mailbox. ``history_id`` is the sync cursor (only ever moves forward)."""

    org_id: str
    user_id: str
    mailbox: str  # the Gmail address (lower-cased), what Pub/Sub pushes name
    status: IntegrationStatus
    history_id: int
    watch_expiration: int  # epoch milliseconds, as Google answers
    connected_at: str
    status_reason: str | None = None
    last_push_at: str | None = None
    last_sync_at: str | None = None


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """What a metadata fetch tells: enough to decide whether a message involves a contact."""

    gmail_id: str
    thread_id: str
    internal_date: int  # epoch milliseconds
    addresses: frozenset[str]  # From / To / Cc / Bcc / Reply-To, lower-cased


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class ParsedMail:
    headers: list[tuple[str, str]]
    subject: str
    sender: str
    date: str | None
    text: str | None
    html: str | None
    attachments: list[Attachment]
    addresses: frozenset[str]


@dataclass(frozen=True, slots=True)
class EmailRecord:
    """The index of one stored message: listed with each contact it involves; the body lives in S3."""

    org_id: str
    email_id: str  # "<mailbox user>.<gmail id>": unique per org, names the mailbox it came from
    user_id: str
    gmail_id: str
    thread_id: str
    internal_date: int
    subject: str
    sender: str
    contact_ids: tuple[str, ...]
    object_key: str
    attachments: list[Attachment] = field(default_factory=list)


def email_id(user_id: str, gmail_id: str) -> str:
    return f"{user_id}.{gmail_id}"


def valid_email_id(value: str) -> bool:
    return bool(_EMAIL_ID.match(value))


def object_key(org_id: str, user_id: str, gmail_id: str) -> str:
    return f"orgs/{org_id}/mail/{user_id}/{gmail_id}.json"


@dataclass(frozen=True, slots=True)
class EmailPage:
    emails: list[EmailRecord]
    next_cursor: str | None


@dataclass(slots=True)
class SyncResult:
    listed: int = 0  # message ids the history (or the fallback list) named
    matched: int = 0  # of which involve a contact
    stored: int = 0  # newly stored (replays store nothing)
    full_sync: bool = False
    cursor_moved: bool = False
    skipped: str | None = None  # why nothing ran ("unknown", "disconnected", ...)


@dataclass(frozen=True, slots=True)
class GooglePerson:
    """One Google contact as the People API returns it (the fields the import reads)."""

    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    company: str | None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class PeopleImport:
    counts: dict[str, int]
    full_sync: bool
    people: int  # records Google returned (deleted ones included, never applied)
