"""Resolving a request's identifiers to the subject's records (contacts, org accounts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from callproof.accounts.model import Member
from callproof.contacts.model import Contact
from callproof.dsar.model import Identifiers
from callproof.dsar.ports import Subject


class ContactDirectory(Protocol):
    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]: ...

    def lookup_by_emails(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]: ...

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]: ...


class MemberDirectory(Protocol):
    def list_org(self, org_id: str) -> list[Member]: ...


class SubjectResolver:
    def __init__(self, contacts: ContactDirectory, members: MemberDirectory | None) -> None:
        self._contacts = contacts
        self._members = members

    def resolve(self, org_id: str, identifiers: Identifiers) -> Subject:
        """The contacts the identifiers name, expanded by one step: their other emails and numbers
        belong to the subject too (a call to their second number is theirs). Accounts of org
        users with one of those emails are the subject's as well. Nothing found: an empty subject."""
        emails = {identifiers.email} if identifiers.email else set()
        phones = {identifiers.phone} if identifiers.phone else set()
        ids: set[str] = set()
        for found in (
            self._contacts.lookup_by_emails(org_id, emails),
            self._contacts.lookup_by_phones(org_id, phones),
        ):
            for contact_ids in found.values():
                ids.update(contact_ids)
        if identifiers.contact_id:
            ids.add(identifiers.contact_id)
        contacts = self._contacts.get_many(org_id, sorted(ids))
        for contact in contacts:
            emails.update(contact.emails)
            phones.update(contact.e164s)
        users = set()
        if self._members is not None and emails:
            users = {
                member.user_id for member in self._members.list_org(org_id) if member.email.lower() in emails
            }
        return Subject(
            org_id=org_id,
            emails=frozenset(emails),
            phones=frozenset(phones),
            contact_ids=frozenset(contact.id for contact in contacts),
            user_ids=frozenset(users),
        )
