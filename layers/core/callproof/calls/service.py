"""Call-log use cases: ingest a batch, match to contacts, read, delete, re-match, devices (their
retention is the retention domain's daily purge)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from callproof.calls.model import (
    DEVICE_ID_PATTERN,
    MAX_BATCH,
    CallEntryIn,
    CallLog,
    Device,
    DeviceIn,
    EntryResult,
    EntryStatus,
    Match,
    MatchStatus,
)
from callproof.calls.numbers import CallNumber, classify
from callproof.errors import Forbidden, InvalidInput, NotFound
from callproof.phones import InvalidPhoneNumber
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.calls.ports import (
        CallLogStore,
        CallPageData,
        ContactPhoneLookup,
        DeviceStore,
        GeolocationConsent,
    )
    from callproof.contacts.model import Contact
    from callproof.contacts.ports import OrgSettingsReader

MAX_PAGE_SIZE = 100
_CONTACT_ID = re.compile(r"^[0-9a-f]{32}$")
_CALL_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def content_hash(entry: CallEntryIn, user_id: str) -> str:
    """Identifies what the phone said about a call: same client id + other hash = a conflict."""
    canonical = json.dumps([user_id, entry.model_dump(mode="json")], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def match_of(contact_ids: frozenset[str]) -> Match:
    ids = tuple(sorted(contact_ids))
    if not ids:
        return Match(MatchStatus.NONE)
    return Match(MatchStatus.UNIQUE if len(ids) == 1 else MatchStatus.AMBIGUOUS, ids)


def match_for(number: CallNumber, index: Mapping[str, frozenset[str]]) -> Match:
    if not number.matchable or number.e164 is None:
        return Match(MatchStatus.UNMATCHABLE)
    return match_of(index.get(number.e164, frozenset()))


def numbers_to_rematch(old: Contact | None, new: Contact | None) -> set[str]:
    """Numbers whose calls may match differently after a contact was created, changed or deleted.

    A restricted contact counts as absent, so setting or lifting the restriction re-matches all its
    numbers."""
    before = old.e164s if old and not old.restricted else frozenset()
    after = new.e164s if new and not new.restricted else frozenset()
    return set(before ^ after)


@dataclass(slots=True)
class _Accepted:
    index: int
    entry: CallEntryIn
    number: CallNumber
    hash: str


class CallLogService:
    def __init__(
        self,
        calls: CallLogStore,
        devices: DeviceStore,
        contacts: ContactPhoneLookup,
        orgs: OrgSettingsReader,
        *,
        geolocation: GeolocationConsent,
        clock: Clock = utcnow,
    ) -> None:
        self._calls = calls
        self._devices = devices
        self._contacts = contacts
        self._orgs = orgs
        self._geolocation = geolocation
        self._clock = clock

    # ------------------------------------------------------------------ ingest
    def ingest(self, caller: Caller, raw_entries: Sequence[Any]) -> list[EntryResult]:
        """One result per entry, in order: stored, duplicate, conflict or rejected. None is lost."""
        caller.require(Role.REP, Role.ADMIN)
        if len(raw_entries) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} entries per batch", field="entries")
        results: dict[int, EntryResult] = {}
        parsed = self._parse(caller, raw_entries, results)
        accepted = self._classify(caller, parsed, results)
        new = self._deduplicate(caller.org_id, accepted, results)
        index = self._candidates(
            caller.org_id, {a.number.e164 for a in new if a.number.matchable and a.number.e164}
        )
        now = self._clock()
        calls = [self._call(caller, item, match_for(item.number, index), now) for item in new]
        unwritten = self._calls.put_many(calls) if calls else set()
        for item, call in zip(new, calls, strict=True):
            if call.id in unwritten:
                reason = "not stored: the database is throttling; upload this entry again"
                results[item.index] = EntryResult(item.index, EntryStatus.REJECTED, call.id, reason=reason)
            else:
                results[item.index] = EntryResult(item.index, EntryStatus.STORED, call.id, call.match)
        if len(unwritten) < len(calls):
            self._calls.register_org(caller.org_id)
        return [results[i] for i in range(len(raw_entries))]

    def _candidates(self, org_id: str, e164s: set[str]) -> dict[str, frozenset[str]]:
        """The contacts per number that a call may match: restricted contacts (a data-subject request
        restricted their processing) are treated as absent."""
        index = self._contacts.lookup_by_phones(org_id, e164s) if e164s else {}
        found = frozenset().union(*index.values())
        restricted = (
            {c.id for c in self._contacts.get_many(org_id, found) if c.restricted} if found else set()
        )
        return {e164: ids - restricted for e164, ids in index.items()}

    def _parse(
        self, caller: Caller, raw_entries: Sequence[Any], results: dict[int, EntryResult]
    ) -> list[tuple[int, CallEntryIn]]:
        parsed = []
        for index, raw in enumerate(raw_entries):
            try:
                parsed.append((index, CallEntryIn.model_validate(raw)))
            except ValidationError as exc:
                error = exc.errors()[0]
                where = _field_path(error["loc"], raw)
                results[index] = EntryResult(index, EntryStatus.REJECTED, field=where, reason=error["msg"])
        return parsed

    def _classify(
        self, caller: Caller, parsed: list[tuple[int, CallEntryIn]], results: dict[int, EntryResult]
    ) -> list[_Accepted]:
        """Devices must be the caller's own; numbers are read with the device's country, else the org's."""
        devices = self._devices.get_many(caller.org_id, {entry.device_id for _, entry in parsed})
        default_region = self._orgs.default_phone_region(caller.org_id)
        accepted = []
        for index, entry in parsed:
            device = devices.get(entry.device_id)
            if device is None or device.user_id != caller.user_id:
                reason = "device is not registered to you (PUT /v1/devices/{device_id} first)"
                results[index] = EntryResult(index, EntryStatus.REJECTED, field="device_id", reason=reason)
                continue
            try:
                number = classify(entry.phone_number, device.country or default_region)
            except InvalidPhoneNumber as exc:
                results[index] = EntryResult(
                    index, EntryStatus.REJECTED, field="phone_number", reason=str(exc)
                )
                continue
            accepted.append(_Accepted(index, entry, number, content_hash(entry, caller.user_id)))
        return accepted

    def _deduplicate(
        self, org_id: str, accepted: list[_Accepted], results: dict[int, EntryResult]
    ) -> list[_Accepted]:
        stored = self._calls.get_many(org_id, {str(item.entry.client_id) for item in accepted})
        known = {call_id: call.content_hash for call_id, call in stored.items()}
        new = []
        for item in accepted:
            call_id = str(item.entry.client_id)
            if call_id not in known:
                known[call_id] = item.hash
                new.append(item)
                continue
            same = known[call_id] == item.hash
            status = EntryStatus.DUPLICATE if same else EntryStatus.CONFLICT
            reason = None if same else "this client_id was stored with different content; nothing changed"
            match = stored[call_id].match if same and call_id in stored else None
            results[item.index] = EntryResult(item.index, status, call_id, match, reason=reason)
        return new

    def _call(self, caller: Caller, item: _Accepted, match: Match, now: datetime) -> CallLog:
        entry = item.entry
        return CallLog(
            org_id=caller.org_id,
            id=str(entry.client_id),
            user_id=caller.user_id,
            device_id=entry.device_id,
            direction=entry.direction,
            started_at=entry.started_at,
            duration_seconds=entry.duration_seconds,
            raw_number=item.number.raw,
            number_kind=item.number.kind,
            e164=item.number.e164,
            extension=item.number.extension,
            metadata=dict(entry.metadata),
            match=match,
            content_hash=item.hash,
            received_at=now,
        )

    # ------------------------------------------------------------------- reads
    def list_for_user(self, caller: Caller, user: str, limit: int, cursor: str | None) -> CallPageData:
        caller.require(Role.REP, Role.ADMIN)
        user_id = caller.user_id if user == "me" else user
        if user_id != caller.user_id and not caller.has(Role.ADMIN):
            raise Forbidden("only admins may read another user's calls")
        return self._calls.list_by_user(caller.org_id, user_id, _page_size(limit), cursor)

    def list_for_contact(
        self, caller: Caller, contact_id: str, limit: int, cursor: str | None
    ) -> CallPageData:
        caller.require(Role.REP, Role.ADMIN)
        if not _CONTACT_ID.match(contact_id) or self._contacts.get(caller.org_id, contact_id) is None:
            raise NotFound("contact not found")  # another org's contact included
        return self._calls.list_by_contact(caller.org_id, contact_id, _page_size(limit), cursor)

    def delete(self, caller: Caller, call_id: str) -> None:
        caller.require(Role.REP, Role.ADMIN)
        call = self._calls.get(caller.org_id, call_id.lower()) if _CALL_ID.match(call_id.lower()) else None
        if call is None:
            raise NotFound("call log not found")
        if call.user_id != caller.user_id and not caller.has(Role.ADMIN):
            raise Forbidden("only the call's own rep or an admin may delete it")
        self._calls.delete(call)

    # ------------------------------------------------------ background work
    def rematch(self, org_id: str, e164s: set[str]) -> int:
        """Recompute the match of every call with these numbers (a contact gained or lost them)."""
        if not e164s:
            return 0
        index = self._candidates(org_id, e164s)
        changed = 0
        for e164 in sorted(e164s):
            match = match_of(index.get(e164, frozenset()))
            for call in self._calls.with_number(org_id, e164):
                if call.match != match:
                    self._calls.set_match(call, match)
                    changed += 1
        return changed

    # ----------------------------------------------------------------- devices
    def register_device(self, caller: Caller, device_id: str, data: DeviceIn) -> Device:
        caller.require(Role.REP, Role.ADMIN)
        if not re.match(DEVICE_ID_PATTERN, device_id):
            raise InvalidInput("invalid device id", field="device_id")
        location = None
        if (
            data.location_consent
            and data.location is not None
            and self._geolocation.geolocation_granted(caller.org_id, caller.user_id)
        ):  # the phone's permission and the user's current consent: without either it is dropped
            location = data.location.model_dump(exclude_none=True)
        device = Device(
            org_id=caller.org_id,
            id=device_id,
            user_id=caller.user_id,
            device_type=data.device_type,
            os_name=data.os_name,
            os_version=data.os_version,
            app_version=data.app_version,
            country=data.country,
            settings=dict(data.settings),
            location=location,
            updated_at=self._clock(),
        )
        self._devices.put(device)
        if location is not None and not self._geolocation.geolocation_granted(caller.org_id, caller.user_id):
            # withdrawn between the check and the write: the withdrawal's erasure may have run before
            # this write, so this report removes its own location (read again after the write, every
            # interleaving ends with no location: ADR 0021)
            device = replace(device, location=None)
            self._devices.put(device)
        return device


def _field_path(location: tuple[int | str, ...], raw: Any) -> str:
    """The error's location as far as it exists in the input (pydantic adds union member names)."""
    parts: list[str] = []
    for part in location:
        if not isinstance(raw, dict) or part not in raw:
            if not parts:
                parts.append(str(part))  # a missing or unknown top-level field: name it
            break
        parts.append(str(part))
        raw = raw[part]
    return ".".join(parts) or "entry"


def _page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
    return limit
