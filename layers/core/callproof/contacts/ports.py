"""Ports of the contacts domain: the contact store with its phone / email lookups, the org's phone
region, and the erasure suppression list that imports consult. Adapters live in ``callproof.store``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from callproof.contacts.model import Contact, ImportJob, ImportSource

if TYPE_CHECKING:
    from callproof.tenancy import Caller

MAX_BATCH_KEYS = 100  # DynamoDB BatchGetItem's limit: the lookups never send more per call


@dataclass(frozen=True, slots=True)
class Page:
    contacts: list[Contact]
    next_cursor: str | None


class ContactStore(Protocol):
    """Persistence of contacts and of their phone / email secondary lookups, for one org at a time."""

    def get(self, org_id: str, contact_id: str) -> Contact | None: ...

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]: ...

    def list_page(
        self, org_id: str, limit: int, cursor: str | None, removed_in_google: bool | None = None
    ) -> Page:
        """Raises ``InvalidInput`` for a cursor this store did not issue for this org. With
        ``removed_in_google``, only the contacts marked (True) or not marked (False) as deleted in
        Google; a filtered page may hold fewer than ``limit`` contacts (follow ``next_cursor``)."""
        ...

    def create(self, contacts: Sequence[Contact]) -> list[bool]:
        """Create new contacts (with their lookup entries); per contact, whether it was stored."""
        ...

    def replace(self, old: Contact, new: Contact) -> None:
        """Store ``new`` if the stored version is still ``old.version``; else raise ``Conflict``."""
        ...

    def delete(self, contact: Contact) -> None:
        """Delete if the stored version is still ``contact.version``; else raise ``Conflict``."""
        ...

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]:
        """Contact ids per E.164 number; numbers no contact has are absent. <= 100 keys per call."""
        ...

    def lookup_by_emails(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        """Contact ids per normalized email; emails no contact has are absent. <= 100 keys per call."""
        ...


class OrgSettingsReader(Protocol):
    def default_phone_region(self, org_id: str) -> str: ...


class SuppressionList(Protocol):
    """Keyed hashes of erased emails and phones (written by data-subject erasures): an import
    skips a row whose email or phone is on it."""

    def suppressed(self, org_id: str, emails: frozenset[str], phones: frozenset[str]) -> frozenset[str]:
        """Which of these emails / phones are suppressed (batched reads)."""
        ...


class ImportJobStore(Protocol):
    """Import jobs, one item each, keyed by org."""

    def create(self, job: ImportJob) -> None: ...

    def get(self, org_id: str, import_id: str) -> ImportJob | None: ...

    def save(self, job: ImportJob, held_token: str | None) -> bool:
        """Store ``job`` if the stored job's lease token is still ``held_token``; else False."""
        ...

    def current(self, org_id: str, user_id: str, source: ImportSource) -> str | None:
        """The id of the user's latest job of ``source`` created by ``create_current``, if any."""
        ...

    def create_current(self, job: ImportJob, replaces: str | None) -> bool:
        """Create ``job`` and make it its user's current job of its source, in one transaction, if
        the current one is still ``replaces`` (None: there was none); else nothing and False."""
        ...


class ImportFiles(Protocol):
    """The uploaded files and the rejected-rows files (the data bucket)."""

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]: ...

    def size(self, key: str) -> int | None:
        """The object's size, None if there is none."""
        ...

    def read(self, key: str, offset: int) -> Iterable[bytes]:
        """The object from byte ``offset`` on, streamed in chunks."""
        ...

    def write(self, key: str, data: bytes, content_type: str) -> None: ...

    def concatenate(self, prefix: str, key: str, head: bytes) -> None:
        """Write ``head`` and then every object under ``prefix`` (in key order) as ``key``, streamed;
        then delete those objects."""
        ...

    def presign_get(self, key: str, expires_in: timedelta) -> str: ...

    def delete(self, key: str) -> None: ...


class ImportQueue(Protocol):
    def send(self, org_id: str, import_id: str, token: str, source: ImportSource = ImportSource.CSV) -> None:
        """Ask a worker to run (or continue) the job; ``token`` lets it take the job's lease; the
        message names the ``source`` so that the worker builds only what that kind of job needs."""
        ...


class PeoplePage(Protocol):
    """One page of the user's Google Contacts, as an import job reads it."""

    @property
    def records(self) -> Sequence[tuple[str, dict[str, object]]]:
        """(resourceName, ContactIn-shaped record) of each person present, in Google's order."""
        ...

    @property
    def deleted(self) -> Sequence[str]:
        """resourceNames of the people deleted in Google since the sync token."""
        ...

    @property
    def next_page_token(self) -> str | None: ...

    @property
    def next_sync_token(self) -> str | None:
        """Google's token for the next import's changes (on the last page)."""
        ...

    @property
    def restarted(self) -> bool:
        """Google refused the sync token as expired: this is the first page of a full sync."""
        ...


class PeopleSource(Protocol):
    """The caller's Google Contacts, page by page (``callproof.mail.google_contacts.GoogleContacts``,
    joined to the import jobs in ``callproof.wiring``)."""

    def check(self, caller: Caller) -> None:
        """Raise ``Conflict`` (``google_scope_missing``) when the caller has no Google Contacts grant."""
        ...

    def sync_token(self, caller: Caller) -> str | None:
        """The sync token the last finished import saved (None: the next import is a full sync)."""
        ...

    def page(self, caller: Caller, sync_token: str | None, page_token: str | None) -> PeoplePage:
        """One page (up to 1,000 people) of the changes since ``sync_token`` (None: everyone)."""
        ...

    def record(self, caller: Caller, imported: Mapping[str, str], deleted: Sequence[str]) -> int:
        """Record which CRM contact each imported person (resourceName) is in, and mark the contacts
        of the deleted people ``removed_in_google``; how many were newly marked. Idempotent."""
        ...

    def finish(self, caller: Caller, sync_token: str | None) -> None:
        """Save the sync token the next import starts from (after the last page only)."""
        ...
