"""In-memory implementations of the ports, with the same semantics as the DynamoDB adapters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from callproof.contacts.model import Contact
from callproof.errors import Conflict, InvalidInput
from callproof.store.ports import MAX_BATCH_KEYS, Page


class InMemoryContactStore:
    def __init__(self) -> None:
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.lookup_calls: list[int] = []  # keys sent per simulated BatchGetItem
        self.fail_create_ids: set[str] = set()

    def get(self, org_id: str, contact_id: str) -> Contact | None:
        return self.contacts.get((org_id, contact_id))

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]:
        return [c for i in sorted(set(contact_ids)) if (c := self.contacts.get((org_id, i)))]

    def list_page(self, org_id: str, limit: int, cursor: str | None) -> Page:
        ids = sorted(i for (org, i) in self.contacts if org == org_id)
        if cursor is not None:
            if not cursor.startswith("after:"):
                raise InvalidInput("invalid cursor", field="cursor")
            ids = [i for i in ids if i > cursor.removeprefix("after:")]
        page = ids[:limit]
        more = len(ids) > limit
        return Page([self.contacts[(org_id, i)] for i in page], f"after:{page[-1]}" if more else None)

    def create(self, contacts: Sequence[Contact]) -> list[bool]:
        results = []
        for contact in contacts:
            key = (contact.org_id, contact.id)
            ok = key not in self.contacts and contact.id not in self.fail_create_ids
            if ok:
                self.contacts[key] = contact
            results.append(ok)
        return results

    def replace(self, old: Contact, new: Contact) -> None:
        stored = self.contacts.get((old.org_id, old.id))
        if stored is None or stored.version != old.version:
            raise Conflict("changed")
        self.contacts[(new.org_id, new.id)] = new

    def delete(self, contact: Contact) -> None:
        stored = self.contacts.get((contact.org_id, contact.id))
        if stored is None or stored.version != contact.version:
            raise Conflict("changed")
        del self.contacts[(contact.org_id, contact.id)]

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]:
        return self._lookup(org_id, e164s, lambda c: c.e164s)

    def lookup_by_emails(self, org_id: str, emails: Iterable[str]) -> Mapping[str, frozenset[str]]:
        return self._lookup(org_id, emails, lambda c: frozenset(c.emails))

    def _lookup(self, org_id: str, keys: Iterable[str], keys_of: object) -> dict[str, frozenset[str]]:
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), MAX_BATCH_KEYS):
            self.lookup_calls.append(len(wanted[start : start + MAX_BATCH_KEYS]))
        index: defaultdict[str, set[str]] = defaultdict(set)
        for (org, contact_id), contact in self.contacts.items():
            if org == org_id:
                for key in keys_of(contact):  # type: ignore[operator]
                    index[key].add(contact_id)
        return {key: frozenset(index[key]) for key in wanted if index.get(key)}


class FixedOrgSettings:
    def __init__(self, region: str = "US", per_org: Mapping[str, str] | None = None) -> None:
        self._region = region
        self._per_org = dict(per_org or {})

    def default_phone_region(self, org_id: str) -> str:
        return self._per_org.get(org_id, self._region)
