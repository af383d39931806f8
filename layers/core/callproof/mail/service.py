"""Gmail sync service: connect, push, sync of contact mail only, reading, removal. Pure: every outside
thing comes in through ``callproof.mail.ports``.

Invariants:
- only messages whose From / To / Cc / Bcc / Reply-To involve a (not restricted) contact are fetched in
  full and stored; every other message is seen as address headers only and forgotten;
- a sync starts from the **stored** cursor (never the push's history id); messages are stored before
  the cursor moves, and it only moves forward (a conditional write), so replays, out-of-order pushes
  and a crash between storing and advancing re-sync without duplicates (the index write is conditional
  on the Gmail message id).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from callproof.errors import Conflict, DomainError, InvalidInput, NotFound
from callproof.mail.model import (
    PURPOSE,
    EmailPage,
    EmailRecord,
    GooglePerson,
    Integration,
    IntegrationStatus,
    PeopleImport,
    SyncResult,
    email_id,
    object_key,
    valid_email_id,
)
from callproof.mail.parse import parse
from callproof.mail.ports import (
    ContactMatcher,
    GmailApi,
    HistoryExpired,
    IntegrationStore,
    MailBlobs,
    MailIndex,
    PeopleApi,
    SyncQueue,
    SyncTokenExpired,
)
from callproof.oauth.model import (
    CONTACTS_READONLY,
    GMAIL_READONLY,
    GrantRevoked,
    OAuthState,
    OAuthToken,
    new_pkce,
)
from callproof.oauth.ports import OAuthClient, StateStore, TokenSealer
from callproof.tenancy import Caller, Role

WATCH_LABELS = ("INBOX", "SENT")
LOOKUP_CHUNK = 100
# Google wants users.watch renewed at least every 7 days; renewing when under 6 days are left makes
# the hourly maintenance renew each watch about once a day.
RENEW_BEFORE_MS = 6 * 86_400_000
FALLBACK_AFTER_SECONDS = 3600  # no push for this long: poll history (Google drops notifications >1/s)


@dataclass(frozen=True, slots=True)
class GmailConfig:
    topic: str
    redirect_uri: str | None
    full_sync_days: int = 30


@dataclass(slots=True)
class MaintenanceResult:
    mailboxes: int = 0
    renewed: int = 0
    renewal_failures: int = 0
    lapsed: int = 0  # watches found expired (pushes had stopped)
    polled: int = 0  # fallback syncs queued for mailboxes without a recent push
    disconnected: int = 0


@dataclass(frozen=True, slots=True)
class RemovalResult:
    stopped: bool
    revoked: bool
    purged_emails: int
    purged_objects: int


def _now_iso(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds")


class GmailService:
    def __init__(
        self,
        integrations: IntegrationStore,
        index: MailIndex,
        blobs: MailBlobs,
        contacts: ContactMatcher,
        oauth: OAuthClient,
        states: StateStore,
        vault: TokenSealer,
        gmail: Callable[[str], GmailApi],
        queue: SyncQueue,
        config: GmailConfig,
        clock: Callable[[], float] = time.time,
        *,
        people: Callable[[str], PeopleApi] | None = None,
        import_csv: Callable[[Caller, str], dict[str, int]] | None = None,
    ) -> None:
        self._integrations = integrations
        self._index = index
        self._blobs = blobs
        self._contacts = contacts
        self._oauth = oauth
        self._states = states
        self._vault = vault
        self._gmail = gmail
        self._queue = queue
        self._config = config
        self._clock = clock
        self._people = people
        self._import_csv = import_csv

    # --- connect --------------------------------------------------------------------------------

    def authorize(self, caller: Caller, contacts: bool = False) -> str:
        """Google's consent URL; ``contacts`` asks, incrementally, for the contacts read-only scope too
        (Google's ``include_granted_scopes`` keeps the Gmail grant)."""
        caller.require(Role.REP, Role.ADMIN)
        if not self._config.redirect_uri:
            raise Conflict("Google sign-in is not configured (no OAuth redirect URI)")
        verifier, challenge = new_pkce()
        state = self._states.issue(OAuthState(caller.org_id, caller.user_id, verifier, PURPOSE))
        scopes = [GMAIL_READONLY, CONTACTS_READONLY] if contacts else [GMAIL_READONLY]
        return self._oauth.authorization_url(scopes, state, challenge, self._config.redirect_uri)

    def complete(self, state: str, code: str) -> Integration:
        """The OAuth callback: the state (single use) says whose; exchange, store sealed, watch."""
        if not self._config.redirect_uri:
            raise Conflict("Google sign-in is not configured (no OAuth redirect URI)")
        issued = self._states.consume(state, PURPOSE)
        token = self._oauth.exchange_code(code, issued.code_verifier, self._config.redirect_uri)
        if GMAIL_READONLY not in token.scopes:
            self._oauth.revoke(token)
            raise InvalidInput("the Gmail read-only permission was not granted", field="scope")
        api = self._gmail(token.access_token)
        mailbox, _ = api.profile()
        history_id, expiration = api.watch(self._config.topic, WATCH_LABELS)
        previous = self._integrations.get(issued.org_id, issued.user_id)
        if previous is not None and previous.mailbox == mailbox.lower():
            history_id = min(history_id, previous.history_id)  # re-consent (more scopes) keeps the cursor
        integration = Integration(
            org_id=issued.org_id,
            user_id=issued.user_id,
            mailbox=mailbox.lower(),
            status=IntegrationStatus.ACTIVE,
            history_id=history_id,
            watch_expiration=expiration,
            connected_at=_now_iso(self._clock),
        )
        try:
            self._integrations.connect(
                integration, self._vault.seal(token, issued.org_id, issued.user_id, PURPOSE)
            )
        except Conflict:
            api.stop()
            raise
        return integration

    def cancel(self, state: str) -> None:
        """The user declined at Google: the state is spent all the same."""
        with suppress(DomainError):
            self._states.consume(state, PURPOSE)

    def status(self, caller: Caller) -> Integration:
        integration = self._integrations.get(caller.org_id, caller.user_id)
        if integration is None:
            raise NotFound("no Google integration")
        if (
            integration.status is IntegrationStatus.ACTIVE
            and integration.watch_expiration < self._clock() * 1000
        ):
            return _replace_status(integration, IntegrationStatus.LAPSED, "watch expired")
        return integration

    # --- push -----------------------------------------------------------------------------------

    def push(self, mailbox: str, history_id: int) -> bool:
        """A verified Pub/Sub notification; True when a sync was queued. Unknown mailboxes, stale or
        duplicate pushes and disconnected integrations are acknowledged and change nothing."""
        integration = self._integrations.find_by_mailbox(mailbox.lower())
        if integration is None or integration.status is IntegrationStatus.DISCONNECTED:
            return False
        if history_id <= integration.history_id:
            return False
        self._integrations.record_push(integration.org_id, integration.user_id, _now_iso(self._clock))
        self._queue.enqueue(integration.org_id, integration.user_id, history_id)
        return True

    # --- schedules ------------------------------------------------------------------------------

    def maintain(self) -> MaintenanceResult:
        """Hourly: renew watches about daily, count lapsed ones, queue a fallback sync for mailboxes
        that had no push (nor sync) for over an hour."""
        result = MaintenanceResult()
        now = self._clock()
        for integration in self._integrations.all():
            result.mailboxes += 1
            if integration.status is IntegrationStatus.DISCONNECTED:
                continue
            if integration.watch_expiration < now * 1000:
                result.lapsed += 1
            if integration.watch_expiration - now * 1000 < RENEW_BEFORE_MS:
                try:
                    token = self._access_token(integration)
                    _, expiration = self._gmail(token.access_token).watch(self._config.topic, WATCH_LABELS)
                    self._integrations.set_watch(integration.org_id, integration.user_id, expiration)
                    result.renewed += 1
                except GrantRevoked:
                    self._integrations.set_status(
                        integration.org_id,
                        integration.user_id,
                        IntegrationStatus.DISCONNECTED,
                        "Google access was revoked; connect again",
                    )
                    result.disconnected += 1
                    continue
                except Exception:
                    result.renewal_failures += 1
            seen = [integration.connected_at, integration.last_push_at, integration.last_sync_at]
            latest = max(datetime.fromisoformat(value).timestamp() for value in seen if value)
            if now - latest > FALLBACK_AFTER_SECONDS:
                self._queue.enqueue(integration.org_id, integration.user_id, integration.history_id)
                result.polled += 1
        return result

    # --- sync -----------------------------------------------------------------------------------

    def sync(self, org_id: str, user_id: str) -> SyncResult:
        result = SyncResult()
        integration = self._integrations.get(org_id, user_id)
        if integration is None:
            result.skipped = "unknown"
            return result
        if integration.status is IntegrationStatus.DISCONNECTED:
            result.skipped = "disconnected"
            return result
        try:
            token = self._access_token(integration)
        except GrantRevoked:
            self._integrations.set_status(
                org_id, user_id, IntegrationStatus.DISCONNECTED, "Google access was revoked; connect again"
            )
            result.skipped = "disconnected"
            return result
        api = self._gmail(token.access_token)
        try:
            ids, latest = api.history(integration.history_id)
        except HistoryExpired:
            result.full_sync = True
            _, latest = api.profile()  # read before listing: nothing newer can be missed
            ids = api.list_message_ids(self._config.full_sync_days)
        result.listed = len(ids)
        self._store_contact_mail(integration, api, ids, result)
        if latest > integration.history_id:
            result.cursor_moved = self._integrations.advance(org_id, user_id, latest, _now_iso(self._clock))
        return result

    def _access_token(self, integration: Integration) -> OAuthToken:
        sealed = self._integrations.token(integration.org_id, integration.user_id)
        if sealed is None:
            raise GrantRevoked("no token")
        token = self._vault.open(sealed, integration.org_id, integration.user_id, PURPOSE)
        if token.expired(self._clock()):
            token = self._oauth.refresh(token)
            self._integrations.save_token(
                integration.org_id,
                integration.user_id,
                self._vault.seal(token, integration.org_id, integration.user_id, PURPOSE),
            )
        return token

    def _store_contact_mail(
        self, integration: Integration, api: GmailApi, ids: list[str], result: SyncResult
    ) -> None:
        org, user = integration.org_id, integration.user_id
        unique = list(dict.fromkeys(ids))
        known = self._index.existing(org, [email_id(user, gid) for gid in unique])
        todo = [gid for gid in unique if email_id(user, gid) not in known]
        if not todo:
            return
        metas = api.metadata(todo)
        own = integration.mailbox
        addresses = sorted({a for meta in metas for a in meta.addresses if a != own})
        contacts_by_address: dict[str, frozenset[str]] = {}
        for start in range(0, len(addresses), LOOKUP_CHUNK):
            contacts_by_address.update(self._contacts.match(org, addresses[start : start + LOOKUP_CHUNK]))
        matched = {
            meta.gmail_id: (meta, sorted({c for a in meta.addresses for c in contacts_by_address.get(a, ())}))
            for meta in metas
        }
        matched = {gid: value for gid, value in matched.items() if value[1]}
        result.matched = len(matched)
        if not matched:
            return
        raws = api.raw(list(matched))
        for gid, raw in raws.items():
            meta, contact_ids = matched[gid]
            mail = parse(raw)
            key = object_key(org, user, gid)
            document: dict[str, Any] = {
                "gmail_id": gid,
                "thread_id": meta.thread_id,
                "internal_date": meta.internal_date,
                "headers": mail.headers,
                "subject": mail.subject,
                "text": mail.text,
                "html": mail.html,
                "attachments": [
                    {"filename": a.filename, "size": a.size, "content_type": a.content_type}
                    for a in mail.attachments
                ],
            }
            self._blobs.put(key, json.dumps(document).encode())
            record = EmailRecord(
                org_id=org,
                email_id=email_id(user, gid),
                user_id=user,
                gmail_id=gid,
                thread_id=meta.thread_id,
                internal_date=meta.internal_date,
                subject=mail.subject[:998],
                sender=mail.sender[:998],
                contact_ids=tuple(contact_ids),
                object_key=key,
                attachments=mail.attachments,
            )
            if self._index.put(record):
                result.stored += 1

    # --- Google Contacts import -----------------------------------------------------------------

    def import_contacts(self, caller: Caller) -> PeopleImport:
        """The caller's Google contacts into the org's contacts, with the CSV import's dedupe rules
        (create, or add new emails / phones to the one matching contact; never overwrite). Later runs
        read only what changed (sync token); an expired token means a full sync."""
        caller.require(Role.REP, Role.ADMIN)
        if self._people is None or self._import_csv is None:
            raise Conflict("Google Contacts import is not configured")
        integration = self._integrations.get(caller.org_id, caller.user_id)
        if integration is None or integration.status is IntegrationStatus.DISCONNECTED:
            raise Conflict("connect your Google account first")
        try:
            token = self._access_token(integration)
        except GrantRevoked:
            self._integrations.set_status(
                caller.org_id, caller.user_id, IntegrationStatus.DISCONNECTED, "Google access was revoked"
            )
            raise Conflict("Google access was revoked; connect again") from None
        if CONTACTS_READONLY not in token.scopes:
            raise ScopeMissing(
                "the Google Contacts permission is missing: POST /v1/integrations/google/authorize?contacts=true"
            )
        api = self._people(token.access_token)
        stored = self._integrations.people_sync_token(caller.org_id, caller.user_id)
        full_sync = stored is None
        try:
            people, next_token = api.connections(stored)
        except SyncTokenExpired:
            full_sync = True
            people, next_token = api.connections(None)
        counts = self._import_csv(caller, people_csv([p for p in people if not p.deleted]))
        self._integrations.save_people_sync_token(caller.org_id, caller.user_id, next_token)
        return PeopleImport(counts=counts, full_sync=full_sync, people=len(people))

    # --- reading --------------------------------------------------------------------------------

    def contact_emails(self, caller: Caller, contact_id: str, limit: int, cursor: str | None) -> EmailPage:
        if not self._contacts.exists(caller.org_id, contact_id):
            raise NotFound("contact not found")
        return self._index.list_for_contact(caller.org_id, contact_id, limit, cursor)

    def email(self, caller: Caller, identifier: str) -> tuple[EmailRecord, dict[str, Any]]:
        if not valid_email_id(identifier):
            raise NotFound("email not found")
        record = self._index.get(caller.org_id, identifier)
        body = self._blobs.get(record.object_key) if record else None
        if record is None or body is None:
            raise NotFound("email not found")
        return record, json.loads(body)

    # --- removal --------------------------------------------------------------------------------

    def remove(self, caller: Caller, purge: bool) -> RemovalResult:
        integration = self._integrations.get(caller.org_id, caller.user_id)
        if integration is None:
            raise NotFound("no Google integration")
        stopped = revoked = False
        sealed = self._integrations.token(caller.org_id, caller.user_id)
        if sealed is not None:
            token = self._vault.open(sealed, caller.org_id, caller.user_id, PURPOSE)
            try:
                if token.expired(self._clock()):
                    token = self._oauth.refresh(token)
                self._gmail(token.access_token).stop()
                stopped = True
            except GrantRevoked:
                pass  # already revoked at Google: there is no watch left to stop
            except Exception:
                stopped = False
            revoked = self._oauth.revoke(token)
        self._integrations.delete(integration)
        purged_emails = purged_objects = 0
        if purge:
            batch: list[EmailRecord] = []
            for record in self._index.for_mailbox(caller.org_id, caller.user_id):
                batch.append(record)
                if len(batch) == 100:
                    purged_objects += self._purge(batch)
                    purged_emails += len(batch)
                    batch = []
            if batch:
                purged_objects += self._purge(batch)
                purged_emails += len(batch)
        return RemovalResult(stopped, revoked, purged_emails, purged_objects)

    def _purge(self, records: list[EmailRecord]) -> int:
        removed = self._blobs.delete_all_versions([record.object_key for record in records])
        self._index.delete(records)
        return removed


class ScopeMissing(Conflict):
    code = "google_scope_missing"


def people_csv(people: list[GooglePerson]) -> str:
    """Google people as the CSV import reads them (``;`` separates several emails / phones)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "company", "emails", "phones"])
    for person in people:
        name = person.name or person.company or (person.emails[0] if person.emails else "")
        writer.writerow(
            [
                name,
                person.company or "",
                ";".join(e.replace(";", "") for e in person.emails),
                ";".join(p.replace(";", "") for p in person.phones),
            ]
        )
    return out.getvalue()


def _replace_status(integration: Integration, status: IntegrationStatus, reason: str) -> Integration:
    from dataclasses import replace

    return replace(integration, status=status, status_reason=reason)
