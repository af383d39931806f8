"""Ports of the call-log domain: call logs, devices and what it needs of contacts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callproof.calls.model import CallLog, Device, Match
    from callproof.contacts.model import Contact


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

    def register_org(self, org_id: str) -> None:
        """Record that the org has call logs (the retention purge walks this registry)."""
        ...


class DeviceStore(Protocol):
    def get_many(self, org_id: str, device_ids: Iterable[str]) -> dict[str, Device]: ...

    def put(self, device: Device) -> None:
        """Store or replace; raises ``Conflict`` if another user of the org registered this device id."""
        ...


class GeolocationConsent(Protocol):
    """Whether the user's current ``geolocation`` consent is given (the accounts domain's record)."""

    def geolocation_granted(self, org_id: str, user_id: str) -> bool: ...


class ContactPhoneLookup(Protocol):
    """What call logs need from contacts: matching by number, and whether a contact exists."""

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]: ...

    def get(self, org_id: str, contact_id: str) -> Contact | None: ...

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]: ...
