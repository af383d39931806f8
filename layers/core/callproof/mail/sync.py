"""Gmail sync: what keeps connected mailboxes up to date without the user. A Pub/Sub push queues a
sync (``functions/gmail_push``), the hourly maintenance renews watches and polls silent mailboxes
(``functions/gmail_watch``), and the queue worker syncs (``functions/gmail_sync``). Pure: every
outside thing comes in through ``callproof.mail.ports``.

Invariants:
- only messages whose From / To / Cc / Bcc / Reply-To involve a (not restricted) contact are fetched in
  full and stored; every other message is seen as address headers only and forgotten;
- only messages carrying one of the mailbox's chosen labels are read (the history names each added
  message's labels; other labels' history is ignored);
- a message is stored once per org, keyed by its Message-ID (``message_key``): the first mailbox to
  sync it stores the body, every other mailbox (or the same one, seeing it again under a new Gmail id)
  only records its copy on the stored message;
- a sync starts from the **stored** cursor (never the push's history id); messages are stored before
  the cursor moves, and it only moves forward (a conditional write), so replays, out-of-order pushes
  and a crash between storing and advancing re-sync without duplicates (the index writes are
  conditional on the message and on the mailbox's copy).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from callproof.mail.model import (
    EmailRecord,
    GmailConfig,
    Integration,
    IntegrationStatus,
    MailboxCopy,
    ParsedMail,
    SyncResult,
    iso_time,
    message_key,
    message_object_key,
    thread_key,
)
from callproof.mail.parse import parse
from callproof.mail.ports import (
    ContactMatcher,
    GmailApi,
    HistoryExpired,
    IntegrationStore,
    MailBlobs,
    MailIndex,
    SyncQueue,
)
from callproof.mail.tokens import MailboxTokens
from callproof.oauth.model import GrantRevoked

if TYPE_CHECKING:
    from callproof.oauth.ports import OAuthClient, TokenSealer

LOOKUP_CHUNK = 100
# Google wants users.watch renewed at least every 7 days; renewing when under 6 days are left makes
# the hourly maintenance renew each watch about once a day.
RENEW_BEFORE_MS = 6 * 86_400_000
FALLBACK_AFTER_SECONDS = 3600  # no push for this long: poll history (Google drops notifications >1/s)


@dataclass(slots=True)
class MaintenanceResult:
    mailboxes: int = 0
    renewed: int = 0
    renewal_failures: int = 0
    lapsed: int = 0  # watches found expired (pushes had stopped)
    polled: int = 0  # fallback syncs queued for mailboxes without a recent push
    disconnected: int = 0


class MailSync:
    def __init__(
        self,
        integrations: IntegrationStore,
        index: MailIndex,
        blobs: MailBlobs,
        contacts: ContactMatcher,
        oauth: OAuthClient,
        vault: TokenSealer,
        gmail: Callable[[str], GmailApi],
        queue: SyncQueue,
        config: GmailConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._integrations = integrations
        self._index = index
        self._blobs = blobs
        self._contacts = contacts
        self._tokens = MailboxTokens(integrations, vault, oauth, clock)
        self._gmail = gmail
        self._queue = queue
        self._config = config
        self._clock = clock

    # --- push -----------------------------------------------------------------------------------

    def push(self, mailbox: str, history_id: int) -> bool:
        """A verified Pub/Sub notification; True when a sync was queued. Unknown mailboxes, stale or
        duplicate pushes and disconnected integrations are acknowledged and change nothing."""
        integration = self._integrations.find_by_mailbox(mailbox.lower())
        if integration is None or integration.status is IntegrationStatus.DISCONNECTED:
            return False
        if history_id <= integration.history_id:
            return False
        self._integrations.record_push(integration.org_id, integration.user_id, iso_time(self._clock()))
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
                    token = self._tokens.access_token(integration)
                    api = self._gmail(token.access_token)
                    _, expiration = api.watch(self._config.topic, integration.labels)
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
            token = self._tokens.access_token(integration)
        except GrantRevoked:
            self._integrations.set_status(
                org_id, user_id, IntegrationStatus.DISCONNECTED, "Google access was revoked; connect again"
            )
            result.skipped = "disconnected"
            return result
        api = self._gmail(token.access_token)
        chosen = set(integration.labels)
        try:
            added, latest = api.history(integration.history_id)
        except HistoryExpired:
            result.full_sync = True
            _, latest = api.profile()  # read before listing: nothing newer can be missed
            added = {}
            for label in integration.labels:
                for gmail_id in api.list_message_ids(self._config.full_sync_days, label):
                    added.setdefault(gmail_id, ())
                    added[gmail_id] += (label,)
        labels = {gid: tuple(sorted(ids)) for gid, ids in added.items() if chosen.intersection(ids)}
        result.listed = len(labels)
        self._store_contact_mail(integration, api, labels, result)
        if latest > integration.history_id:
            result.cursor_moved = self._integrations.advance(org_id, user_id, latest, iso_time(self._clock()))
        return result

    def _store_contact_mail(
        self, integration: Integration, api: GmailApi, labels: dict[str, tuple[str, ...]], result: SyncResult
    ) -> None:
        org, user = integration.org_id, integration.user_id
        known = self._index.known(org, user, labels)
        todo = [gid for gid in labels if gid not in known]
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
        fetched = api.raw(list(matched))
        parsed = {gid: parse(full.raw) for gid, full in fetched.items()}
        keys = {
            gid: message_key(mail.message_id, mail.from_address or mail.sender, mail.date, mail.subject)
            for gid, mail in parsed.items()
        }
        stored = self._index.stored(org, set(keys.values()))  # one batch read: which the org has
        for gid, mail in parsed.items():
            contact_ids = matched[gid][1]
            key, received = keys[gid], fetched[gid].internal_date
            copy = MailboxCopy(user, gid, key, received, labels[gid])
            linked = self._index.link(org, copy) if key in stored else None
            stored.add(key)  # the same message twice in one sync: the second is a copy
            if linked is None:
                record = self._record(integration, copy, mail, contact_ids)
                self._blobs.put(record.object_key, json.dumps(_document(received, mail)).encode())
                if self._index.put(record):
                    result.stored += 1
                    continue
                linked = self._index.link(org, copy)  # another mailbox stored it meanwhile
            if linked:
                result.linked += 1

    @staticmethod
    def _record(
        integration: Integration, copy: MailboxCopy, mail: ParsedMail, contact_ids: list[str]
    ) -> EmailRecord:
        key = copy.email_id
        return EmailRecord(
            org_id=integration.org_id,
            email_id=key,
            user_id=integration.user_id,
            gmail_id=copy.gmail_id,
            thread_id=thread_key(mail.thread_root, key),
            internal_date=copy.internal_date,
            subject=mail.subject[:998],
            sender=mail.sender[:998],
            contact_ids=tuple(contact_ids),
            object_key=message_object_key(integration.org_id, key),
            attachments=mail.attachments,
            mailboxes=(integration.user_id,),
            from_address=mail.from_address,
            to_addresses=tuple(sorted(mail.to_addresses))[:100],
            labels=copy.labels,
        )


def _document(received: int, mail: ParsedMail) -> dict[str, Any]:
    """The body as stored once per org (the Gmail ids of each mailbox's copy live in the index)."""
    return {
        "message_id": mail.message_id,
        "internal_date": received,
        "headers": mail.headers,
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "attachments": [
            {"filename": a.filename, "size": a.size, "content_type": a.content_type} for a in mail.attachments
        ],
    }
