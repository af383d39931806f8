"""The breach register as compliance staff drive it (``functions/dsar``); the daily clock check is
``callproof.incidents.clock``.

An incident belongs to the org whose compliance staff recorded it. A customer org's staff may name
only their own org; the operator's compliance staff (``operator_org``) may name any orgs, since a
breach of the platform crosses tenants (ADR 0020). Who is affected is counted when the incident is
recorded, from the stores named: each org's members and contacts, never listed in the API. The audit
trail (the DSAR hash chain of the recording org) holds ids and counts only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from callproof.dsar.once import mail_once
from callproof.errors import Conflict, Forbidden, InvalidInput, NotFound
from callproof.ids import time_ordered_id, utc_now
from callproof.incidents.model import (
    Affected,
    Incident,
    IncidentStatus,
    PeopleDecision,
    Population,
)
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.dsar.audit import AuditLog
    from callproof.incidents.api import AuthorityIn, IncidentIn, PeopleIn
    from callproof.incidents.ports import AffectedPeople, IncidentStore, Mailer

CLOCK_SKEW = timedelta(minutes=5)


class IncidentService:
    def __init__(
        self,
        incidents: IncidentStore,
        people: AffectedPeople,
        mailer: Mailer,
        audit: AuditLog,
        operator_org: str | None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._incidents = incidents
        self._people = people
        self._mailer = mailer
        self._audit = audit
        self._operator_org = operator_org
        self._clock = clock

    # ------------------------------------------------------------------------------ staff
    def record(self, caller: Caller, body: IncidentIn) -> Incident:
        caller.require(Role.COMPLIANCE)
        now = self._clock()
        orgs = tuple(body.orgs or (caller.org_id,))
        if orgs != (caller.org_id,) and caller.org_id != self._operator_org:
            raise Forbidden("only the operator's compliance staff may record an incident naming other orgs")
        if body.detected_at > now + CLOCK_SKEW:
            raise InvalidInput("detected_at is in the future", field="detected_at")
        incident = Incident(
            org_id=caller.org_id,
            id=time_ordered_id(now),
            detected_at=body.detected_at.astimezone(UTC),
            recorded_at=now,
            recorded_by=caller.user_id,
            description=body.description,
            stores=tuple(body.stores),
            orgs=orgs,
            data_kinds=tuple(body.data_kinds),
            affected=Affected(0, 0),
        )
        incident = replace(incident, affected=self._count(incident))
        self._incidents.create(incident)
        self._audit_once(caller, incident, "incident_recorded", {
            "orgs": len(orgs), "members": incident.affected.members, "subjects": incident.affected.subjects,
        })  # fmt: skip
        return incident

    def page(self, caller: Caller, limit: int, cursor: str | None) -> tuple[list[Incident], str | None]:
        caller.require(Role.COMPLIANCE)
        return self._incidents.page(caller.org_id, limit, cursor)

    def get(self, caller: Caller, incident_id: str) -> Incident:
        caller.require(Role.COMPLIANCE)
        incident = self._incidents.get(caller.org_id, incident_id)
        if incident is None:
            raise NotFound("no such incident")
        return incident

    def authority_notified(self, caller: Caller, incident_id: str, body: AuthorityIn) -> Incident:
        """Stop the clock. Repeating it with the same facts answers the incident unchanged."""
        incident = self.get(caller, incident_id)
        if incident.status is IncidentStatus.AUTHORITY_NOTIFIED:
            if (incident.authority_notified_at, incident.authority_reference) == (
                body.notified_at,
                body.reference,
            ):
                return incident
            raise Conflict("the authority's notification is already recorded")
        if body.notified_at < incident.detected_at or body.notified_at > self._clock() + CLOCK_SKEW:
            raise InvalidInput("notified_at must lie between detected_at and now", field="notified_at")
        new = incident.next_version(
            status=IncidentStatus.AUTHORITY_NOTIFIED,
            authority_notified_at=body.notified_at.astimezone(UTC),
            authority_reference=body.reference,
        )
        self._incidents.save(incident, new)
        self._audit_once(
            caller, new, "incident_authority_notified", {"late": int(new.overdue(self._clock()))}
        )
        return new

    def decide_people(self, caller: Caller, incident_id: str, body: PeopleIn) -> Incident:
        """Record the decision; ``notify`` emails every affected member once (a replay, or a retry
        after a failed send, emails only those not emailed yet)."""
        incident = self.get(caller, incident_id)
        decision = PeopleDecision(body.decision)
        if incident.people is PeopleDecision.UNDECIDED:
            new = incident.next_version(
                people=decision, people_decided_at=self._clock(), what_to_do=body.what_to_do
            )
            self._incidents.save(incident, new)
            self._audit_once(caller, new, "incident_people_decided", {"decision": decision.value})
            incident = new
        elif (incident.people, incident.what_to_do) != (decision, body.what_to_do):
            raise Conflict("a different decision about the people is already recorded")
        if incident.people is PeopleDecision.NOTIFY:
            incident = self._notify_members(caller, incident)
        return incident

    # ------------------------------------------------------------------------------ internals
    def _count(self, incident: Incident) -> Affected:
        populations = incident.populations()
        members = subjects = 0
        for org_id in incident.orgs:
            if Population.MEMBERS in populations:
                members += len(self._people.members(org_id))
            if Population.SUBJECTS in populations:
                subjects += self._people.subject_count(org_id)
        return Affected(members=members, subjects=subjects)

    def _notify_members(self, caller: Caller, incident: Incident) -> Incident:
        if Population.MEMBERS not in incident.populations():
            return incident
        subject, text = notice(incident)
        sent = 0
        try:
            for org_id in incident.orgs:
                for member in self._people.members(org_id):
                    key = f"notice:{org_id}:{member.user_id}"
                    if mail_once(
                        self._incidents,
                        self._mailer,
                        incident.org_id,
                        incident.id,
                        key,
                        member.email,
                        subject,
                        text,
                    ):
                        sent += 1
                    detail: dict[str, str | int] = {"org": org_id, "user": member.user_id}
                    self._audit_once(caller, incident, "incident_member_notified", detail, per=key)
        finally:  # a failed send (retry later) still counts the emails that went
            if sent:
                incident = self._count_sent(incident, sent)
        return incident

    def _count_sent(self, incident: Incident, sent: int) -> Incident:
        current = self._incidents.get(incident.org_id, incident.id) or incident
        new = current.next_version(people_notified=current.people_notified + sent)
        self._incidents.save(current, new)
        return new

    def _audit_once(
        self,
        caller: Caller,
        incident: Incident,
        action: str,
        detail: dict[str, str | int],
        per: str | None = None,
    ) -> None:
        key = f"incident:{incident.id}:{action}" + (f":{per}" if per else "")
        self._audit.append(incident.org_id, key, f"user:{caller.user_id}", action, incident.id, detail)


def notice(incident: Incident) -> tuple[str, str]:
    """The email to an affected member: what happened, what data, what to do."""
    kinds = _listed(kind.value.replace("_", " ") for kind in incident.data_kinds)
    text = (
        "We are writing to tell you about a personal data breach that may affect you.\n\n"
        f"What happened (detected {incident.detected_at:%Y-%m-%d %H:%M} UTC):\n{incident.description}\n\n"
        f"What data was involved: {kinds}.\n\n"
        f"What you should do:\n{incident.what_to_do}\n\n"
        f"Reference: incident {incident.id}. Reply to this email with any question."
    )
    return "Important: a personal data breach that may affect you", text


def _listed(values: Iterable[str]) -> str:
    return ", ".join(values)
