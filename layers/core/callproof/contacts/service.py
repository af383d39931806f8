"""Contact use cases. Pure: talks to its ports only, raises domain errors."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callproof.contacts.model import Contact, ContactDraft, ContactIn, ContactPatch
from callproof.errors import Conflict, Forbidden, InvalidInput, NotFound
from callproof.phones import InvalidPhoneNumber, Phone, normalize
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.contacts.ports import ContactStore, OrgSettingsReader, Page

MAX_PAGE_SIZE = 100
_CONTACT_ID = re.compile(r"^[0-9a-f]{32}$")
_UPDATE_ATTEMPTS = 3

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_contact_id() -> str:
    """32 hex digits: milliseconds since the epoch, then 80 random bits (ULID-like), so ids sort by
    creation time and a contact list pages oldest first."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def normalize_phones(raw_phones: Sequence[str], region: str, field: str = "phones") -> tuple[Phone, ...]:
    """E.164 per number, first spelling kept when two spellings are the same number."""
    phones: dict[str, Phone] = {}
    for index, raw in enumerate(raw_phones):
        try:
            phone = normalize(raw, region)
        except InvalidPhoneNumber as exc:
            raise InvalidInput(f"invalid phone number: {exc}", field=f"{field}[{index}]") from None
        phones.setdefault(phone.e164, phone)
    return tuple(phones.values())


def build_draft(data: ContactIn, region: str, default_owner: str) -> ContactDraft:
    return ContactDraft(
        name=data.name,
        type=data.type,
        owner_user_id=data.owner_user_id or default_owner,
        company=data.company or None,
        emails=tuple(dict.fromkeys(data.emails)),
        phones=normalize_phones(data.phones, region),
    )


def _check_owner_change(caller: Caller, current: Contact, patch: ContactPatch) -> None:
    """Changing the owner needs the current owner or an admin: else a rep could make a colleague's
    contact their own and then delete it. Naming the current owner again is no change."""
    wanted = patch.owner_user_id
    if wanted is None or wanted == current.owner_user_id:
        return
    if current.owner_user_id != caller.user_id and not caller.has(Role.ADMIN):
        raise Forbidden("only the contact's owner or an admin may change its owner", field="owner_user_id")


@dataclass(frozen=True, slots=True)
class LookupResult:
    phones: dict[str, list[Contact]]
    emails: dict[str, list[Contact]]


class ContactService:
    def __init__(
        self,
        store: ContactStore,
        orgs: OrgSettingsReader,
        *,
        clock: Clock = utcnow,
        new_id: IdFactory = new_contact_id,
    ) -> None:
        self._store = store
        self._orgs = orgs
        self._clock = clock
        self._new_id = new_id

    def now(self) -> datetime:
        return self._clock()

    def new_contact(self, org_id: str, draft: ContactDraft) -> Contact:
        now = self._clock()
        return Contact(
            id=self._new_id(),
            org_id=org_id,
            name=draft.name,
            type=draft.type,
            owner_user_id=draft.owner_user_id,
            company=draft.company,
            emails=draft.emails,
            phones=draft.phones,
            created_at=now,
            updated_at=now,
        )

    def create(self, caller: Caller, data: ContactIn) -> Contact:
        caller.require(Role.REP, Role.ADMIN)
        draft = build_draft(data, self._orgs.default_phone_region(caller.org_id), caller.user_id)
        contact = self.new_contact(caller.org_id, draft)
        if not self._store.create([contact])[0]:
            raise Conflict("contact could not be created; retry")
        return contact

    def get(self, caller: Caller, contact_id: str) -> Contact:
        caller.require(Role.REP, Role.ADMIN)
        contact = self._store.get(caller.org_id, contact_id) if _CONTACT_ID.match(contact_id) else None
        if contact is None:
            raise NotFound("contact not found")
        return contact

    def list(
        self, caller: Caller, limit: int, cursor: str | None, removed_in_google: bool | None = None
    ) -> Page:
        caller.require(Role.REP, Role.ADMIN)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
        return self._store.list_page(caller.org_id, limit, cursor, removed_in_google)

    def update(self, caller: Caller, contact_id: str, patch: ContactPatch) -> Contact:
        """Apply ``patch`` to the current version; re-read and re-apply if another write won the race.

        Who may change what: the contact's data (name, type, company, emails, phones) is the team's,
        so any rep or admin of the org may edit it; its owner (who may delete it) changes only by the
        current owner or an admin. A patch that may not be applied whole changes nothing."""
        region = self._orgs.default_phone_region(caller.org_id)
        for _ in range(_UPDATE_ATTEMPTS):
            current = self.get(caller, contact_id)
            _check_owner_change(caller, current, patch)
            updated = self._patched(current, patch, region)
            try:
                self._store.replace(current, updated)
            except Conflict:
                continue
            return updated
        raise Conflict("contact is being changed concurrently; retry")

    def correct(self, org_id: str, contact_id: str, patch: ContactPatch) -> Contact:
        """A correction through a data-subject request: compliance staff act with an admin's authority
        over the person's data in the org's contacts (the request, not this call, is what they are
        authorised by). Who owns a contact is not the person's data: a correction never changes it."""
        if "owner_user_id" in patch.model_fields_set:
            raise InvalidInput(
                "a correction changes the person's data, not the contact's owner", field="owner_user_id"
            )
        return self.update(Caller(org_id, "dsar", frozenset({Role.ADMIN})), contact_id, patch)

    def delete(self, caller: Caller, contact_id: str) -> None:
        current = self.get(caller, contact_id)
        if current.owner_user_id != caller.user_id and not caller.has(Role.ADMIN):
            raise Forbidden("only the contact's owner or an admin may delete it")
        self._store.delete(current)

    def lookup(self, caller: Caller, raw_phones: Sequence[str], emails: Sequence[str]) -> LookupResult:
        caller.require(Role.REP, Role.ADMIN)
        region = self._orgs.default_phone_region(caller.org_id)
        e164s = [phone.e164 for phone in normalize_phones(raw_phones, region)]
        by_phone = self._store.lookup_by_phones(caller.org_id, e164s)
        by_email = self._store.lookup_by_emails(caller.org_id, emails)
        ids = set().union(*by_phone.values(), *by_email.values())
        contacts = {c.id: c for c in self._store.get_many(caller.org_id, ids)}

        def resolve(keys: Iterable[str], index: dict[str, frozenset[str]]) -> dict[str, list[Contact]]:
            return {
                key: sorted((contacts[i] for i in index.get(key, ()) if i in contacts), key=lambda c: c.id)
                for key in keys
            }

        return LookupResult(phones=resolve(e164s, dict(by_phone)), emails=resolve(emails, dict(by_email)))

    def _patched(self, current: Contact, patch: ContactPatch, region: str) -> Contact:
        changes = patch.model_dump(exclude_unset=True)
        if "name" in changes and changes["name"] is None:
            raise InvalidInput("name cannot be removed", field="name")
        if "type" in changes and changes["type"] is None:
            raise InvalidInput("type cannot be removed", field="type")
        if "owner_user_id" in changes and changes["owner_user_id"] is None:
            raise InvalidInput("owner_user_id cannot be removed", field="owner_user_id")
        return replace(
            current,
            name=patch.name if patch.name is not None else current.name,
            type=patch.type if patch.type is not None else current.type,
            company=patch.company or None if "company" in changes else current.company,
            emails=tuple(dict.fromkeys(patch.emails)) if patch.emails is not None else current.emails,
            phones=normalize_phones(patch.phones, region) if patch.phones is not None else current.phones,
            owner_user_id=patch.owner_user_id or current.owner_user_id,
            updated_at=self._clock(),
            version=current.version + 1,
        )
