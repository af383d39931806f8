"""CSV import: validate each row, deduplicate by email and phone against the org and the file itself.

Rows are read in order. A row whose emails / phones match no contact creates one; a row matching exactly
one contact (existing, or created by an earlier row) adds its new emails / phones to it and fills an
empty company ("updated"), or changes nothing ("duplicate"); imports never overwrite curated fields. A
row matching several contacts is rejected as ambiguous: guessing would merge two people. Importing the
same file twice therefore creates nothing the second time.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pydantic import ValidationError

from callproof.contacts.model import Contact, ContactDraft, ContactIn, ContactType, RowStatus
from callproof.contacts.service import ContactService, build_draft
from callproof.errors import Conflict, DomainError, InvalidInput
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.contacts.ports import ContactStore, OrgSettingsReader, SuppressionList
    from callproof.phones import Phone

MAX_ROWS = 20_000
MAX_SYNC_ROWS = 1_000  # POST /v1/contacts/imports; larger files go through an upload and a job
VALUE_SEPARATOR = ";"
_COLUMNS = {
    "name": "name",
    "company": "company",
    "type": "type",
    "owner_user_id": "owner_user_id",
    "email": "emails",
    "emails": "emails",
    "phone": "phones",
    "phones": "phones",
}
_LIST_FIELDS = {"emails", "phones"}


@dataclass(slots=True)
class RowResult:
    line: int
    status: RowStatus
    contact_id: str | None = None
    field: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class ImportReport:
    rows: list[RowResult]
    ignored_columns: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        totals = dict.fromkeys((status.value for status in RowStatus), 0)
        for row in self.rows:
            totals[row.status.value] += 1
        return totals


@dataclass(slots=True)
class _Working:
    """The org's contacts touched by this import, and the lookup keys they hold, as rows are applied."""

    loaded: dict[str, Contact]
    contacts: dict[str, Contact]
    by_key: defaultdict[str, set[str]]
    new_ids: set[str] = field(default_factory=set)
    changed_ids: set[str] = field(default_factory=set)

    def index(self, contact: Contact) -> None:
        for key in _keys(contact.emails, contact.e164s):
            self.by_key[key].add(contact.id)


class ContactImporter:
    def __init__(
        self,
        store: ContactStore,
        orgs: OrgSettingsReader,
        service: ContactService,
        suppression: SuppressionList | None = None,
    ) -> None:
        self._store = store
        self._orgs = orgs
        self._service = service
        self._suppression = suppression

    def run(
        self, caller: Caller, text: str, max_rows: int = MAX_ROWS, too_many: type[DomainError] = InvalidInput
    ) -> ImportReport:
        """A whole file at once; more than ``max_rows`` data rows raise ``too_many``."""
        caller.require(Role.REP, Role.ADMIN)
        records, ignored = parse_csv(text, max_rows, too_many)
        return ImportReport(rows=self.apply(caller, records), ignored_columns=ignored)

    def import_records(
        self, caller: Caller, records: list[dict[str, object]]
    ) -> tuple[dict[str, int], list[str | None]]:
        """Rows that come as records, not a file (Google people): the counts and, per record, the
        contact it was created in or merged into (None when rejected or suppressed)."""
        rows = self.apply(caller, list(enumerate(records)))
        by_line = {row.line: row.contact_id for row in rows}
        return ImportReport(rows=rows).counts(), [by_line.get(line) for line in range(len(records))]

    def apply(self, caller: Caller, records: list[tuple[int, dict[str, object]]]) -> list[RowResult]:
        """Import parsed rows (file line, ContactIn-shaped record) in order; one result per row, by line.

        A chunk of a larger file goes through here too: each chunk deduplicates against the org's stored
        contacts, so a chunk applied twice (a worker that crashed before its checkpoint) finds only
        duplicates the second time and creates nothing again."""
        caller.require(Role.REP, Role.ADMIN)
        region = self._orgs.default_phone_region(caller.org_id)
        results: list[RowResult] = []
        drafts: list[tuple[int, ContactDraft]] = []
        for line, record in records:
            try:
                data = ContactIn.model_validate(record)
                drafts.append((line, build_draft(data, region, caller.user_id)))
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(str(part) for part in error["loc"])
                results.append(RowResult(line, RowStatus.REJECTED, field=where, reason=error["msg"]))
            except InvalidInput as exc:
                results.append(RowResult(line, RowStatus.REJECTED, field=exc.field, reason=exc.message))

        drafts = self._drop_suppressed(caller.org_id, drafts, results)
        working = self._load_matches(caller.org_id, [d for _, d in drafts])
        for line, draft in drafts:
            results.append(self._apply(caller.org_id, line, draft, working))
        self._write(working, results)
        results.sort(key=lambda row: row.line)
        return results

    def _drop_suppressed(
        self, org_id: str, drafts: list[tuple[int, ContactDraft]], results: list[RowResult]
    ) -> list[tuple[int, ContactDraft]]:
        """Rows naming an erased person's email or phone are skipped (one batched check for the file);
        the status does not say which value matched."""
        if self._suppression is None or not drafts:
            return drafts
        emails = frozenset(email for _, draft in drafts for email in draft.emails)
        e164s = frozenset(phone.e164 for _, draft in drafts for phone in draft.phones)
        hit = self._suppression.suppressed(org_id, emails, e164s)
        kept = []
        for line, draft in drafts:
            if hit & {*draft.emails, *(phone.e164 for phone in draft.phones)}:
                results.append(RowResult(line, RowStatus.SUPPRESSED))
            else:
                kept.append((line, draft))
        return kept

    def _load_matches(self, org_id: str, drafts: list[ContactDraft]) -> _Working:
        emails = {email for draft in drafts for email in draft.emails}
        e164s = {phone.e164 for draft in drafts for phone in draft.phones}
        matches = [*self._store.lookup_by_emails(org_id, emails).values()]
        matches += self._store.lookup_by_phones(org_id, e164s).values()
        existing = self._store.get_many(org_id, set().union(*matches))
        loaded = {contact.id: contact for contact in existing}
        working = _Working(loaded=loaded, contacts=dict(loaded), by_key=defaultdict(set))
        for contact in existing:
            working.index(contact)
        return working

    def _apply(self, org_id: str, line: int, draft: ContactDraft, working: _Working) -> RowResult:
        keys = _keys(draft.emails, (phone.e164 for phone in draft.phones))
        if not keys:
            return RowResult(line, RowStatus.REJECTED, field="emails", reason="needs an email or a phone")
        matched = set().union(*(working.by_key.get(key, set()) for key in keys))
        if len(matched) > 1:
            reason = f"matches {len(matched)} different contacts; resolve by hand"
            return RowResult(line, RowStatus.REJECTED, reason=reason)
        if not matched:
            contact = self._service.new_contact(org_id, draft)
            working.contacts[contact.id] = contact
            working.new_ids.add(contact.id)
            working.index(contact)
            return RowResult(line, RowStatus.CREATED, contact_id=contact.id)
        current = working.contacts[matched.pop()]
        merged = _merge(current, draft.emails, draft.phones, draft.company)
        if merged == current:
            return RowResult(line, RowStatus.DUPLICATE, contact_id=current.id)
        working.contacts[current.id] = merged
        working.index(merged)
        if current.id not in working.new_ids:
            working.changed_ids.add(current.id)
        return RowResult(line, RowStatus.UPDATED, contact_id=current.id)

    def _write(self, working: _Working, results: list[RowResult]) -> None:
        """Store new and changed contacts; rows whose contact could not be stored become rejected."""
        failed: dict[str, str] = {}
        new = [working.contacts[i] for i in sorted(working.new_ids)]
        for contact, stored in zip(new, self._store.create(new), strict=True):
            if not stored:
                failed[contact.id] = "could not be stored; import the file again"
        now = self._service.now()
        for contact_id in sorted(working.changed_ids):
            loaded = working.loaded[contact_id]
            merged = replace(working.contacts[contact_id], version=loaded.version + 1, updated_at=now)
            try:
                self._store.replace(loaded, merged)
            except Conflict:
                failed[contact_id] = "contact changed during the import; import the file again"
        for row in results:
            if row.contact_id in failed and row.status is not RowStatus.DUPLICATE:
                row.reason = failed[row.contact_id]
                row.status, row.contact_id = RowStatus.REJECTED, None


def _keys(emails: Iterable[str], e164s: Iterable[str]) -> set[str]:
    return {f"e:{email}" for email in emails} | {f"p:{e164}" for e164 in e164s}


def _merge(current: Contact, emails: Iterable[str], phones: Iterable[Phone], company: str | None) -> Contact:
    known = current.e164s
    merged = replace(
        current,
        emails=tuple(dict.fromkeys((*current.emails, *emails))),
        phones=current.phones + tuple(phone for phone in phones if phone.e164 not in known),
        company=current.company or company,
    )
    return current if merged == current else merged


def parse_csv(
    text: str, max_rows: int = MAX_ROWS, too_many: type[DomainError] = InvalidInput
) -> tuple[list[tuple[int, dict[str, object]]], list[str]]:
    """Rows as ContactIn-shaped dicts keyed by file line number, and the header columns ignored."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("the CSV file is empty", field="body") from None
    except csv.Error as exc:
        raise InvalidInput(f"unreadable CSV: {exc}", field="body") from None
    columns, ignored = header_columns(header)
    records: list[tuple[int, dict[str, object]]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(records) >= max_rows:
                raise too_many(
                    f"more than {max_rows} rows; {_TOO_MANY_HINT[too_many is InvalidInput]}", field="body"
                )
            records.append((reader.line_num, record_of(columns, row)))
    except csv.Error as exc:
        raise InvalidInput(f"unreadable CSV at line {reader.line_num}: {exc}", field="body") from None
    return records, ignored


def header_columns(header: list[str]) -> tuple[list[str | None], list[str]]:
    """The field each header cell maps to (None: ignored), and the ignored header names."""
    columns = [_COLUMNS.get(name.strip().lower()) for name in header]
    if "name" not in columns:
        raise InvalidInput("the header row needs a 'name' column", field="body")
    return columns, [name for name, column in zip(header, columns, strict=True) if column is None]


_TOO_MANY_HINT = {True: "split the file", False: "upload it: POST /v1/contacts/imports/uploads"}


def record_of(columns: list[str | None], row: list[str]) -> dict[str, object]:
    """One data row as a ContactIn-shaped dict (``type`` defaults to prospect)."""
    record: dict[str, object] = {"type": ContactType.PROSPECT.value}
    for column, cell in zip(columns, row, strict=False):
        value = cell.strip()
        if column is None or not value:
            continue
        if column in _LIST_FIELDS:
            existing = record.setdefault(column, [])
            assert isinstance(existing, list)
            existing.extend(part.strip() for part in value.split(VALUE_SEPARATOR) if part.strip())
        else:
            record[column] = value.lower() if column == "type" else value
    return record
