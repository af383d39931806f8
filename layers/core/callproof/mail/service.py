"""Gmail for the user: connect a mailbox (OAuth, then a watch, on the labels it syncs), its status,
import its Google contacts, and remove the connection (optionally with the mail only that mailbox
holds). The web mail client's reads are ``callproof.mail.reading``, the labels ``callproof.mail.labels``.
Keeping the mailbox in sync is ``callproof.mail.sync``. Pure: every outside thing comes in through
``callproof.mail.ports``.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from callproof.errors import Conflict, DomainError, InvalidInput, NotFound
from callproof.mail.labels import MailboxLabels, purge_copies
from callproof.mail.model import (
    DEFAULT_LABELS,
    PURPOSE,
    GmailConfig,
    GooglePerson,
    Integration,
    IntegrationStatus,
    PeopleImport,
    iso_time,
)
from callproof.mail.ports import (
    ContactMatcher,
    GmailApi,
    IntegrationStore,
    MailBlobs,
    MailIndex,
    PeopleApi,
    SyncTokenExpired,
)
from callproof.mail.reading import MailReader
from callproof.mail.tokens import MailboxTokens
from callproof.oauth.model import CONTACTS_READONLY, GMAIL_READONLY, GrantRevoked, OAuthState, new_pkce
from callproof.oauth.ports import OAuthClient, StateStore, TokenSealer
from callproof.tenancy import Caller, Role


@dataclass(frozen=True, slots=True)
class RemovalResult:
    stopped: bool
    revoked: bool
    purged_emails: int
    purged_objects: int


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
        self._tokens = MailboxTokens(integrations, vault, oauth, clock)
        self._gmail = gmail
        self._config = config
        self._clock = clock
        self._people = people
        self._import_csv = import_csv
        self.reader = MailReader(index, blobs, contacts)  # the web mail client's reads
        self.labels = MailboxLabels(integrations, index, blobs, oauth, vault, gmail, config, clock)

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
        previous = self._integrations.get(issued.org_id, issued.user_id)
        same = previous is not None and previous.mailbox == mailbox.lower()
        labels = previous.labels if previous is not None and same else DEFAULT_LABELS
        history_id, expiration = api.watch(self._config.topic, labels)
        if previous is not None and same:
            history_id = min(history_id, previous.history_id)  # re-consent (more scopes) keeps the cursor
        integration = Integration(
            org_id=issued.org_id,
            user_id=issued.user_id,
            mailbox=mailbox.lower(),
            status=IntegrationStatus.ACTIVE,
            history_id=history_id,
            watch_expiration=expiration,
            connected_at=iso_time(self._clock()),
            labels=labels,
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
            token = self._tokens.access_token(integration)
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
            purged_emails, purged_objects = purge_copies(
                self._index, self._blobs, caller.org_id, caller.user_id, lambda _: True
            )
        return RemovalResult(stopped, revoked, purged_emails, purged_objects)


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
