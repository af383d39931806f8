"""Request / response models of the breach register's HTTP API (they also make the OpenAPI document).
Affected people appear as counts only, never listed."""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from callproof.incidents.model import STORE_PEOPLE, DataKind, Incident, IncidentStatus, PeopleDecision
from callproof.models import Model
from callproof.values import FREE_TEXT, ISO_DATETIME, SINGLE_LINE

# Matched as sent: the model strips its text, and the pattern allows no space.
OrgId = Annotated[str, StringConstraints(strip_whitespace=False, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
StoreName = Literal["contacts", "call_logs", "devices", "sms", "mail", "integrations", "accounts"]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000), FREE_TEXT
]
Advice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=3000), FREE_TEXT]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IncidentIn(_Strict):
    """An incident as compliance staff record it. ``orgs`` defaults to the caller's org; naming any
    other org (a breach across tenants) is for the operator's compliance staff only (ADR 0020)."""

    detected_at: Annotated[AwareDatetime, ISO_DATETIME]
    description: Description
    stores: list[StoreName] = Field(min_length=1, max_length=len(STORE_PEOPLE))
    orgs: list[OrgId] | None = Field(default=None, min_length=1, max_length=100)
    data_kinds: list[DataKind] = Field(min_length=1, max_length=len(DataKind))

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        for name, values in (
            ("stores", self.stores),
            ("orgs", self.orgs or []),
            ("data_kinds", self.data_kinds),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a value twice")
        return self


class AuthorityIn(_Strict):
    """The supervisory authority was notified: when, and its case reference."""

    notified_at: Annotated[AwareDatetime, ISO_DATETIME]
    reference: Reference


class PeopleIn(_Strict):
    """Whether the affected people must be told (GDPR art. 34). ``notify`` emails each affected
    member once with what happened, what data and ``what_to_do``; repeating it sends nothing twice."""

    decision: Literal["notify", "not_required"]
    what_to_do: Advice | None = None

    @model_validator(mode="after")
    def _advice(self) -> Self:
        if self.decision == "notify" and not self.what_to_do:
            raise ValueError("what_to_do is required to notify the people")
        return self


class AffectedOut(Model):
    members: int
    subjects: int


class IncidentOut(Model):
    id: str
    status: IncidentStatus
    detected_at: datetime
    recorded_at: datetime
    description: str
    stores: list[str]
    orgs: list[str]
    data_kinds: list[DataKind]
    affected: AffectedOut
    authority_due: datetime
    authority_overdue: bool
    authority_notified_at: datetime | None
    authority_reference: str | None
    people: PeopleDecision
    people_decided_at: datetime | None
    what_to_do: str | None
    people_notified: int

    @classmethod
    def of(cls, incident: Incident, now: datetime) -> Self:
        return cls(
            id=incident.id,
            status=incident.status,
            detected_at=incident.detected_at,
            recorded_at=incident.recorded_at,
            description=incident.description,
            stores=list(incident.stores),
            orgs=list(incident.orgs),
            data_kinds=list(incident.data_kinds),
            affected=AffectedOut(members=incident.affected.members, subjects=incident.affected.subjects),
            authority_due=incident.authority_due,
            authority_overdue=incident.overdue(now),
            authority_notified_at=incident.authority_notified_at,
            authority_reference=incident.authority_reference,
            people=incident.people,
            people_decided_at=incident.people_decided_at,
            what_to_do=incident.what_to_do,
            people_notified=incident.people_notified,
        )


class IncidentPage(Model):
    items: list[IncidentOut]
    next_cursor: str | None
