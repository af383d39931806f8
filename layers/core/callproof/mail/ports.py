"""Ports of the Gmail sync service: the Gmail and People APIs, the integration store, the mail index
and bodies, contact matching and the sync queue. Adapters in ``store/`` and ``integrations/``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callproof.mail.model import (
        EmailPage,
        EmailQuery,
        EmailRecord,
        FullMessage,
        GmailLabel,
        GooglePerson,
        Integration,
        IntegrationStatus,
        MailboxCopy,
        MessageMeta,
    )
    from callproof.oauth.model import SealedToken


class HistoryExpired(Exception):
    """``users.history.list`` answered 404: the stored history id is too old; do a bounded full sync."""


class SyncTokenExpired(Exception):
    """The People API refused the stored sync token (EXPIRED_SYNC_TOKEN): do a full sync."""


class PeopleApi(Protocol):
    def connections_page(
        self, sync_token: str | None, page_token: str | None
    ) -> tuple[list[GooglePerson], str | None, str | None]:
        """One page of ``people.connections.list`` (pageSize 1000, a sync token requested): its
        people, the next page's token and, on the last page, the next sync token; with
        ``sync_token`` only what changed since (deleted people flagged). Raises ``SyncTokenExpired``."""
        ...


class ContactsGrantStore(Protocol):
    """The user's Google Contacts grant (its sealed token and People sync token, apart from the Gmail
    connection) and which CRM contact each of their Google people was imported into."""

    def token(self, org_id: str, user_id: str) -> SealedToken | None: ...

    def save(self, org_id: str, user_id: str, token: SealedToken, granted_at: str) -> None:
        """Store a new grant (a new consent): any earlier sync token is dropped (a full sync follows)."""
        ...

    def save_token(self, org_id: str, user_id: str, token: SealedToken) -> None:
        """A refreshed token for the stored grant (nothing if the grant was deleted meanwhile)."""
        ...

    def sync_token(self, org_id: str, user_id: str) -> str | None: ...

    def save_sync_token(self, org_id: str, user_id: str, token: str | None) -> None: ...

    def link(self, org_id: str, user_id: str, contacts: Mapping[str, str]) -> None:
        """Record ``{resourceName: contact_id}`` for the user's imported people."""
        ...

    def linked(self, org_id: str, user_id: str, resource_names: Iterable[str]) -> dict[str, str]:
        """The contact ids recorded for these resource names (unknown ones absent)."""
        ...

    def delete(self, org_id: str, user_id: str) -> bool:
        """Delete the grant and its links; False if there was none."""
        ...


class GmailApi(Protocol):
    """One mailbox's Gmail API, authorized with one access token (``integrations/google_gmail.py``)."""

    def profile(self) -> tuple[str, int]:
        """(email address, current history id)."""
        ...

    def history(self, start_history_id: int) -> tuple[dict[str, tuple[str, ...]], int]:
        """Messages added since ``start_history_id`` (all pages), each with its label ids, in order,
        drafts, spam and trash left out; and the latest history id."""
        ...

    def list_message_ids(self, newer_than_days: int, label_id: str) -> list[str]:
        """Ids of the messages carrying ``label_id`` received in the last ``newer_than_days``."""
        ...

    def labels(self) -> list[GmailLabel]:
        """The mailbox's labels, system and user (``users.labels.list``)."""
        ...

    def metadata(self, gmail_ids: Sequence[str]) -> list[MessageMeta]:
        """Address headers of each message (batched, <= 50 per batch); deleted messages are absent."""
        ...

    def raw(self, gmail_ids: Sequence[str]) -> dict[str, FullMessage]:
        """The full RFC 5322 message of each, with its receipt time (batched, <= 50 per batch);
        deleted ones are absent."""
        ...

    def watch(self, topic: str, label_ids: Sequence[str]) -> tuple[int, int]:
        """(history id, expiration in epoch ms)."""
        ...

    def stop(self) -> None: ...


class IntegrationStore(Protocol):
    """Connected mailboxes (one per user) with their sealed token and cursor, and the mailbox route."""

    def get(self, org_id: str, user_id: str) -> Integration | None: ...

    def find_by_mailbox(self, mailbox: str) -> Integration | None: ...

    def connect(self, integration: Integration, token: SealedToken) -> None:
        """Store (or replace) the user's integration and route its mailbox to it; ``Conflict`` if the
        mailbox is connected by another user."""
        ...

    def token(self, org_id: str, user_id: str) -> SealedToken | None: ...

    def save_token(self, org_id: str, user_id: str, token: SealedToken) -> None: ...

    def advance(self, org_id: str, user_id: str, history_id: int, synced_at: str) -> bool:
        """Move the cursor to ``history_id`` only if that is forward (conditional write)."""
        ...

    def set_status(
        self, org_id: str, user_id: str, status: IntegrationStatus, reason: str | None
    ) -> None: ...

    def record_push(self, org_id: str, user_id: str, at: str) -> None: ...

    def set_watch(self, org_id: str, user_id: str, expiration: int) -> None:
        """A renewed watch: its expiration (the status stays as it is unless it was lapsed)."""
        ...

    def set_labels(self, org_id: str, user_id: str, labels: Sequence[str], expiration: int) -> None:
        """The labels chosen for sync, with the expiration of the watch renewed on exactly them."""
        ...

    def all(self) -> Iterator[Integration]:
        """Every connected mailbox of every org (the watch registry, for the schedules)."""
        ...

    def delete(self, integration: Integration) -> None:
        """Delete the integration, its sealed token, its cursor and its mailbox route."""
        ...


class MailIndex(Protocol):
    """Messages once per org (keyed by ``message_key``), each with the mailboxes that hold a copy and
    the contacts it involves; mail stored before issue 17 (legacy ids) is read, unlinked and deleted
    too (ADR 0007)."""

    def known(self, org_id: str, user_id: str, gmail_ids: Iterable[str]) -> set[str]:
        """The Gmail ids this mailbox already has stored (a copy, or a legacy message)."""
        ...

    def stored(self, org_id: str, email_ids: Iterable[str]) -> set[str]:
        """Which of these messages the org has stored (batched reads)."""
        ...

    def put(self, record: EmailRecord) -> bool:
        """A new message with its first mailbox copy (``user_id`` / ``gmail_id`` / ``labels``) and a
        link per contact, in one conditional write; False if the message is already stored."""
        ...

    def link(self, org_id: str, copy: MailboxCopy) -> bool | None:
        """Record another mailbox copy of a stored message: True, False when that copy was already
        recorded, None when the message is not stored."""
        ...

    def get(self, org_id: str, email_id: str) -> EmailRecord | None: ...

    def search(self, org_id: str, query: EmailQuery, limit: int, cursor: str | None) -> EmailPage:
        """The org's messages matching ``query``, newest first, through keys (never a Scan)."""
        ...

    def thread(self, org_id: str, thread_id: str, limit: int) -> list[EmailRecord]:
        """A conversation's messages, oldest first."""
        ...

    def copies(self, org_id: str, user_id: str) -> Iterator[MailboxCopy]:
        """Every copy one mailbox holds (legacy messages included, with no labels)."""
        ...

    def unlink(
        self, org_id: str, user_id: str, email_id: str, gmail_ids: Sequence[str], last: bool
    ) -> EmailRecord | None:
        """Remove those copies; with ``last`` the mailbox no longer holds the message. The message's
        record when no mailbox holds it any more (the caller deletes its body, then ``delete``)."""
        ...

    def delete(self, records: Sequence[EmailRecord]) -> None:
        """Every index item of each message: the message, its dates, thread, contact links and every
        mailbox's copy."""
        ...


class MailBlobs(Protocol):
    def put(self, key: str, body: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def delete_all_versions(self, keys: Sequence[str]) -> int: ...


class ContactMatcher(Protocol):
    def match(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        """Contact ids per address, restricted contacts left out (batched, <= 100 keys per call)."""
        ...

    def exists(self, org_id: str, contact_id: str) -> bool: ...


class SyncQueue(Protocol):
    def enqueue(self, org_id: str, user_id: str, history_id: int) -> None: ...
