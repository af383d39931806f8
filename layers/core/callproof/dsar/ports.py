"""Ports of data-subject requests: what the services and the workflow steps need from outside.

A store that holds personal data joins every workflow by implementing ``PersonalDataStore`` and being
registered once in ``callproof.wiring_personal_data``; a store that is not deployed is simply not
registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from callproof.accounts.model import Member
    from callproof.calendars.model import Provider
    from callproof.contacts.model import Contact, ContactPatch
    from callproof.dsar.export import ByteSink
    from callproof.dsar.model import Cell, DsarRequest, Erased, RequestType, Status, StoreProgress, Subject
    from callproof.tenancy import Caller


class PersonalDataStore(Protocol):
    """One store's collector, eraser and residue check for a subject. Every method pages through the
    store itself (queries and batch calls of bounded size), never loads a whole table and never Scans.
    """

    @property
    def name(self) -> str:
        """Stable store name: the CSV file name in the export and the key of per-store progress."""
        ...

    @property
    def columns(self) -> tuple[str, ...]:
        """The CSV header, in order (the manifest's schema of this store's file)."""
        ...

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        """Every record of the subject in this store, one CSV row each (keys from ``columns``)."""
        ...

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        """Extra export files as (path inside the zip, content), e.g. mail as ``mail/<id>.eml``.
        Most stores yield nothing. Generated lazily, one at a time."""
        ...

    def erase(self, subject: Subject) -> Erased:
        """Delete every item (and S3 object version) of the subject; idempotent, so a second run
        after a crash deletes only what is left and reports it."""
        ...

    def residue(self, subject: Subject) -> int:
        """How many items of the subject this store still holds through any of its access paths
        (items kept under a legal duty are not residue: they are keyed by hash only)."""
        ...


@runtime_checkable
class KeepsOptOuts(Protocol):
    """A store that knows which of the subject's numbers opted out of SMS (read before erasing)."""

    def opted_out(self, subject: Subject) -> frozenset[str]: ...


@runtime_checkable
class ErasesInRounds(Protocol):
    """A store whose erasure may outlast one task invocation: ``erase_round`` deletes batch after
    batch while ``more_time()`` is true, then stops with ``Erased(more=True)`` (counts of this round
    only). Deletion is its own progress: the next round finds what is left, and the last round (with
    ``more`` false) reports what was kept."""

    def erase_round(self, subject: Subject, more_time: Callable[[], bool]) -> Erased: ...


@runtime_checkable
class CollectsInRounds(Protocol):
    """A store whose export may outlast one task invocation: ``rows_after`` lists the subject's rows
    from just after ``cursor`` (None: from the start), each with the cursor that resumes after it.
    A cursor is the store's own position (e.g. the DynamoDB key of the row's item, never its data),
    stable while the subject's records are not written to, so the export step stages the rows in
    numbered parts and the next invocation starts after the last row of the last part. Each row is
    listed once however many of the subject's access paths lead to it, without keeping what was
    listed: memory stays flat whatever the number of rows."""

    def rows_after(
        self, subject: Subject, cursor: str | None
    ) -> Iterator[tuple[Mapping[str, Cell], str]]: ...


class GrantRevoker(Protocol):
    """The integrations' own disconnect paths, for erasing an org user's connections: stop what runs at
    the provider, revoke the grant there (best effort) and delete the stored token. Either method may
    raise (the provider is down, the token cannot be opened): the store then deletes the connection
    itself."""

    def revoke_gmail(self, caller: Caller) -> bool:
        """Disconnect the user's Gmail (the synced mail stays); True if Google revoked the grant."""
        ...

    def revoke_calendar(self, caller: Caller, provider: Provider) -> bool:
        """Disconnect one calendar connection; True if the provider revoked the grant."""
        ...


class Suppression(Protocol):
    """The erasure suppression list: keyed hashes (HMAC) of erased phones and emails, per org, with
    the SMS opt-out kept under the phone's hash. Contact imports and SMS sends consult it."""

    def suppress(
        self, org_id: str, emails: frozenset[str], phones: frozenset[str], sms_opted_out: frozenset[str]
    ) -> int:
        """Record the hashes (idempotent); ``sms_opted_out`` are phones whose opt-out is kept.
        Returns how many entries were written or already present."""
        ...

    def suppressed(self, org_id: str, emails: frozenset[str], phones: frozenset[str]) -> frozenset[str]:
        """Which of these emails / phones are suppressed (batched reads)."""
        ...


class MemberAccounts(Protocol):
    """The org's member accounts (``callproof.accounts``): a member's own request reads their account,
    and an erased member's business records go to one of the org's admins."""

    def get(self, org_id: str, user_id: str) -> Member | None: ...

    def list_org(self, org_id: str) -> list[Member]: ...


class BusinessRecords(Protocol):
    """An org's business records an org user holds (the contacts they own, the calls they logged):
    when the user's account is erased they stay with the org, reassigned to an admin."""

    @property
    def name(self) -> str:
        """What the records are (``contacts``, ``call_logs``): the key of the audited counts."""
        ...

    def reassign(self, org_id: str, from_user: str, to_user: str) -> int:
        """Give every record of ``from_user`` to ``to_user``; how many moved (idempotent: a second run
        finds none left). Pages through the records, never Scans."""
        ...


class Restrictions(Protocol):
    def set_restricted(self, org_id: str, contact_ids: frozenset[str], restricted: bool) -> int: ...


class Corrections(Protocol):
    def correct(self, org_id: str, contact_id: str, patch: ContactPatch) -> Contact:
        """Apply the patch to the org's contact (``NotFound`` for another org's)."""
        ...


# ------------------------------------------------------------------- requests, workflows, links
class RequestStore(Protocol):
    """Requests of one org at a time (plus the cross-org index of open requests for the schedule)."""

    def create(self, request: DsarRequest, confirmation_hash: str | None, expires_at: int | None) -> None: ...

    def get(self, org_id: str, request_id: str) -> DsarRequest | None: ...

    def save(self, old: DsarRequest, new: DsarRequest) -> None:
        """Store ``new``'s status, deadline, subject, steps, timeline and export if the stored version
        is still ``old.version`` (else ``Conflict``); per-store progress is left as it is."""
        ...

    def set_store(self, org_id: str, request_id: str, store: str, progress: StoreProgress) -> None:
        """Record one store's progress (parallel workflow branches each write their own store)."""
        ...

    def confirm(self, org_id: str, request_id: str, confirmation_hash: str, now: int) -> DsarRequest | None:
        """Consume the confirmation once: the request if the hash matched, it was pending and not
        expired (the hash is removed), else None."""
        ...

    def page(
        self, org_id: str, status: Status | None, due_before: date | None, limit: int, cursor: str | None
    ) -> tuple[list[DsarRequest], str | None]:
        """By due date, earliest first."""
        ...

    def open_requests(self) -> Iterator[tuple[str, str]]:
        """(org, request id) of every open request across orgs, by due date (sparse index)."""
        ...

    def claim(self, org_id: str, request_id: str, key: str) -> bool:
        """Record that the once-only effect ``key`` (an email) happens now; False if it already did."""
        ...

    def release(self, org_id: str, request_id: str, key: str) -> None:
        """Undo a claim whose effect failed, so a retry performs it."""
        ...


class PhoneProof(Protocol):
    """One-time codes texted to a phone from the org's sender (``callproof.sms.verification``)."""

    def send_code(self, org_id: str, scope: str, e164: str, client: str, purpose: str) -> bool:
        """Text a new code; False when the org cannot text that number. ``TooManyRequests`` over the
        per-client and per-number limits."""
        ...

    def check_code(self, org_id: str, scope: str, code: str) -> None:
        """Accept the code once; else ``InvalidInput`` (wrong), ``TooManyRequests`` (locked) or
        ``Gone`` (expired or used)."""
        ...


class OrgDirectory(Protocol):
    """How people outside find an org without its internal id: the slug or the company name the org
    publishes in its settings (``store/org_identity_dynamo.py``)."""

    def org_for_slug(self, slug: str) -> str | None: ...

    def org_for_name(self, name: str) -> str | None: ...


class SenderOrgs(Protocol):
    """Which orgs hold an email address as a member or on a contact (``store/email_holders.py``)."""

    def orgs_holding(self, email: str, limit: int) -> frozenset[str]:
        """At most ``limit + 1`` org ids, so that a caller knows when there are more than ``limit``."""
        ...


class InboundMessages(Protocol):
    """Mail SES received for the privacy address and stored as it arrived (``store/inbound_mail_s3.py``)."""

    def read(self, message_id: str) -> bytes | None:
        """The raw RFC 5322 message; None when absent, or larger than a request is ever read."""
        ...


class Workflows(Protocol):
    """Step Functions executions of the export and erasure state machines."""

    def start(self, machine: str, name: str, payload: Mapping[str, object]) -> None:
        """Start one execution named ``name`` (an existing one of that name is not an error)."""
        ...


class Mailer(Protocol):
    """Transactional email (SES): confirmation, download and extension notices."""

    def send(self, to: str, subject: str, text: str) -> None: ...


class Machines(Protocol):
    """Which state machine runs which request type."""

    def machine_for(self, kind: RequestType) -> str: ...


class ExportStorage(Protocol):
    """The exports bucket."""

    def writer(self, key: str) -> AbstractContextManager[ByteSink]:
        """A streamed upload: the object exists once the block exits without an error."""
        ...

    def chunks(self, key: str) -> Iterator[bytes]: ...

    def delete(self, keys: Sequence[str]) -> None: ...


class DownloadLinks(Protocol):
    def presign(self, key: str, seconds: int) -> str | None:
        """A short-lived GET URL of the export, None once the archive expired."""
        ...
