"""Integrations of a subject who is an org user: the Gmail connection (MailTable ``GMAIL#USER#<user>``
with its sealed token, mailbox route and watch-registry entry), the Google Contacts grant
(``GCONTACTS#USER#<user>`` and its ``GPERSON#<user>#`` links), calendar connections
(``CALENDAR#<user>#<provider>``, ``CALSELECTED#<user>``) and pending OAuth states (``OAUTHSTATE#``).

Erasure goes through the services' own disconnect paths, handed in as a ``GrantRevoker`` (the
composition root gives ``GmailService.remove`` without purge: stop the watch, revoke at Google, delete
token, route and registry entry; and ``CalendarService.disconnect``: revoke at Google, delete the token;
Microsoft has no per-token revocation, so its connection is only deleted). Revocation is best effort:
when a provider is down, or the disconnect path itself fails before deleting (e.g. the token cannot be
opened), the items are deleted directly all the same, and the failure is counted and reported on the
store's result. Export rows never contain a token.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callproof.calendars.model import Provider
from callproof.dsar.model import Cell, Erased, Subject
from callproof.observability import logger
from callproof.store.calendars_dynamo import DynamoCalendarStore, selection_key
from callproof.store.dynamo import delete_keys, key_of, partition
from callproof.store.gmail_integrations_dynamo import DynamoIntegrationStore
from callproof.store.google_contacts_dynamo import LINK_PREFIX, DynamoContactsGrantStore
from callproof.store.mail_index_dynamo import org_pk
from callproof.store.oauth_state_dynamo import STATE_PREFIX
from callproof.tenancy import Caller

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.dsar.ports import GrantRevoker


@dataclass(slots=True)
class Revocations:
    revoked: int = 0
    failed: int = 0  # the provider could not be reached (or refused): tokens deleted anyway
    not_revocable: int = 0  # Microsoft: no per-token revocation exists

    def note(self) -> tuple[str, ...]:
        if not self.failed:
            return ()
        return (
            f"revoke_failed: {self.failed} grant(s) not revoked at the provider; their tokens were deleted",
        )


class IntegrationsData:
    name = "integrations"
    columns = ("user_id", "service", "provider", "mailbox", "calendar", "status", "connected_at")

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        grants: GrantRevoker,
        revocable: frozenset[Provider] = frozenset({Provider.GOOGLE}),
    ) -> None:
        self._client = client
        self._table = table
        self._gmail = DynamoIntegrationStore(client, table)
        self._calendars = DynamoCalendarStore(client, table)
        self._contacts_grants = DynamoContactsGrantStore(client, table)
        self._grants = grants
        self._revocable = revocable

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        org = subject.org_id
        for user_id in sorted(subject.user_ids):
            gmail = self._gmail.get(org, user_id)
            if gmail is not None:
                yield dict(
                    user_id=user_id,
                    service="gmail",
                    provider=Provider.GOOGLE.value,
                    mailbox=gmail.mailbox,
                    status=gmail.status.value,
                    connected_at=gmail.connected_at,
                )
            if self._contacts_grants.token(org, user_id) is not None:
                yield dict(
                    user_id=user_id,
                    service="google_contacts",
                    provider=Provider.GOOGLE.value,
                    status="active",
                )
            for connection in self._calendars.connected(org, user_id):
                yield dict(
                    user_id=user_id,
                    service="calendar",
                    provider=connection.provider.value,
                    status=connection.status.value,
                    connected_at=connection.connected_at,
                )
            selection = self._calendars.selection(org, user_id)
            if selection is not None:
                yield dict(
                    user_id=user_id,
                    service="calendar_selection",
                    provider=selection.provider.value,
                    calendar=selection.name or selection.calendar_id,
                )

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        return iter(())

    def erase(self, subject: Subject) -> Erased:
        revocations = Revocations()
        deleted = sum(
            self._erase_user(subject.org_id, user_id, revocations) for user_id in sorted(subject.user_ids)
        )
        counts = {"revoked": revocations.revoked, "revoke_failed": revocations.failed}
        logger.info("dsar integrations erased", extra={**counts, "not_revocable": revocations.not_revocable})
        return Erased(deleted=deleted, notes=revocations.note())

    def _erase_user(self, org_id: str, user_id: str, revocations: Revocations) -> int:
        caller = Caller(org_id=org_id, user_id=user_id, roles=frozenset())
        deleted = 0
        integration = self._gmail.get(org_id, user_id)
        if integration is not None:
            try:
                revoked = self._grants.revoke_gmail(caller)
            except Exception:  # the provider or the token: never a reason to keep the grant stored
                revoked = False
                self._gmail.delete(integration)
            self._count(revocations, Provider.GOOGLE, revoked)
            deleted += 3  # integration (with its sealed token), mailbox route, registry entry
        if self._contacts_grants.token(org_id, user_id) is not None:  # still there: a grant alone
            try:
                revoked = self._grants.revoke_gmail(caller)  # the Google removal revokes it too
            except Exception:
                revoked = False
            self._contacts_grants.delete(org_id, user_id)  # and its links (a no-op if removed above)
            self._count(revocations, Provider.GOOGLE, revoked)
            deleted += 1
        selection = self._calendars.selection(org_id, user_id)
        for connection in self._calendars.connected(org_id, user_id):
            try:
                revoked = self._grants.revoke_calendar(caller, connection.provider)
            except Exception:
                revoked = False
                self._calendars.delete(org_id, user_id, connection.provider)
            self._count(revocations, connection.provider, revoked)
            deleted += 1
        leftovers = self._states(org_id, user_id)
        if self._calendars.selection(org_id, user_id) is not None:
            leftovers.append(selection_key(org_id, user_id))  # a selection whose provider is gone
        elif selection is not None:
            deleted += 1  # deleted with its provider's connection
        return deleted + delete_keys(self._client, self._table, leftovers)

    def _count(self, revocations: Revocations, provider: Provider, revoked: bool) -> None:
        if revoked:
            revocations.revoked += 1
        elif provider in self._revocable:
            revocations.failed += 1
        else:
            revocations.not_revocable += 1

    def _states(self, org_id: str, user_id: str) -> list[dict[str, str]]:
        """The user's unfinished OAuth flows (their PKCE verifiers); TTL removes them late."""
        items = partition(self._client, self._table, org_pk(org_id), STATE_PREFIX)
        return [key_of(item) for item in items if item.get("user_id") == user_id]

    def residue(self, subject: Subject) -> int:
        org = subject.org_id
        found = 0
        for user_id in subject.user_ids:
            found += self._gmail.get(org, user_id) is not None
            found += self._contacts_grants.token(org, user_id) is not None
            found += sum(
                1 for _ in partition(self._client, self._table, org_pk(org), f"{LINK_PREFIX}{user_id}#")
            )
            found += len(self._calendars.connected(org, user_id))
            found += self._calendars.selection(org, user_id) is not None
            found += len(self._states(org, user_id))
        return found
