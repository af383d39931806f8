"""Gmail sync's domain objects: the connected mailbox, what a sync sees, what is kept."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

PURPOSE = "gmail"  # the OAuth state purpose and the token vault's encryption-context purpose
# The Google Contacts grant's: a grant of its own, never implied by the Gmail one (ADR 0007).
CONTACTS_PURPOSE = "google_contacts"
DEFAULT_LABELS = ("INBOX", "SENT")  # what users.watch covers and the sync reads until the user chooses
UNSYNCABLE_LABELS = frozenset({"DRAFT", "SPAM", "TRASH"})  # never synced, whatever the selection
MAX_LABELS = 50
# "<mailbox user>.<gmail id>": a message stored before issue 17 (one copy per mailbox; ADR 0007)
_LEGACY_EMAIL_ID = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.([0-9a-fA-F]{1,32})$")
_KEY = re.compile(r"^[0-9a-f]{32}$")  # a message or thread key: 128 bits of a SHA-256


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
    labels: tuple[str, ...] = DEFAULT_LABELS  # the Gmail label ids chosen for sync


@dataclass(frozen=True, slots=True)
class GmailLabel:
    """One label of a mailbox as ``users.labels.list`` answers it (``type``: system or user)."""

    id: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """What a metadata fetch tells: enough to decide whether a message involves a contact, and no
    more (it is fetched for every new message; issue 14's Gmail bytes)."""

    gmail_id: str
    addresses: frozenset[str]  # From / To / Cc / Bcc / Reply-To, lower-cased


@dataclass(frozen=True, slots=True)
class FullMessage:
    """What a full fetch tells, for a message that involves a contact."""

    raw: bytes  # the RFC 5322 message
    internal_date: int  # Gmail's receipt time, epoch milliseconds


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
    message_id: str = ""  # the RFC 5322 Message-ID, as written (angle brackets included)
    thread_root: str = ""  # the first References id, else In-Reply-To, else the Message-ID
    from_address: str = ""
    to_addresses: frozenset[str] = frozenset()  # To and Cc


@dataclass(frozen=True, slots=True)
class EmailRecord:
    """The index of one stored message, once per org however many mailboxes saw it: listed with each
    contact it involves and each mailbox that synced it; the body lives in S3 once."""

    org_id: str
    email_id: str  # message_key(): the Message-ID's hash (legacy: "<mailbox user>.<gmail id>")
    user_id: str  # the mailbox that stored it first (the one syncing, when a record is built)
    gmail_id: str  # its Gmail id in that mailbox
    thread_id: str  # thread_key(): the conversation across mailboxes (legacy: Gmail's thread id)
    internal_date: int
    subject: str
    sender: str
    contact_ids: tuple[str, ...]
    object_key: str
    attachments: list[Attachment] = field(default_factory=list)
    mailboxes: tuple[str, ...] = ()  # the users whose mailbox holds it (read back from the index)
    from_address: str = ""
    to_addresses: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # the labels it had in ``user_id``'s mailbox when synced


@dataclass(frozen=True, slots=True)
class MailboxCopy:
    """One mailbox's copy of a stored message: the Gmail id it has there and the labels it had when
    synced (empty for mail synced before labels could be chosen: never purged by label)."""

    user_id: str
    gmail_id: str
    email_id: str
    internal_date: int
    labels: tuple[str, ...] = ()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def message_key(message_id: str, sender: str, date: str | None, subject: str) -> str:
    """The org-wide identity of a message: its Message-ID (case kept: RFC 5322 ids are case-sensitive,
    surrounding spaces and brackets dropped); without one, a hash of sender, Date header and subject."""
    value = message_id.strip().strip("<>").strip()
    if value:
        return _digest("message-id", value)
    return _digest("fallback", sender.strip().lower(), (date or "").strip(), subject.strip())


def thread_key(root: str, fallback: str) -> str:
    """The conversation a message belongs to in every mailbox: its root Message-ID's hash."""
    value = root.strip().strip("<>").strip()
    return _digest("thread", value) if value else fallback


def email_id(user_id: str, gmail_id: str) -> str:
    """A legacy id (mail stored before issue 17), still readable."""
    return f"{user_id}.{gmail_id}"


def is_legacy_email_id(value: str) -> bool:
    return bool(_LEGACY_EMAIL_ID.match(value))


def valid_email_id(value: str) -> bool:
    return bool(_KEY.match(value)) or is_legacy_email_id(value)


def valid_thread_id(value: str) -> bool:
    return bool(_KEY.match(value))


def object_key(org_id: str, user_id: str, gmail_id: str) -> str:
    """A legacy body's key (one per mailbox copy)."""
    return f"orgs/{org_id}/mail/{user_id}/{gmail_id}.json"


def message_object_key(org_id: str, key: str) -> str:
    """A message's body, once per org."""
    return f"orgs/{org_id}/mail/messages/{key}.json"


@dataclass(frozen=True, slots=True)
class EmailQuery:
    """Filters of the org's mail list (all optional; ``after`` inclusive, ``before`` exclusive, epoch
    ms). ``contact_id`` and ``mailbox`` pick the index read; the rest filter it."""

    contact_id: str | None = None
    mailbox: str | None = None  # a user id: mail synced from that user's mailbox
    sender: str | None = None  # an address, lower-cased
    recipient: str | None = None  # an address in To or Cc, lower-cased
    subject: str | None = None  # words the subject contains, lower-cased
    after: int | None = None
    before: int | None = None


@dataclass(frozen=True, slots=True)
class EmailPage:
    emails: list[EmailRecord]
    next_cursor: str | None


@dataclass(slots=True)
class SyncResult:
    listed: int = 0  # message ids the history (or the fallback list) named
    matched: int = 0  # of which involve a contact
    stored: int = 0  # newly stored messages (replays store nothing)
    linked: int = 0  # copies recorded on a message another mailbox (or Gmail id) had stored
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
    resource_name: str = ""  # "people/c123": what a later sync names when the person is deleted


@dataclass(frozen=True, slots=True)
class PeoplePage:
    """One page of the user's Google Contacts as the import job reads it
    (``callproof.contacts.ports.PeoplePage``)."""

    records: list[tuple[str, dict[str, object]]]  # (resourceName, ContactIn-shaped record)
    deleted: list[str]  # resourceNames of people deleted since the sync token
    next_page_token: str | None
    next_sync_token: str | None
    restarted: bool = False  # the sync token had expired: the first page of a full sync


@dataclass(frozen=True, slots=True)
class GoogleConnected:
    """What the OAuth callback completed: the Gmail connection or the Google Contacts grant."""

    grant: str  # "gmail" | "contacts"
    user_id: str
    status: str
