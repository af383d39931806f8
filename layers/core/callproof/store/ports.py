"""Ports the services depend on. Adapters live beside this module; fakes live in the tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from callproof.accounts.model import (
    AgeRecord,
    ConsentRecord,
    CurrentPolicy,
    GateView,
    Member,
    PolicyVersion,
    Purpose,
)
from callproof.calls.model import CallLog, Device, Match
from callproof.contacts.model import Contact
from callproof.sms.model import ConsentEntry, OrgSmsConfig, Recipient, SendResult, ThreadMessage
from callproof.tenancy import Role

MAX_BATCH_KEYS = 100  # DynamoDB BatchGetItem's limit: the lookups never send more per call


@dataclass(frozen=True, slots=True)
class Page:
    contacts: list[Contact]
    next_cursor: str | None


class ContactStore(Protocol):
    """Persistence of contacts and of their phone / email secondary lookups, for one org at a time."""

    def get(self, org_id: str, contact_id: str) -> Contact | None: ...

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]: ...

    def list_page(self, org_id: str, limit: int, cursor: str | None) -> Page:
        """Raises ``InvalidInput`` for a cursor this store did not issue for this org."""
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


class RetentionSettingsReader(Protocol):
    def call_retention_months(self, org_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class CallPageData:
    calls: list[CallLog]
    next_cursor: str | None


class CallLogStore(Protocol):
    """Call logs of one org at a time (plus the registry of orgs that have any, for retention)."""

    def get(self, org_id: str, call_id: str) -> CallLog | None: ...

    def get_many(self, org_id: str, call_ids: Iterable[str]) -> dict[str, CallLog]:
        """Stored calls by id, <= 100 ids per DynamoDB call."""
        ...

    def put_many(self, calls: Sequence[CallLog]) -> set[str]:
        """Write new calls (<= 25 per call, unprocessed items retried); ids still unwritten are returned."""
        ...

    def delete(self, call: CallLog) -> None: ...

    def delete_many(self, org_id: str, call_ids: Sequence[str]) -> set[str]:
        """Ids that could not be deleted after retries."""
        ...

    def list_by_user(self, org_id: str, user_id: str, limit: int, cursor: str | None) -> CallPageData: ...

    def list_by_contact(
        self, org_id: str, contact_id: str, limit: int, cursor: str | None
    ) -> CallPageData: ...

    def with_number(self, org_id: str, e164: str) -> Iterator[CallLog]:
        """Every call of the org with this number, whatever its match (for re-matching)."""
        ...

    def set_match(self, call: CallLog, match: Match) -> None: ...

    def older_than(self, org_id: str, cutoff: datetime, limit: int) -> list[str]:
        """Ids of the org's calls that started before ``cutoff``, oldest first."""
        ...

    def register_org(self, org_id: str) -> None: ...

    def orgs(self) -> Iterator[str]: ...


class DeviceStore(Protocol):
    def get_many(self, org_id: str, device_ids: Iterable[str]) -> dict[str, Device]: ...

    def put(self, device: Device) -> None:
        """Store or replace; raises ``Conflict`` if another user of the org registered this device id."""
        ...


class ContactPhoneLookup(Protocol):
    """What call logs need from contacts: matching by number, and whether a contact exists."""

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]: ...

    def get(self, org_id: str, contact_id: str) -> Contact | None: ...

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]: ...


# ---------------------------------------------------------------------------------------------- SMS


@dataclass(frozen=True, slots=True)
class ThreadPage:
    messages: list[ThreadMessage]
    next_cursor: str | None


class SmsStore(Protocol):
    """Sender routing, org SMS configuration, the consent ledger, threads and the daily send counter."""

    def org_for_senders(self, senders: Sequence[str]) -> str | None:
        """The org that registered the first of ``senders`` (numbers / Messaging Service SIDs) found."""
        ...

    def get_config(self, org_id: str) -> OrgSmsConfig: ...

    def put_config(self, old: OrgSmsConfig, new: OrgSmsConfig) -> None:
        """Store ``new`` (and its sender routes) if the stored version is still ``old.version``.

        Raises ``Conflict`` on a concurrent change or a sender another org registered."""
        ...

    def record_inbound(
        self, org_id: str, message_sid: str, entry: ConsentEntry | None, messages: Sequence[ThreadMessage]
    ) -> bool:
        """Write the ledger entry and thread messages of one inbound message at most once per
        MessageSid (all or nothing); False when that MessageSid was already recorded."""
        ...

    def append_consent(self, entry: ConsentEntry) -> None: ...

    def consent_history(self, org_id: str, e164: str, limit: int) -> list[ConsentEntry]:
        """The newest ``limit`` ledger entries, newest first."""
        ...

    def reserve_send(self, org_id: str, day: str, cap: int) -> bool:
        """Count one send against the org's day; False (and nothing counted) when ``cap`` is reached."""
        ...

    def release_send(self, org_id: str, day: str) -> None: ...

    def add_message(self, message: ThreadMessage) -> None: ...

    def update_delivery(
        self,
        org_id: str,
        contact_id: str,
        message_id: str,
        message_sid: str,
        status: str,
        error_code: int | None,
    ) -> bool:
        """Record a delivery status unless a later one is already stored; False if no such message."""
        ...

    def thread_page(self, org_id: str, contact_id: str, limit: int, cursor: str | None) -> ThreadPage: ...


class RecipientReader(Protocol):
    def recipient(self, org_id: str, contact_id: str) -> Recipient | None: ...


class RecipientOptedOut(Exception):
    """The SMS provider refused the send because the recipient opted out (Twilio error 21610)."""


class SmsGateway(Protocol):
    """Outbound SMS through the provider (Twilio's REST API; locally its double)."""

    def send(self, to: str, body: str, sender: str, status_callback: str | None) -> SendResult:
        """Raises ``RecipientOptedOut``, ``InvalidInput`` (the provider refused the request) or
        ``TemporarilyUnavailable`` (the provider failed or timed out)."""
        ...


class ContactLookup(Protocol):
    """The part of ``ContactStore`` inbound SMS needs."""

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]: ...


# ----------------------------------------------------------------------------- accounts (issue 7)
class MemberStore(Protocol):
    """Org members (profiles and roles), keyed by org: another org's user is simply absent."""

    def get(self, org_id: str, user_id: str) -> Member | None: ...

    def list_org(self, org_id: str) -> list[Member]: ...

    def put(self, old: Member | None, new: Member) -> None:
        """Create (``old`` None: refuses an existing user) or replace at ``old.version``; else
        ``Conflict``. ``old.version == 0`` means a profile made from the token, not stored yet."""
        ...

    def delete(self, member: Member) -> None: ...


class IdentityDirectory(Protocol):
    """The sign-in directory (Cognito): users and the groups the authorizer turns into roles."""

    def create_user(self, org_id: str, email: str, full_name: str) -> tuple[str, str]:
        """(user id = the token's ``sub``, directory username); ``Conflict`` if the email exists."""
        ...

    def set_groups(self, username: str, add: frozenset[Role], remove: frozenset[Role]) -> None: ...

    def disable_user(self, username: str) -> None: ...


class OrgSettingsStore(Protocol):
    """The org settings item the contacts and call-log functions read (``DynamoOrgSettings``)."""

    def get(self, org_id: str) -> tuple[str | None, int | None]:
        """(default phone region, call retention months), None where the org set nothing."""
        ...

    def put(self, org_id: str, region: str | None, retention_months: int | None) -> None: ...


class SmsConfigStore(Protocol):
    """The part of ``SmsStore`` org settings need (confirmations and daily cap live there)."""

    def get_config(self, org_id: str) -> OrgSmsConfig: ...

    def put_config(self, old: OrgSmsConfig, new: OrgSmsConfig) -> None: ...


class ConsentStore(Protocol):
    """Each user's consent ledger: append-only records plus the latest record per purpose."""

    def append(self, record: ConsentRecord) -> None:
        """Store the record (never overwriting one) and make it its purpose's current state."""
        ...

    def current(self, org_id: str, user_id: str) -> dict[Purpose, ConsentRecord]: ...

    def history(self, org_id: str, user_id: str) -> list[ConsentRecord]:
        """Oldest first."""
        ...

    def gate_view(self, org_id: str, user_id: str) -> GateView:
        """The accepted terms version and whether the account is inactive, in one read."""
        ...


class PolicyStore(Protocol):
    """Published policy versions (the service's own documents, not tenant data)."""

    def current(self, document: str) -> CurrentPolicy | None: ...

    def publish(self, previous: CurrentPolicy | None, version: PolicyVersion) -> None:
        """Append ``version`` and make it current, unless another publication won (``Conflict``)."""
        ...


class PhotoStorage(Protocol):
    """Account photos in the versioned data bucket."""

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]: ...

    def exists(self, key: str) -> bool: ...

    def presign_get(self, key: str, expires_in: timedelta) -> str: ...

    def delete_all_versions(self, key: str) -> int: ...


class AgeStore(Protocol):
    """Each user's age record (with the guardian's consent), beside their consent state."""

    def get_age(self, org_id: str, user_id: str) -> AgeRecord | None: ...

    def put_age(self, org_id: str, user_id: str, record: AgeRecord) -> None: ...


class Mailer(Protocol):
    """Transactional email (SES)."""

    def send(self, to: str, subject: str, text: str) -> None: ...
