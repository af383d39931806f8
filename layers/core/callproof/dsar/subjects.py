"""Whom a request is about: from the identifiers the person proved to their records, or to a person
who must choose.

The rule (ADR 0009, "Identity proof"): identifiers are evidence, not permission to act on everyone
they touch.
- Only proven identifiers count (an email by its confirmation link, a phone by a texted code, or
  anything staff verified); the rest are left out and listed on the request as unverified.
- A proven identifier that names one contact brings that contact, and the contact brings its other
  emails and numbers (a call to the person's second number is theirs), but only when none of those
  reaches anyone else: every contact reached must be tied to a proven identifier.
- An identifier that names several contacts (a switchboard number), an address that also leads to
  another contact, or an org member's account, stops the request for staff, with the candidates.
- When staff choose, the subject is what they chose, and only the identifiers that reach nobody
  else: a number the subject shares with a colleague stays out, so the colleague's calls do too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from callproof.dsar.model import Candidate, CandidateKind, Identifiers, Proof, Subject

if TYPE_CHECKING:
    from callproof.accounts.model import Member
    from callproof.contacts.model import Contact


class ContactDirectory(Protocol):
    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]: ...

    def lookup_by_emails(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]: ...

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]: ...


class MemberDirectory(Protocol):
    def list_org(self, org_id: str) -> list[Member]: ...


@dataclass(frozen=True, slots=True)
class Resolution:
    """Either a subject to act on, or (``subject`` None) the candidates staff choose among."""

    subject: Subject | None
    candidates: tuple[Candidate, ...] = ()


class _Reach:
    """Who was reached, and how (labels name identifiers by kind, never by value)."""

    def __init__(self) -> None:
        self.contacts: dict[str, set[str]] = defaultdict(set)
        self.users: dict[str, set[str]] = defaultdict(set)

    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(
            Candidate(kind, item_id, tuple(sorted(via)))
            for kind, found in ((CandidateKind.CONTACT, self.contacts), (CandidateKind.USER, self.users))
            for item_id, via in sorted(found.items())
        )


class SubjectResolver:
    def __init__(self, contacts: ContactDirectory, members: MemberDirectory | None) -> None:
        self._contacts = contacts
        self._members = members

    def resolve(self, org_id: str, identifiers: Identifiers) -> Resolution:
        """The subject of the proven identifiers, or the candidates when it is not clear."""
        emails, phones = _proven_values(identifiers)
        given_emails = frozenset(emails)
        reach = _Reach()
        ambiguous = False
        for label, found in self._lookup(org_id, emails, phones):
            for contact_ids in found.values():
                ambiguous |= len(contact_ids) > 1
                for contact_id in contact_ids:
                    reach.contacts[contact_id].add(label)
        if Proof.CONTACT_ID in identifiers.proven and identifiers.contact_id:
            reach.contacts[identifiers.contact_id].add(Proof.CONTACT_ID.value)
        contacts = self._contacts.get_many(org_id, sorted(reach.contacts))
        tied = {contact.id for contact in contacts}
        reach.contacts = defaultdict(set, {cid: via for cid, via in reach.contacts.items() if cid in tied})

        # One step further: the tied contacts' other addresses must lead to nobody else.
        owners: dict[str, set[str]] = defaultdict(set)
        for contact in contacts:
            for value in (*contact.emails, *contact.e164s):
                owners[value].add(contact.id)
        more_emails = {email for contact in contacts for email in contact.emails} - emails
        more_phones = {e164 for contact in contacts for e164 in contact.e164s} - phones
        for label, found in self._lookup(org_id, more_emails, more_phones):
            for value, contact_ids in found.items():
                for contact_id in contact_ids - tied:
                    ambiguous = True
                    reach.contacts[contact_id].add(f"{label} of contact {','.join(sorted(owners[value]))}")
        emails |= more_emails
        phones |= more_phones
        for user_id, label in self._members_with(org_id, emails, given_emails, owners):
            reach.users[user_id].add(label)
        if ambiguous or reach.users:
            return Resolution(None, reach.candidates())
        return Resolution(
            Subject(
                org_id=org_id,
                emails=frozenset(emails),
                phones=frozenset(phones),
                contact_ids=frozenset(tied),
            )
        )

    def chosen(
        self, org_id: str, identifiers: Identifiers, contact_ids: Iterable[str], user_ids: Iterable[str]
    ) -> Subject:
        """The subject staff chose: those contacts and accounts, with the proven identifiers and
        the contacts' emails and numbers that reach no one left out of the choice."""
        chosen_users = frozenset(user_ids)
        contacts = self._contacts.get_many(org_id, sorted(set(contact_ids)))
        chosen = frozenset(contact.id for contact in contacts)
        emails, phones = _proven_values(identifiers)
        emails |= {email for contact in contacts for email in contact.emails}
        phones |= {e164 for contact in contacts for e164 in contact.e164s}
        shared: set[str] = set()
        for _, found in self._lookup(org_id, emails, phones):
            shared.update(value for value, ids in found.items() if ids - chosen)
        shared.update(
            member.email.lower()
            for member in (self._members.list_org(org_id) if self._members else ())
            if member.user_id not in chosen_users
        )
        return Subject(
            org_id=org_id,
            emails=frozenset(emails - shared),
            phones=frozenset(phones - shared),
            contact_ids=chosen,
            user_ids=chosen_users,
        )

    def _lookup(
        self, org_id: str, emails: set[str], phones: set[str]
    ) -> tuple[tuple[str, Mapping[str, frozenset[str]]], ...]:
        return (
            (Proof.EMAIL.value, self._contacts.lookup_by_emails(org_id, sorted(emails)) if emails else {}),
            (Proof.PHONE.value, self._contacts.lookup_by_phones(org_id, sorted(phones)) if phones else {}),
        )

    def _members_with(
        self, org_id: str, emails: set[str], given: frozenset[str], owners: Mapping[str, set[str]]
    ) -> Iterable[tuple[str, str]]:
        """(user id, how reached) of org members whose account email is one of ``emails``."""
        if self._members is None or not emails:
            return
        for member in self._members.list_org(org_id):
            email = member.email.lower()
            if email in given:
                yield member.user_id, Proof.EMAIL.value
            elif email in emails:
                yield member.user_id, f"email of contact {','.join(sorted(owners[email]))}"


def _proven_values(identifiers: Identifiers) -> tuple[set[str], set[str]]:
    emails = {identifiers.email} if identifiers.email and Proof.EMAIL in identifiers.proven else set()
    phones = {identifiers.phone} if identifiers.phone and Proof.PHONE in identifiers.proven else set()
    return emails, phones
