"""Incidents of the breach register: what happened, to which stores and orgs, who is affected (counts
only), the 72-hour clock to notify the supervisory authority, and the decision to tell the people."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

AUTHORITY_WINDOW = timedelta(hours=72)  # GDPR art. 33(1): from becoming aware of the breach
INCIDENT_ID_PATTERN = r"^[0-9a-f]{23}$"


class IncidentStatus(StrEnum):
    """``open``: the authority's clock runs; ``overdue``: the daily check found the 72 hours passed
    without a notification; ``authority_notified``: the clock stopped (notified, possibly late)."""

    OPEN = "open"
    OVERDUE = "overdue"
    AUTHORITY_NOTIFIED = "authority_notified"


AWAITING_AUTHORITY = frozenset({IncidentStatus.OPEN, IncidentStatus.OVERDUE})


class PeopleDecision(StrEnum):
    UNDECIDED = "undecided"
    NOTIFY = "notify"  # GDPR art. 34: high risk to the people: each affected member is emailed once
    NOT_REQUIRED = "not_required"


class Population(StrEnum):
    MEMBERS = "members"  # the org's users (accounts)
    SUBJECTS = "subjects"  # the org's CRM contacts: the people its reps call, text and mail


# Who each store of the DSAR registry (``callproof.wiring_personal_data``) holds data about; a test
# keeps this table equal to the registry's store names.
STORE_PEOPLE: dict[str, frozenset[Population]] = {
    "contacts": frozenset({Population.SUBJECTS}),
    "call_logs": frozenset({Population.SUBJECTS, Population.MEMBERS}),
    "devices": frozenset({Population.MEMBERS}),
    "sms": frozenset({Population.SUBJECTS}),
    "mail": frozenset({Population.SUBJECTS, Population.MEMBERS}),
    "integrations": frozenset({Population.MEMBERS}),
    "accounts": frozenset({Population.MEMBERS}),
}


class DataKind(StrEnum):
    CONTACT_DETAILS = "contact_details"
    CALL_RECORDS = "call_records"
    MESSAGES = "messages"
    EMAIL_CONTENT = "email_content"
    LOCATION = "location"
    ACCOUNT = "account"
    CREDENTIALS = "credentials"


@dataclass(frozen=True, slots=True)
class Affected:
    """How many people the incident reaches (counted, never listed)."""

    members: int
    subjects: int


@dataclass(frozen=True, slots=True)
class Incident:
    org_id: str  # the recording org: its compliance staff own the incident
    id: str
    detected_at: datetime
    recorded_at: datetime
    recorded_by: str
    description: str
    stores: tuple[str, ...]
    orgs: tuple[str, ...]
    data_kinds: tuple[DataKind, ...]
    affected: Affected
    status: IncidentStatus = IncidentStatus.OPEN
    authority_notified_at: datetime | None = None
    authority_reference: str | None = None
    people: PeopleDecision = PeopleDecision.UNDECIDED
    people_decided_at: datetime | None = None
    what_to_do: str | None = None
    people_notified: int = 0
    version: int = 1

    @property
    def authority_due(self) -> datetime:
        return self.detected_at + AUTHORITY_WINDOW

    def overdue(self, now: datetime) -> bool:
        """The clock ran out: not notified and past due, or notified after the due time."""
        at = self.authority_notified_at or now
        return at > self.authority_due

    def populations(self) -> frozenset[Population]:
        return frozenset().union(*(STORE_PEOPLE[store] for store in self.stores))

    def next_version(self, **changes: object) -> Incident:
        return replace(self, version=self.version + 1, **changes)  # type: ignore[arg-type]
