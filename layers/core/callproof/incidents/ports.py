"""Ports of the breach register: the incidents, the people they reach, and mail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callproof.accounts.model import Member
    from callproof.incidents.model import Incident


class IncidentStore(Protocol):
    """Incidents of one org at a time, plus the cross-org index of those awaiting the authority."""

    def create(self, incident: Incident) -> None: ...

    def get(self, org_id: str, incident_id: str) -> Incident | None: ...

    def save(self, old: Incident, new: Incident) -> None:
        """Store ``new`` if the stored version is still ``old.version`` (else ``Conflict``)."""
        ...

    def page(self, org_id: str, limit: int, cursor: str | None) -> tuple[list[Incident], str | None]:
        """The org's incidents, newest first."""
        ...

    def awaiting_authority(self) -> Iterator[tuple[str, str]]:
        """(org, id) of every incident whose authority clock runs, across orgs (sparse index)."""
        ...

    def claim(self, org_id: str, incident_id: str, key: str) -> bool:
        """Record that the once-only effect ``key`` (an email) happens now; False if it already did."""
        ...

    def release(self, org_id: str, incident_id: str, key: str) -> None: ...


class AffectedPeople(Protocol):
    """Who an org's stores hold data about: its members (listed, to be emailed) and its subjects
    (the CRM contacts, counted only)."""

    def members(self, org_id: str) -> list[Member]: ...

    def subject_count(self, org_id: str) -> int:
        """How many contacts the org holds, counted by pages (never loaded)."""
        ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str) -> None: ...
