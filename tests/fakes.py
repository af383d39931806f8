"""In-memory implementations of the ports, with the same semantics as the DynamoDB adapters."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from callproof.accounts.model import (
    AgeRecord,
    AgeStatus,
    ConsentRecord,
    CurrentPolicy,
    DirectoryUser,
    GateView,
    Member,
    PolicyVersion,
    Purpose,
)
from callproof.calls.model import CallLog, Device, Match
from callproof.calls.ports import CallPageData
from callproof.contacts.model import Contact, ImportJob, ImportSource
from callproof.contacts.ports import MAX_BATCH_KEYS, Page
from callproof.errors import Conflict, InvalidInput
from callproof.otp import CodeCheck, CodeOutcome
from callproof.sms.model import ConsentEntry, OrgSmsConfig, Recipient, SendResult, ThreadMessage
from callproof.sms.ports import RecipientOptedOut, ThreadPage
from callproof.tenancy import Role


class InMemoryContactStore:
    def __init__(self) -> None:
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.lookup_calls: list[int] = []  # keys sent per simulated BatchGetItem
        self.fail_create_ids: set[str] = set()

    def get(self, org_id: str, contact_id: str) -> Contact | None:
        return self.contacts.get((org_id, contact_id))

    def get_many(self, org_id: str, contact_ids: Iterable[str]) -> list[Contact]:
        return [c for i in sorted(set(contact_ids)) if (c := self.contacts.get((org_id, i)))]

    def list_page(
        self, org_id: str, limit: int, cursor: str | None, removed_in_google: bool | None = None
    ) -> Page:
        ids = sorted(
            i
            for (org, i), c in self.contacts.items()
            if org == org_id
            and (removed_in_google is None or (c.removed_in_google is not None) == removed_in_google)
        )
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

    def set_restricted(self, org_id: str, contact_ids: Iterable[str], restricted: bool) -> int:
        changed = 0
        for contact_id in sorted(set(contact_ids)):
            stored = self.contacts.get((org_id, contact_id))
            if stored is not None and stored.restricted != restricted:
                self.contacts[(org_id, contact_id)] = replace(
                    stored, restricted=restricted, version=stored.version + 1
                )
                changed += 1
        return changed

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
    def __init__(
        self,
        region: str = "US",
        per_org: Mapping[str, str] | None = None,
        retention_months: Mapping[str, int] | None = None,
    ) -> None:
        self._region = region
        self._per_org = dict(per_org or {})
        self._retention = dict(retention_months or {})

    def default_phone_region(self, org_id: str) -> str:
        return self._per_org.get(org_id, self._region)

    def retention_periods(self, org_id: str) -> dict[str, int]:
        return {"call_logs": self._retention[org_id]} if org_id in self._retention else {}


class InMemoryCallLogStore:
    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], CallLog] = {}
        self.registered_orgs: set[str] = set()
        self.unwritable_ids: set[str] = set()  # simulates items DynamoDB keeps unprocessed
        self.get_calls: list[int] = []

    def get(self, org_id: str, call_id: str) -> CallLog | None:
        return self.calls.get((org_id, call_id))

    def get_many(self, org_id: str, call_ids: Iterable[str]) -> dict[str, CallLog]:
        ids = sorted(set(call_ids))
        self.get_calls += [len(ids[i : i + MAX_BATCH_KEYS]) for i in range(0, len(ids), MAX_BATCH_KEYS)]
        return {i: call for i in ids if (call := self.calls.get((org_id, i)))}

    def put_many(self, calls: Sequence[CallLog]) -> set[str]:
        failed = {call.id for call in calls if call.id in self.unwritable_ids}
        self.calls.update({(c.org_id, c.id): c for c in calls if c.id not in failed})
        return failed

    def delete(self, call: CallLog) -> None:
        self.calls.pop((call.org_id, call.id), None)

    def delete_many(self, org_id: str, call_ids: Sequence[str]) -> set[str]:
        for call_id in call_ids:
            self.calls.pop((org_id, call_id), None)
        return set()

    def _newest_first(self, keep: Callable[[CallLog], bool], limit: int, cursor: str | None) -> CallPageData:
        calls = sorted(
            (c for c in self.calls.values() if keep(c)), key=lambda c: (c.started_at, c.id), reverse=True
        )
        start = int(cursor) if cursor else 0
        page = calls[start : start + limit]
        return CallPageData(page, str(start + limit) if start + limit < len(calls) else None)

    def list_by_user(self, org_id: str, user_id: str, limit: int, cursor: str | None) -> CallPageData:
        return self._newest_first(lambda c: (c.org_id, c.user_id) == (org_id, user_id), limit, cursor)

    def list_by_contact(self, org_id: str, contact_id: str, limit: int, cursor: str | None) -> CallPageData:
        return self._newest_first(
            lambda c: c.org_id == org_id and c.match.contact_id == contact_id, limit, cursor
        )

    def with_number(self, org_id: str, e164: str) -> Iterator[CallLog]:
        return iter([c for c in self.calls.values() if c.org_id == org_id and c.e164 == e164])

    def set_match(self, call: CallLog, match: Match) -> None:
        if (call.org_id, call.id) in self.calls:
            self.calls[(call.org_id, call.id)] = replace(self.calls[(call.org_id, call.id)], match=match)

    def older_than(self, org_id: str, cutoff: datetime, limit: int) -> list[str]:
        old = [c for c in self.calls.values() if c.org_id == org_id and c.started_at < cutoff]
        return [c.id for c in sorted(old, key=lambda c: c.started_at)[:limit]]

    def register_org(self, org_id: str) -> None:
        self.registered_orgs.add(org_id)

    def orgs(self) -> Iterator[str]:
        return iter(sorted(self.registered_orgs))


class InMemoryDeviceStore:
    def __init__(self) -> None:
        self.devices: dict[tuple[str, str], Device] = {}

    def get_many(self, org_id: str, device_ids: Iterable[str]) -> dict[str, Device]:
        return {i: d for i in set(device_ids) if (d := self.devices.get((org_id, i)))}

    def put(self, device: Device) -> None:
        current = self.devices.get((device.org_id, device.id))
        if current is not None and current.user_id != device.user_id:
            raise Conflict("this device is registered to another user")
        self.devices[(device.org_id, device.id)] = device

    def erase_locations(self, org_id: str, user_id: str) -> int:
        held = [
            k for k, d in self.devices.items() if (d.org_id, d.user_id) == (org_id, user_id) and d.location
        ]
        for key in held:
            self.devices[key] = replace(self.devices[key], location=None)
        return len(held)


# ---------------------------------------------------------------------------------------------- SMS
class InMemorySmsStore:
    """SmsStore with the DynamoDB adapter's semantics (dedup per MessageSid, append-only ledger)."""

    def __init__(self) -> None:
        self.routes: dict[str, str] = {}
        self.configs: dict[str, OrgSmsConfig] = {}
        self.ledger: dict[tuple[str, str], list[ConsentEntry]] = defaultdict(list)
        self.seen: set[tuple[str, str]] = set()
        self.threads: dict[tuple[str, str], list[ThreadMessage]] = defaultdict(list)
        self.counters: dict[tuple[str, str], int] = defaultdict(int)

    def org_for_senders(self, senders: Sequence[str]) -> str | None:
        return next((self.routes[s] for s in senders if s in self.routes), None)

    def get_config(self, org_id: str) -> OrgSmsConfig:
        return self.configs.get(org_id, OrgSmsConfig(org_id=org_id))

    def put_config(self, old: OrgSmsConfig, new: OrgSmsConfig) -> None:
        if self.get_config(old.org_id).version != old.version:
            raise Conflict("changed")
        if any(self.routes.get(s, new.org_id) != new.org_id for s in new.senders):
            raise Conflict("sender of another org")
        for sender in set(old.senders) - set(new.senders):
            self.routes.pop(sender, None)
        self.routes.update(dict.fromkeys(new.senders, new.org_id))
        self.configs[new.org_id] = new

    def record_inbound(
        self, org_id: str, message_sid: str, entry: ConsentEntry | None, messages: Sequence[ThreadMessage]
    ) -> bool:
        if (org_id, message_sid) in self.seen:
            return False
        self.seen.add((org_id, message_sid))
        if entry is not None:
            self.append_consent(entry)
        for message in messages:
            self.add_message(message)
        return True

    def append_consent(self, entry: ConsentEntry) -> None:
        self.ledger[(entry.org_id, entry.e164)].append(entry)

    def consent_history(self, org_id: str, e164: str, limit: int) -> list[ConsentEntry]:
        return sorted(self.ledger.get((org_id, e164), []), key=lambda e: e.entry_id, reverse=True)[:limit]

    def reserve_send(self, org_id: str, day: str, cap: int) -> bool:
        if self.counters[(org_id, day)] >= cap:
            return False
        self.counters[(org_id, day)] += 1
        return True

    def release_send(self, org_id: str, day: str) -> None:
        self.counters[(org_id, day)] = max(0, self.counters[(org_id, day)] - 1)

    def add_message(self, message: ThreadMessage) -> None:
        self.threads[(message.org_id, message.contact_id)].append(message)

    def update_delivery(
        self,
        org_id: str,
        contact_id: str,
        message_id: str,
        message_sid: str,
        status: str,
        error_code: int | None,
    ) -> bool:
        thread = self.threads.get((org_id, contact_id), [])
        for index, message in enumerate(thread):
            if message.message_id == message_id and message.message_sid == message_sid:
                thread[index] = replace(message, status=status, error_code=error_code)
                return True
        return False

    def thread_page(self, org_id: str, contact_id: str, limit: int, cursor: str | None) -> ThreadPage:
        messages = sorted(
            self.threads.get((org_id, contact_id), []), key=lambda m: m.message_id, reverse=True
        )
        return ThreadPage(messages[:limit], None)


class FakeRecipients:
    def __init__(self) -> None:
        self.recipients: dict[tuple[str, str], Recipient] = {}

    def add(self, org_id: str, recipient: Recipient) -> None:
        self.recipients[(org_id, recipient.contact_id)] = recipient

    def recipient(self, org_id: str, contact_id: str) -> Recipient | None:
        return self.recipients.get((org_id, contact_id))


class FakeContactLookup:
    def __init__(self, by_phone: Mapping[tuple[str, str], frozenset[str]] | None = None) -> None:
        self.by_phone = dict(by_phone or {})
        self.calls = 0

    def lookup_by_phones(self, org_id: str, e164s: Iterable[str]) -> Mapping[str, frozenset[str]]:
        self.calls += 1
        return {e: self.by_phone[(org_id, e)] for e in e164s if (org_id, e) in self.by_phone}


class FakeSmsGateway:
    """Records sends; numbers in ``opted_out`` fail as Twilio's 21610 does."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str | None]] = []
        self.opted_out: set[str] = set()
        self.fail_with: Exception | None = None

    def send(self, to: str, body: str, sender: str, status_callback: str | None) -> SendResult:
        if self.fail_with is not None:
            raise self.fail_with
        if to in self.opted_out:
            raise RecipientOptedOut()
        self.sent.append({"to": to, "body": body, "sender": sender, "status_callback": status_callback})
        return SendResult(message_sid=f"SM{len(self.sent):032x}", status="queued")


class InMemoryCodeStore:
    """CodeStore with the DynamoDB adapter's semantics (replace on put; accept once; count tries)."""

    def __init__(self) -> None:
        self.codes: dict[tuple[str, str], dict[str, object]] = {}

    def put(self, org_id: str, slot: str, code_hash: str, expires_at: int) -> None:
        self.codes[(org_id, slot)] = {"hash": code_hash, "tries": 0, "expires_at": expires_at, "used": False}

    def use(self, org_id: str, slot: str, code_hash: str, now: int, max_tries: int) -> CodeCheck:
        code = self.codes.get((org_id, slot))
        if code is None or code["used"] or int(str(code["expires_at"])) <= now:
            return CodeCheck(CodeOutcome.MISSING)
        tries = int(str(code["tries"]))
        if tries >= max_tries:
            return CodeCheck(CodeOutcome.LOCKED)
        if code["hash"] == code_hash:
            code["used"] = True
            return CodeCheck(CodeOutcome.ACCEPTED)
        code["tries"] = tries + 1
        return CodeCheck(CodeOutcome.WRONG, max_tries - tries - 1)


class InMemoryRateCounter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def hit(self, key: str, window: str, limit: int) -> bool:
        if self.counts[(key, window)] >= limit:
            return False
        self.counts[(key, window)] += 1
        return True


# ----------------------------------------------------------------------------- accounts (issue 7)
class InMemoryMemberStore:
    def __init__(self) -> None:
        self.members: dict[tuple[str, str], Member] = {}

    def get(self, org_id: str, user_id: str) -> Member | None:
        return self.members.get((org_id, user_id))

    def list_org(self, org_id: str) -> list[Member]:
        return [m for (org, _), m in sorted(self.members.items()) if org == org_id]

    def put(self, old: Member | None, new: Member) -> None:
        stored = self.members.get((new.org_id, new.user_id))
        if old is None or old.version == 0:
            if stored is not None:
                raise Conflict("exists")
        elif stored is None or stored.version != old.version:
            raise Conflict("changed")
        self.members[(new.org_id, new.user_id)] = new

    def delete(self, member: Member) -> None:
        stored = self.members.get((member.org_id, member.user_id))
        if stored is None or stored.version != member.version:
            raise Conflict("changed")
        del self.members[(member.org_id, member.user_id)]

    def due_for_purge(self, now: datetime) -> Iterator[tuple[str, str]]:
        for (org_id, user_id), member in sorted(self.members.items()):
            if member.purge_after is not None and member.purge_after <= now:
                yield org_id, user_id


class FakeDirectory:
    """Cognito users and groups in memory: one pool for every org, one user per email; usernames
    are opaque ids as Cognito's are. ``refuse`` holds addresses the directory refuses (422), and
    ``disabled`` the usernames of disabled users."""

    def __init__(self) -> None:
        self.users: dict[str, DirectoryUser] = {}  # email -> user
        self.groups: dict[str, set[str]] = defaultdict(set)
        self.disabled: set[str] = set()
        self.refuse: set[str] = set()
        self.calls: list[str] = []
        self.created = 0

    def create_user(self, org_id: str, email: str, full_name: str) -> DirectoryUser | None:
        self.calls.append("create_user")
        if email in self.refuse:
            raise InvalidInput("the sign-in directory does not accept this email address", field="email")
        if email in self.users:
            return None
        self.created += 1
        username = f"u-{self.created}"
        sub = str(uuid.UUID(int=self.created))  # shaped as Cognito's sub
        self.users[email] = DirectoryUser(sub, username, org_id)
        return self.users[email]

    def find_user(self, email: str) -> DirectoryUser | None:
        self.calls.append("find_user")
        user = self.users.get(email)
        return None if user is None else replace(user, enabled=user.username not in self.disabled)

    def reinstate(self, username: str) -> None:
        self.calls.append("reinstate")
        self.disabled.discard(username)

    def set_groups(self, username: str, add: frozenset[Role], remove: frozenset[Role]) -> None:
        self.calls.append("set_groups")
        self.groups[username] |= {r.value for r in add}
        self.groups[username] -= {r.value for r in remove}

    def disable_user(self, username: str) -> None:
        self.calls.append("disable_user")
        if any(user.username == username for user in self.users.values()):
            self.disabled.add(username)

    def delete_user(self, username: str) -> bool:
        self.calls.append("delete_user")
        gone = [email for email, user in self.users.items() if user.username == username]
        for email in gone:
            del self.users[email]
        self.groups.pop(username, None)
        self.disabled.discard(username)
        return bool(gone)


class InMemoryConsentStore:
    """The consent-state items of an accounts table. Like the adapter, a user with no age record has
    not answered the age question (the gate answers 428); ``ages_answered`` makes every such user
    count as having attested "16 or over", as the callers of the shared test helpers have, for the
    tests of everything else the gate checks."""

    def __init__(self, *, ages_answered: bool = False) -> None:
        self.records: list[ConsentRecord] = []
        self.ages: dict[tuple[str, str], AgeRecord] = {}
        self.ages_answered = ages_answered
        self.removed: set[tuple[str, str]] = set()  # (org, user) removed by an admin
        self.reads = 0

    def append(self, record: ConsentRecord) -> None:
        if any(r.record_id == record.record_id and r.user_id == record.user_id for r in self.records):
            raise Conflict("exists")
        self.records.append(record)

    def current(self, org_id: str, user_id: str) -> dict[Purpose, ConsentRecord]:
        return {r.purpose: r for r in self.history(org_id, user_id)}

    def history(self, org_id: str, user_id: str) -> list[ConsentRecord]:
        return [r for r in self.records if (r.org_id, r.user_id) == (org_id, user_id)]

    def geolocation_granted(self, org_id: str, user_id: str) -> bool:
        current = self.current(org_id, user_id).get(Purpose.GEOLOCATION)
        return current is not None and current.granted

    def gate_view(self, org_id: str, user_id: str) -> GateView:
        self.reads += 1
        terms = {r.purpose: r for r in self.history(org_id, user_id)}.get(Purpose.TERMS)
        age = self.ages.get((org_id, user_id))
        return GateView(
            accepted_terms_seq=(terms.seq or 0) if terms is not None and terms.granted else 0,
            inactive=age is not None and age.status is AgeStatus.PENDING_GUARDIAN,
            age_answered=age is not None or self.ages_answered,
            removed=(org_id, user_id) in self.removed,
        )

    def get_age(self, org_id: str, user_id: str) -> AgeRecord | None:
        return self.ages.get((org_id, user_id))

    def put_age(self, org_id: str, user_id: str, record: AgeRecord) -> None:
        self.ages[(org_id, user_id)] = record


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, text: str) -> None:
        self.sent.append((to, subject, text))


class InMemoryPolicyStore:
    def __init__(self) -> None:
        self.currents: dict[str, CurrentPolicy] = {}
        self.versions: list[PolicyVersion] = []
        self.reads = 0

    def current(self, document: str) -> CurrentPolicy | None:
        self.reads += 1
        return self.currents.get(document)

    def publish(self, previous: CurrentPolicy | None, version: PolicyVersion) -> None:
        if self.currents.get(version.document) != previous:
            raise Conflict("published meanwhile")
        significant = version if version.significant else (previous.significant if previous else None)
        self.versions.append(version)
        self.currents[version.document] = CurrentPolicy(version, significant)


class InMemorySuppression:
    """The erasure suppression list; like the DynamoDB adapter it keeps (kind, value) pairs per org
    (the adapter keeps only their HMAC)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], bool] = {}  # (org, kind, value) -> sms_opt_out

    def suppress(
        self, org_id: str, emails: frozenset[str], phones: frozenset[str], sms_opted_out: frozenset[str]
    ) -> int:
        phones = phones | sms_opted_out
        for kind, values in (("email", emails), ("phone", phones)):
            for value in values:
                key = (org_id, kind, value)
                self.entries[key] = self.entries.get(key, False) or value in sms_opted_out
        return len(emails) + len(phones)

    def suppressed(self, org_id: str, emails: frozenset[str], phones: frozenset[str]) -> frozenset[str]:
        return frozenset(e for e in emails if (org_id, "email", e) in self.entries) | frozenset(
            p for p in phones if (org_id, "phone", p) in self.entries
        )


class InMemoryIdempotencyStore(BasePersistenceLayer):
    """Powertools' idempotency persistence in memory, with the DynamoDB layer's conditional put: a
    record is written unless one exists that has not expired (and is not an in-progress record whose
    Lambda's deadline passed). ``fail`` names the operations that raise (a throttled table...)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}
        self.fail: dict[str, Exception] = {}

    def _check(self, operation: str) -> None:
        if operation in self.fail:
            raise self.fail[operation]

    def _get_record(self, idempotency_key: str) -> DataRecord:
        self._check("get")
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        self._check("put")
        old = self.records.get(data_record.idempotency_key)
        now_ms = time.time() * 1000
        if old is not None and not old.is_expired:
            deadline = old.in_progress_expiry_timestamp
            if not (
                old.status == STATUS_CONSTANTS["INPROGRESS"] and deadline is not None and deadline < now_ms
            ):
                raise IdempotencyItemAlreadyExistsError
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self._check("update")
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self._check("delete")
        self.records.pop(data_record.idempotency_key, None)


class InMemoryImportJobStore:
    """Import jobs; ``save`` is conditional on the stored lease token, as the DynamoDB adapter's."""

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], ImportJob] = {}
        self.currents: dict[tuple[str, str, ImportSource], str] = {}

    def create(self, job: ImportJob) -> None:
        assert (job.org_id, job.id) not in self.jobs
        self.jobs[(job.org_id, job.id)] = job

    def get(self, org_id: str, import_id: str) -> ImportJob | None:
        return self.jobs.get((org_id, import_id))

    def save(self, job: ImportJob, held_token: str | None) -> bool:
        stored = self.jobs.get((job.org_id, job.id))
        if stored is None or stored.lease_token != held_token:
            return False
        self.jobs[(job.org_id, job.id)] = job
        return True

    def current(self, org_id: str, user_id: str, source: ImportSource) -> str | None:
        return self.currents.get((org_id, user_id, source))

    def create_current(self, job: ImportJob, replaces: str | None) -> bool:
        key = (job.org_id, job.user_id, job.source)
        if self.currents.get(key) != replaces or (job.org_id, job.id) in self.jobs:
            return False
        self.jobs[(job.org_id, job.id)] = job
        self.currents[key] = job.id
        return True


class InMemoryImportFiles:
    """Objects by key; ``read`` streams in small chunks so line splitting across chunks is exercised."""

    def __init__(self, chunk: int = 7) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads: list[tuple[str, int]] = []
        self._chunk = chunk

    def presign_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta
    ) -> tuple[str, dict[str, str]]:
        return "https://uploads.example", {"key": key, "Content-Type": content_type, "max": str(max_bytes)}

    def size(self, key: str) -> int | None:
        data = self.objects.get(key)
        return None if data is None else len(data)

    def read(self, key: str, offset: int) -> Iterator[bytes]:
        self.reads.append((key, offset))
        data = self.objects[key][offset:]
        for start in range(0, len(data), self._chunk):
            yield data[start : start + self._chunk]

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = data

    def concatenate(self, prefix: str, key: str, head: bytes) -> None:
        parts = sorted(k for k in self.objects if k.startswith(prefix))
        self.objects[key] = head + b"".join(self.objects.pop(part) for part in parts)

    def presign_get(self, key: str, expires_in: timedelta) -> str:
        return f"https://downloads.example/{key}"

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class FakeImportQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.sources: list[ImportSource] = []

    def send(self, org_id: str, import_id: str, token: str, source: ImportSource = ImportSource.CSV) -> None:
        self.sent.append((org_id, import_id, token))
        self.sources.append(source)
