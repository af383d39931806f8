"""Ports of the SMS domain: the SMS table (routes, configuration, consent ledger, threads, counters),
recipients, the provider (Twilio), and what it needs of contacts and of the suppression list."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callproof.sms.model import ConsentEntry, OrgSmsConfig, Recipient, SendResult, ThreadMessage


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


class SuppressionList(Protocol):
    """Keyed hashes of erased numbers: an erased person is never texted again without a new opt-in."""

    def suppressed(self, org_id: str, emails: frozenset[str], phones: frozenset[str]) -> frozenset[str]: ...
