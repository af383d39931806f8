"""The Gmail labels a mailbox syncs: list them, choose them (the watch renewed on exactly those), and
remove from the org what only the labels taken out had brought. Also the one way mail leaves a
mailbox (``purge_copies``), which disconnecting with ``purge`` uses too. Pure: ports only."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callproof.errors import InvalidInput, NotFound
from callproof.mail.model import (
    MAX_LABELS,
    UNSYNCABLE_LABELS,
    GmailConfig,
    GmailLabel,
    Integration,
    MailboxCopy,
)
from callproof.mail.tokens import MailboxTokens
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.mail.ports import GmailApi, IntegrationStore, MailBlobs, MailIndex
    from callproof.oauth.ports import OAuthClient, TokenSealer


@dataclass(frozen=True, slots=True)
class LabelSelection:
    labels: tuple[str, ...]
    purged_emails: int  # messages this mailbox no longer holds
    purged_objects: int  # stored bodies deleted (no other mailbox held them)


def purge_copies(
    index: MailIndex, blobs: MailBlobs, org_id: str, user_id: str, doomed: Callable[[MailboxCopy], bool]
) -> tuple[int, int]:
    """Remove the copies of one mailbox that ``doomed`` picks: a message keeps every other mailbox's
    copy; one that no mailbox holds any more goes whole (its body, then its index). Returns (messages
    taken out of the mailbox, bodies deleted)."""
    by_message: dict[str, list[MailboxCopy]] = defaultdict(list)
    for copy in index.copies(org_id, user_id):
        by_message[copy.email_id].append(copy)
    emails = objects = 0
    for email_id, copies in by_message.items():
        going = [copy.gmail_id for copy in copies if doomed(copy)]
        if not going:
            continue
        emails += 1
        record = index.unlink(org_id, user_id, email_id, going, last=len(going) == len(copies))
        if record is not None:
            objects += blobs.delete_all_versions([record.object_key])
            index.delete([record])
    return emails, objects


class MailboxLabels:
    def __init__(
        self,
        integrations: IntegrationStore,
        index: MailIndex,
        blobs: MailBlobs,
        oauth: OAuthClient,
        vault: TokenSealer,
        gmail: Callable[[str], GmailApi],
        config: GmailConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._integrations = integrations
        self._index = index
        self._blobs = blobs
        self._tokens = MailboxTokens(integrations, vault, oauth, clock)
        self._gmail = gmail
        self._config = config

    def _api(self, caller: Caller) -> tuple[Integration, GmailApi]:
        integration = self._integrations.get(caller.org_id, caller.user_id)
        if integration is None:
            raise NotFound("no Google integration")
        return integration, self._gmail(self._tokens.usable(integration).access_token)

    def labels(self, caller: Caller) -> tuple[list[GmailLabel], tuple[str, ...]]:
        """The mailbox's labels (system and user) and the ones chosen for sync."""
        integration, api = self._api(caller)
        return api.labels(), integration.labels

    def select(self, caller: Caller, label_ids: list[str], purge: bool) -> LabelSelection:
        """Sync exactly ``label_ids`` from now on: the watch is renewed on them; with ``purge``, mail
        that only the labels taken out had brought leaves this mailbox (and the org, when no other
        mailbox holds it). Checked against the mailbox's labels before anything changes."""
        caller.require(Role.REP, Role.ADMIN)
        chosen = tuple(dict.fromkeys(label_ids))
        if not chosen or len(chosen) > MAX_LABELS:
            raise InvalidInput(f"choose between 1 and {MAX_LABELS} labels", field="labels")
        if UNSYNCABLE_LABELS.intersection(chosen):
            raise InvalidInput("drafts, spam and trash are never synced", field="labels")
        _, api = self._api(caller)
        unknown = set(chosen) - {label.id for label in api.labels()}
        if unknown:
            raise InvalidInput(
                f"{len(unknown)} of the label ids are not labels of this mailbox", field="labels"
            )
        _, expiration = api.watch(self._config.topic, chosen)
        self._integrations.set_labels(caller.org_id, caller.user_id, chosen, expiration)
        emails = objects = 0
        if purge:
            kept = set(chosen)  # a copy goes when none of its labels is chosen any more (none known: kept)
            emails, objects = purge_copies(
                self._index,
                self._blobs,
                caller.org_id,
                caller.user_id,
                lambda copy: bool(copy.labels) and not kept.intersection(copy.labels),
            )
        return LabelSelection(chosen, emails, objects)
